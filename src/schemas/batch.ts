import { badRow } from '../badrows/format';
import type { ExpandedBatch } from '../events/expand';
import type { SchemaRegistry, SchemaViolation } from './registry';

/**
 * Every self-describing event and context is checked against its schema; an event that fails
 * becomes one schema_violations bad row with ajv's reports, and the rest of the batch goes on.
 */
export async function validateBatchSchemas(schemas: SchemaRegistry, batch: ExpandedBatch): Promise<void> {
  const items = batch.events.flatMap((e, i) => (e.selfDescribing ?? []).map((sd) => ({ event: i, field: sd.field, json: sd.json })));
  if (items.length === 0) return;
  const results = await schemas.validate(items.map(({ field, json }) => ({ field, json })));
  const failed = new Map<number, SchemaViolation[]>();
  results.forEach((violations, n) => {
    if (violations.length > 0) failed.set(items[n].event, [...(failed.get(items[n].event) ?? []), ...violations]);
  });
  if (failed.size === 0) return;
  for (const [i, violations] of failed) {
    const e = batch.events[i];
    batch.badRows.push({
      key: `event:${e.eventId}:schema`,
      row: badRow(
        'schema_violations',
        {
          messages: violations.map((v) => ({
            schemaKey: v.schemaKey,
            field: v.field,
            error: { error: v.error, ...(v.dataReports ? { dataReports: v.dataReports } : {}), ...(v.lookupHistory ? { lookupHistory: v.lookupHistory } : {}), ...(v.schemaIssues ? { schemaIssues: v.schemaIssues } : {}) },
          })),
        },
        { raw: e.raw, enriched: e.payload },
      ),
    });
  }
  batch.events = batch.events.filter((_, i) => !failed.has(i));
}
