/** A definition (event type, belt, segment schema, …) is wrong; `field` names the offending field. */
export class DefinitionError extends Error {
  override name = 'DefinitionError';
  constructor(
    readonly field: string,
    message: string,
    /** HTTP status when answered through the API: 400, or 409 when it conflicts with what is stored. */
    readonly status: 400 | 409 = 400,
  ) {
    super(`${field}: ${message}`);
  }
}
