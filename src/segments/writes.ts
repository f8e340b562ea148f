import type { ValidateFunction } from 'ajv';
import type { PoolClient } from 'pg';
import type { ResilientProducer } from '../kafka/producer';
import { quoteIdent } from '../db/sql';
import { compileRowValidator,  META_COLUMNS,   validationMessages } from './columns';
import { getSegment, qualified, type Segment } from './catalog';

/** Live segments, I/O: a batch's rows upserted by id, and the dead letters of those that fail. */

/** One DirectUpdate to write, with where it came from. */
export interface PendingRow {
  segment: string;
  row: Record<string, unknown>;
  eventId: string;
  belt: string;
  /** The event's time, epoch ms: a row from an older event never overwrites a newer one. */
  eventAt: number;
}

export interface DeadLetter {
  segment: string;
  version: number;
  rowId: string;
  row: Record<string, unknown>;
  reason: { kind: 'schema' | 'database' | 'unknown_segment'; messages: string[] };
  eventId: string;
  belt: string;
  eventAt: number;
}

const validators = new Map<string, ValidateFunction>();

function validatorFor(seg: Segment): ValidateFunction {
  const key = `${seg.table}:${JSON.stringify(seg.schema)}`;
  let v = validators.get(key);
  if (!v) {
    v = compileRowValidator(seg.schema);
    validators.set(key, v);
  }
  return v;
}

/** Orders rows of one id: newer event, then later event id, then later output wins. */
function newer(a: PendingRow, b: PendingRow): boolean {
  return a.eventAt !== b.eventAt ? a.eventAt > b.eventAt : a.eventId >= b.eventId;
}

/** Per id, the row that wins: what a sequence of upserts would leave. */
export function latestPerId(rows: PendingRow[]): PendingRow[] {
  const byId = new Map<string, PendingRow>();
  for (const r of rows) {
    const id = r.row.id as string;
    const seen = byId.get(id);
    if (!seen || newer(r, seen)) byId.set(id, r);
  }
  return [...byId.values()];
}

/**
 * One statement for all rows. Each row travels once, in one JSON parameter with its event: the
 * typed columns are taken from it in SQL (jsonb_populate_record) and it is kept whole as `_data`.
 * `updated_at` is when the row was written (clock_timestamp()), not when the transaction began.
 */
async function upsert(client: PoolClient, seg: Segment, rows: PendingRow[]): Promise<void> {
  const table = qualified(seg.project, seg.table);
  const cols = seg.columns.map((c) => quoteIdent(c.name));
  const at = quoteIdent(META_COLUMNS.eventAt);
  const eid = quoteIdent(META_COLUMNS.eventId);
  const data = quoteIdent(META_COLUMNS.data);
  const updatedAt = quoteIdent(META_COLUMNS.updatedAt);
  const updates = [...seg.columns.filter((c) => c.name !== 'id').map((c) => quoteIdent(c.name)), data, eid, at]
    .map((c) => `${c} = excluded.${c}`)
    .concat(`${updatedAt} = excluded.${updatedAt}`)
    .join(', ');
  await client.query(
    `INSERT INTO ${table} AS t (${cols.join(', ')}, ${data}, ${eid}, ${at}, ${updatedAt})
     SELECT ${cols.map((c) => `p.${c}`).join(', ')}, x.r, x.e, x.a::timestamptz, clock_timestamp()
       FROM jsonb_to_recordset($1::jsonb) AS x(r jsonb, e text, a text)
      CROSS JOIN LATERAL jsonb_populate_record(NULL::${table}, x.r) AS p
     ON CONFLICT ("id") DO UPDATE SET ${updates}
      WHERE (t.${at}, t.${eid}) <= (excluded.${at}, excluded.${eid})`,
    [JSON.stringify(rows.map((r) => ({ r: r.row, e: r.eventId, a: new Date(r.eventAt).toISOString() })))],
  );
}

function deadLetter(segment: string, version: number, r: PendingRow, kind: DeadLetter['reason']['kind'], messages: string[]): DeadLetter {
  return { segment, version, rowId: String(r.row.id), row: r.row, reason: { kind, messages }, eventId: r.eventId, belt: r.belt, eventAt: r.eventAt };
}

/**
 * Checks rows against one segment's schema and upserts those that pass, newest per id; what
 * fails (the schema, or PostgreSQL — a value too large for bigint, say) comes back as dead
 * letters, not stored, so the batch and a redrive can each decide what to do with them.
 */
export async function writeRows(client: PoolClient, seg: Segment, pending: PendingRow[]): Promise<{ written: number; dead: DeadLetter[] }> {
  const validate = validatorFor(seg);
  const dead: DeadLetter[] = [];
  const valid: PendingRow[] = [];
  for (const r of pending) {
    if (validate(r.row)) valid.push(r);
    else dead.push(deadLetter(seg.name, seg.version, r, 'schema', validationMessages(validate)));
  }
  const winners = latestPerId(valid);
  if (winners.length === 0) return { written: 0, dead };
  // Left open when the upsert succeeds: COMMIT releases it, and a RELEASE would cost a round trip.
  await client.query('SAVEPOINT segment_rows');
  try {
    await upsert(client, seg, winners);
    return { written: winners.length, dead };
  } catch {
    // One row PostgreSQL refuses must not hold back the others: find it row by row.
    await client.query('ROLLBACK TO SAVEPOINT segment_rows');
  }
  let written = 0;
  for (const r of winners) {
    await client.query('SAVEPOINT segment_row');
    try {
      await upsert(client, seg, [r]);
      await client.query('RELEASE SAVEPOINT segment_row');
      written++;
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT segment_row');
      dead.push(deadLetter(seg.name, seg.version, r, 'database', [(err as Error).message]));
    }
  }
  return { written, dead };
}

/**
 * Writes a batch's rows by id in the caller's transaction, each segment with its schema; rows
 * that fail become dead letters instead of failing the batch. Returns the dead letters stored
 * here for the first time.
 */
export async function writeSegmentRows(client: PoolClient, project: string, rows: PendingRow[]): Promise<{ written: number; deadLetters: DeadLetter[] }> {
  const bySegment = new Map<string, PendingRow[]>();
  for (const r of rows) {
    const list = bySegment.get(r.segment);
    if (list) list.push(r);
    else bySegment.set(r.segment, [r]);
  }
  const dead: DeadLetter[] = [];
  let written = 0;
  for (const [name, pending] of bySegment) {
    const seg = await getSegment(client, project, name);
    if (!seg) {
      dead.push(...pending.map((r) => deadLetter(name, 0, r, 'unknown_segment', [`no live segment ${name}`])));
      continue;
    }
    const result = await writeRows(client, seg, pending);
    written += result.written;
    dead.push(...result.dead);
  }
  return { written, deadLetters: await storeDeadLetters(client, project, dead) };
}

async function storeDeadLetters(client: PoolClient, project: string, dead: DeadLetter[]): Promise<DeadLetter[]> {
  if (dead.length === 0) return [];
  const { rows } = await client.query<{ k: string }>(
    `INSERT INTO segment_dead_letters (project, segment, version, row_id, row, reason, event_id, belt, event_at)
     SELECT $1, s, v, rid, r, why, e, b, to_timestamp(at / 1000.0)
       FROM unnest($2::text[], $3::int[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::float8[])
            AS d(s, v, rid, r, why, e, b, at)
     ON CONFLICT (event_id, belt, segment, row_id) DO NOTHING
     RETURNING event_id || '/' || belt || '/' || segment || '/' || row_id AS k`,
    [
      project,
      dead.map((d) => d.segment),
      dead.map((d) => d.version),
      dead.map((d) => d.rowId),
      dead.map((d) => JSON.stringify(d.row)),
      dead.map((d) => JSON.stringify(d.reason)),
      dead.map((d) => d.eventId),
      dead.map((d) => d.belt),
      dead.map((d) => d.eventAt),
    ],
  );
  const fresh = new Set(rows.map((r) => r.k));
  return dead.filter((d) => fresh.has(`${d.eventId}/${d.belt}/${d.segment}/${d.rowId}`));
}

/** The Kafka topic a segment's dead letters also go to. */
export const deadLetterTopic = (segment: string): string => `dead-letter.${segment}`;

/** Sends dead letters to their segments' topics; keyed by row id so a consumer sees one row's history in order. */
export async function publishDeadLetters(producer: ResilientProducer, dead: DeadLetter[]): Promise<void> {
  const bySegment = new Map<string, DeadLetter[]>();
  for (const d of dead) {
    const list = bySegment.get(d.segment);
    if (list) list.push(d);
    else bySegment.set(d.segment, [d]);
  }
  for (const [segment, letters] of bySegment) {
    const topic = deadLetterTopic(segment);
    await producer.ensureTopic(topic);
    await producer.send(
      topic,
      letters.map((d) => ({
        key: d.rowId,
        value: JSON.stringify({ segment: d.segment, version: d.version, reason: d.reason, row: d.row, eventId: d.eventId, belt: d.belt, eventAt: new Date(d.eventAt).toISOString() }),
      })),
      // A row too large for Kafka (it is whole in segment_dead_letters) goes out as the start of its JSON.
      {
        oversized: (m, err) => {
          const letter = JSON.parse(m.value) as Record<string, unknown>;
          return { key: m.key, value: JSON.stringify({ ...letter, row: null, rowTruncated: JSON.stringify(letter.row).slice(0, 10_000), rowBytes: err.bytes }) };
        },
      },
    );
  }
}

