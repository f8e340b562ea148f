import type { Connection } from '@temporalio/client';
import { logger } from '../log';
import { SEARCH_ATTRIBUTES, type SearchAttributeKind } from '../workflows/search-attributes';

const log = logger('temporal');

/** Temporal's IndexedValueType numbers (temporal.api.enums.v1), without importing the proto package. */
const INDEXED_VALUE_TYPE: Readonly<Record<SearchAttributeKind, number>> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

/** The attributes of `wanted` that `registered` (name → indexed value type) lacks. Pure. */
export function missingSearchAttributes(
  registered: ReadonlyMap<string, unknown>,
  wanted: Readonly<Record<string, SearchAttributeKind>> = SEARCH_ATTRIBUTES,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, kind] of Object.entries(wanted)) if (!registered.has(name)) out[name] = INDEXED_VALUE_TYPE[kind];
  return out;
}

/**
 * Registers the search attributes beltline sets that the namespace does not know yet. A dev server
 * started by an older `stack up` lacks those added since (`--search-attribute` is read at its
 * start only), and one that is shared must not be restarted for them: the operator service adds
 * them in place. Returns the names added.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const registered = new Map(Object.entries(listed.customAttributes ?? {}));
  const missing = missingSearchAttributes(registered);
  const names = Object.keys(missing);
  if (names.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Another process (a concurrent start) may have added them first: only a miss still left is an error.
    const again = await connection.operatorService.listSearchAttributes({ namespace });
    if (Object.keys(missingSearchAttributes(new Map(Object.entries(again.customAttributes ?? {})))).length > 0) throw err;
    return [];
  }
  log.info({ namespace, added: names }, 'registered missing search attributes');
  return names;
}
