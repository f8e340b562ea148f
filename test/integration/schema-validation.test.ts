import type { Pool } from 'pg';
import { startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

describe('schema validation of tracker events', () => {
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('schema-test');
    beltline = await startBeltline({ port: 18091, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group } });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  });

  it('turns one schema violation into one bad row with ajv\'s report; the other events of the request go through', async () => {
    const s = Date.now().toString(36);
    const ue = (data: unknown) =>
      Buffer.from(JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', data } })).toString('base64');
    const ids = ['1', '2', '3', '4'].map((n) => `5c4e0000-0000-4000-8000-${s.padStart(8, '0').slice(-8)}000${n}`);
    const res = await fetch(`${beltline.url}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
        data: [
          { e: 'pv', eid: ids[0], p: 'web', tv: 't', uid: `sv-${s}`, url: 'https://example.com/' },
          { e: 'ue', eid: ids[1], p: 'web', tv: 't', uid: `sv-${s}`, ue_px: ue({ quantity: 1 }) },
          { e: 'ue', eid: ids[2], p: 'web', tv: 't', uid: `sv-${s}`, ue_px: ue({ sku: 'sku-1', quantity: 2 }) },
          { e: 'ue', eid: ids[3], p: 'web', tv: 't', uid: `sv-${s}`, ue_pr: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.acme/unknown_event/jsonschema/1-0-0', data: {} } }) },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const good = await waitFor('the two good events', async () => {
      const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM events WHERE event_id = ANY($1) ORDER BY event_id', [ids]);
      return rows.length >= 2 ? rows.map((r) => r.event_id) : undefined;
    });
    expect(good).toEqual([ids[0], ids[2]]);
    const bad = await waitFor('two bad rows', async () => {
      const { rows } = await pool.query<{ type: string; bad_row: { data: { failure: { messages: { schemaKey: string; error: { error: string; dataReports?: { message: string }[] } }[] } } } }>(
        `SELECT type, bad_row FROM bad_rows WHERE row_key = ANY($1) ORDER BY row_key`,
        [ids.map((id) => `event:${id}:schema`)],
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(bad.map((b) => b.type)).toEqual(['schema_violations', 'schema_violations']);
    const [missingSku, unknown] = bad.map((b) => b.bad_row.data.failure.messages[0]);
    expect(missingSku.schemaKey).toBe('iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0');
    expect(missingSku.error.error).toBe('ValidationError');
    expect(JSON.stringify(missingSku.error.dataReports)).toMatch(/sku/);
    expect(unknown.error.error).toBe('ResolutionError');
  }, 60_000);
});
