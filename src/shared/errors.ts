/** A definition (event type, belt, segment schema, …) is wrong; `field` names the offending field. */
export class DefinitionError extends Error {
  override name = 'DefinitionError';
  constructor(
    readonly field: string,
    message: string,
    /** HTTP status when answered through the API: 400, or 409 when it conflicts with what is stored. */
    readonly status: 400 | 409 = 400,
    /** More for the API's `details`, beside `field` (e.g. each incompatible change of a schema). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${field}: ${message}`);
  }
}
