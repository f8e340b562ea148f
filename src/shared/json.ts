/** A JSON object (not null, not an array): the one shape check every parser of definitions uses. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
