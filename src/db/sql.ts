/** Quotes an identifier for PostgreSQL; names from users are validated before they get here. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
