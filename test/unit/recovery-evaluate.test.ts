import { badRow } from '../../src/badrows/format';
import { parseRecoveryConfig } from '../../src/recovery/config';
import { evaluateBadRow, previewPayload } from '../../src/recovery/evaluate';

const EVENT = { schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', data: { sku: 's', quantity: '2' } } };
const row = (parameters: Record<string, string>) =>
  badRow('schema_violations', { messages: [] }, { raw: { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', parameters }, enriched: { collector_tstamp: '2026-11-23T08:59:59.000Z' } });
const cast = parseRecoveryConfig({ schema_violations: [{ name: 'cast', conditions: [], steps: [{ op: 'Cast', path: '$.raw.parameters.ue_px.data.data.quantity', from: 'String', to: 'Numeric' }] }] });
const provenance = { run: 'r', badRow: '1' };

describe('recovery evaluation (shared by the activity and the API dry run)', () => {
  it('a recovered row comes with the record a run would send, and a preview with the encoded field opened', () => {
    const r = row({ e: 'ue', eid: 'e-1', p: 'web', tv: 't', ue_px: Buffer.from(JSON.stringify(EVENT)).toString('base64url') });
    const { outcome, record } = evaluateBadRow(cast, r, provenance, 0);
    expect(outcome).toMatchObject({ status: 'recovered', flow: 'cast' });
    expect(record?.record.recovery).toEqual(provenance);
    const preview = previewPayload(r, outcome);
    expect(preview.original).toBe(r.data.payload);
    expect(typeof (preview.recovered as { raw: { parameters: { ue_px: unknown } } }).raw.parameters.ue_px).toBe('string');
    expect(preview.view.original).toMatchObject({ raw: { parameters: { ue_px: { data: { data: { quantity: '2' } } } } } });
    expect(preview.view.recovered).toMatchObject({ raw: { parameters: { ue_px: { data: { data: { quantity: 2 } } } } } });
  });

  it('a repaired payload that is not an event any more is a failure of its flow, with no record', () => {
    const r = row({ eid: 'e-1', p: 'web', tv: 't', ue_px: Buffer.from(JSON.stringify(EVENT)).toString('base64url') });
    const { outcome, record } = evaluateBadRow(cast, r, provenance, 0);
    expect(outcome).toMatchObject({ status: 'failed', flow: 'cast', reason: 'flow "cast": raw.parameters has no event type "e"' });
    expect(record).toBeUndefined();
    expect(previewPayload(r, outcome).recovered).toBeUndefined();
  });
});
