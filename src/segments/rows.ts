import { DefinitionError } from '../shared/errors';
import { quoteIdent } from '../db/sql';
import { META_COLUMNS } from './columns';
import { qualified, type Queryable, type Segment } from './catalog';

/** Live segments, I/O: reading a segment's rows. */

/** Splits `column=value` filters; the column is checked against the table later. */
export function parseFilters(filters: string[] | undefined): [string, string][] {
  return (filters ?? []).map((f) => {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new DefinitionError('filter', `must be column=value, got ${JSON.stringify(f)}`);
    return [f.slice(0, eq), f.slice(eq + 1)];
  });
}

export interface RowPage {
  rows: Record<string, unknown>[];
  next: string | null;
}

/**
 * A page of a segment's rows in id order, optionally filtered by column values (compared as
 * text). Column names are checked against the segment's columns before they reach SQL.
 */
export async function readRows(db: Queryable, seg: Segment, opts: { filters?: [string, string][]; limit?: number; after?: string }): Promise<RowPage> {
  const known = new Set([...seg.columns.map((c) => c.name), META_COLUMNS.updatedAt]);
  const params: unknown[] = [];
  const where: string[] = [];
  for (const [col, value] of opts.filters ?? []) {
    if (!known.has(col)) throw new DefinitionError('filter', `live segment ${seg.name} has no column ${JSON.stringify(col)}; columns: ${[...known].join(', ')}`);
    params.push(value);
    where.push(`t.${quoteIdent(col)}::text = $${params.length}`);
  }
  if (opts.after !== undefined) {
    params.push(opts.after);
    where.push(`t."id" > $${params.length}`);
  }
  const limit = opts.limit ?? 100;
  params.push(limit);
  const { rows } = await db.query<{ row: Record<string, unknown>; id: string }>(
    `SELECT t."id" AS id, to_jsonb(t) - '${META_COLUMNS.data}' - '${META_COLUMNS.eventId}' - '${META_COLUMNS.eventAt}' AS row
       FROM ${qualified(seg.project, seg.table)} t ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY t."id" LIMIT $${params.length}`,
    params,
  );
  // In the schema's column order (jsonb sorts keys its own way), then updated_at.
  const order = [...seg.columns.map((c) => c.name), META_COLUMNS.updatedAt];
  const ordered = rows.map((r) => Object.fromEntries(order.filter((c) => c in r.row).map((c) => [c, r.row[c]])));
  return { rows: ordered, next: rows.length === limit ? rows[rows.length - 1].id : null };
}
