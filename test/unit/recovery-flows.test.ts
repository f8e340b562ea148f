import type { BadRow } from '../../src/badrows/format';
import { parseRecoveryConfig, type Matcher } from '../../src/recovery/config';
import { castValue, conditionHolds, openPayload, recoverBadRow, type RecoveryOutcome } from '../../src/recovery/flows';
import { toRawRecord } from '../../src/recovery/records';
import { SEED_CONDITIONS, SEED_STEPS } from '../support/recovery-seed';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const unb64 = (s: string): unknown => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

const CONTEXTS = {
  schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
  data: [
    { schema: 'iglu:org.w3/PerformanceTiming/jsonschema/1-0-0', data: { navigationStart: 1600000000000, domComplete: 1600000001000 } },
    { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'page-1' } },
  ],
};
const EVENT = { schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', data: { sku: 'sku-1', quantity: '2', colour: 'red' } } };

/** A schema_violations bad row as Snowplow's recovery docs show them (processor beam-enrich). */
function badRow(params: Record<string, string> = {}, artifact = 'beam-enrich'): BadRow {
  return {
    schema: 'iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-0',
    data: {
      processor: { artifact, version: '1.0.0' },
      failure: { timestamp: '2026-11-23T09:00:00.000Z', messages: [{ schemaKey: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', error: { error: 'ValidationError', dataReports: [{ path: '$.quantity', keyword: 'type', message: '$.quantity: string found, number expected', targets: ['string', 'number'] }] } }] },
      payload: {
        raw: { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', parameters: { e: 'ue', eid: '5c4e0000-0000-4000-8000-000000000001', uid: 'u-1', aid: 'shop', p: 'web', tv: 't', cx: b64(CONTEXTS), ue_pr: JSON.stringify(EVENT), ...params } },
        enriched: { collector_tstamp: '2026-11-23T08:59:59.000Z', v_collector: 'beltline-0.1.0', user_ipaddress: '10.0.0.1', useragent: 'UA/1', network_userid: 'n-1' },
      },
    },
  };
}

const run = (steps: unknown[], conditions: unknown[] = [], row = badRow()): RecoveryOutcome =>
  recoverBadRow(parseRecoveryConfig({ schema_violations: [{ name: 'test flow', conditions, steps }] }), row);

function recovered(o: RecoveryOutcome): { raw: { parameters: Record<string, string> } } {
  if (o.status !== 'recovered') throw new Error(`not recovered: ${JSON.stringify(o)}`);
  return o.payload as { raw: { parameters: Record<string, string> } };
}

const rootOf = (row: BadRow) => ({ ...row.data, payload: openPayload(row.data.payload).view });

describe('recovery conditions (the seed\'s examples)', () => {
  const root = rootOf(badRow());
  const holds = (c: { path: string; value: unknown }) => conditionHolds(c.path, c.value as Matcher, root);

  it('value: equal values only', () => {
    expect(holds(SEED_CONDITIONS.value)).toBe(true);
    expect(conditionHolds('$.processor.artifact', { value: 'beltline' }, root)).toBe(false);
    expect(conditionHolds('$.payload.raw.parameters.cx.data[1].data', { value: { id: 'page-1' } }, root)).toBe(true);
  });

  it('regex: a match anywhere in the value', () => {
    expect(holds(SEED_CONDITIONS.regex)).toBe(true);
    expect(conditionHolds('$.payload.raw.vendor', { regex: '^com\\.acme' }, root)).toBe(false);
    // into the string-escaped event, and numbers through their text
    expect(conditionHolds('$.payload.raw.parameters.ue_pr.data.schema', { regex: '/add_to_cart/' }, root)).toBe(true);
    expect(conditionHolds('$.failure.messages[*].error.dataReports[*].path', { regex: 'quantity' }, root)).toBe(true);
  });

  it('size eq, gt and lt', () => {
    expect(holds(SEED_CONDITIONS.sizeEq)).toBe(true); // "beam-enrich" has 11 characters
    expect(holds(SEED_CONDITIONS.sizeGt)).toBe(true);
    expect(holds(SEED_CONDITIONS.sizeLt)).toBe(true);
    const short = rootOf(badRow({}, 'x'));
    expect(conditionHolds(SEED_CONDITIONS.sizeEq.path, SEED_CONDITIONS.sizeEq.value as Matcher, short)).toBe(false);
    expect(conditionHolds(SEED_CONDITIONS.sizeGt.path, SEED_CONDITIONS.sizeGt.value as Matcher, short)).toBe(false);
    const long = rootOf(badRow({}, 'a'.repeat(30)));
    expect(conditionHolds(SEED_CONDITIONS.sizeLt.path, SEED_CONDITIONS.sizeLt.value as Matcher, long)).toBe(false);
    // arrays by their length, objects by their keys
    expect(conditionHolds('$.payload.raw.parameters.cx.data', { size: { eq: 2 } }, root)).toBe(true);
    expect(conditionHolds('$.payload.raw.parameters.ue_pr.data.data', { size: { gt: 2, lt: 4 } }, root)).toBe(true);
  });

  it('a path that reaches nothing does not hold', () => {
    expect(conditionHolds('$.payload.raw.parameters.nothing', { regex: '.*' }, root)).toBe(false);
    expect(conditionHolds('$.payload.raw.parameters.cx.data[?(@.data.x == 1)]', { size: { gt: 0 } }, root)).toBe(false);
  });
});

describe('recovery steps (the seed\'s examples)', () => {
  it('Replace: the regex\'s matches become the value', () => {
    const out = run([SEED_STEPS.replace]);
    expect(recovered(out).raw.parameters.aid).toBe('https://console.snplow.com/');
    expect(out.status === 'recovered' && out.changes).toEqual([{ path: '$.raw.parameters.aid', before: 'shop', after: 'https://console.snplow.com/' }]);
    expect(recovered(run([{ op: 'Replace', path: '$.raw.parameters.aid', match: 'o', value: '0' }])).raw.parameters.aid).toBe('sh0p');
  });

  it('Remove: the matches are cut out', () => {
    expect(recovered(run([SEED_STEPS.remove])).raw.parameters.aid).toBe('');
    // from an object, the properties whose name matches: the extra property the schema refused
    const p = recovered(run([{ op: 'Remove', path: '$.raw.parameters.ue_pr.data.data', match: '^colour$' }])).raw.parameters;
    expect(JSON.parse(p.ue_pr)).toEqual({ ...EVENT, data: { ...EVENT.data, data: { sku: 'sku-1', quantity: '2' } } });
    // from an array, the elements whose JSON matches
    const c = recovered(run([{ op: 'Remove', path: '$.raw.parameters.cx.data', match: 'PerformanceTiming' }])).raw.parameters.cx;
    expect(unb64(c)).toEqual({ ...CONTEXTS, data: [CONTEXTS.data[1]] });
  });

  it('Cast: into base64 contexts through a =~ filter, Numeric to Boolean, re-encoded as base64', () => {
    const out = run([SEED_STEPS.cast]);
    const cx = unb64(recovered(out).raw.parameters.cx) as typeof CONTEXTS;
    expect(cx.data[0].data).toEqual({ navigationStart: 1600000000000, domComplete: true });
    expect(cx.data[1]).toEqual(CONTEXTS.data[1]);
    expect(out.status === 'recovered' && out.changes).toEqual([{ path: '$.raw.parameters.cx.data[0].data.domComplete', before: 1600000001000, after: true }]);
  });

  it('Cast: to each of Numeric, Boolean, String and Array', () => {
    const q = (to: string, from = 'String') => {
      const p = recovered(run([{ op: 'Cast', path: '$.raw.parameters.ue_pr.data.data.quantity', from, to }])).raw.parameters;
      return (JSON.parse(p.ue_pr) as typeof EVENT).data.data.quantity as unknown;
    };
    expect(q('Numeric')).toBe(2);
    expect(q('Array')).toEqual(['2']);
    expect(castValue('true', 'String', 'Boolean')).toBe(true);
    expect(castValue(0, 'Numeric', 'Boolean')).toBe(false);
    expect(castValue(12.5, 'Numeric', 'String')).toBe('12.5');
    expect(castValue(true, 'Boolean', 'Numeric')).toBe(1);
    expect(castValue([1, 2], 'Array', 'String')).toBe('[1,2]');
    expect(castValue(false, 'Boolean', 'Array')).toEqual([false]);
    expect(() => castValue([1], 'Array', 'Numeric')).toThrow('cannot cast Array [1] to Numeric');
    expect(() => castValue('yes', 'String', 'Boolean')).toThrow('cannot cast String yes to Boolean');
  });

  it('a Cast from the wrong type, or of text that is no number, fails the row naming flow and step', () => {
    const wrong = run([SEED_STEPS.replace, { op: 'Cast', path: '$.raw.parameters.ue_pr.data.data.quantity', from: 'Numeric', to: 'String' }]);
    expect(wrong).toMatchObject({ status: 'failed', flow: 'test flow', reason: 'flow "test flow" step 2 (Cast): expected Numeric, found String: 2' });
    const nan = run([{ op: 'Cast', path: '$.raw.parameters.ue_pr.data.data.sku', from: 'String', to: 'Numeric' }]);
    expect(nan).toMatchObject({ status: 'failed', reason: 'flow "test flow" step 1 (Cast): cannot cast String sku-1 to Numeric' });
    expect(run([{ op: 'Remove', path: '$.raw.parameters.nothing', match: 'x' }])).toMatchObject({ status: 'failed', reason: 'flow "test flow" step 1 (Remove): path $.raw.parameters.nothing matched nothing' });
  });

  it('leaves untouched encoded fields as they were, byte for byte', () => {
    const row = badRow({ cx: Buffer.from(JSON.stringify(CONTEXTS)).toString('base64'), ue_pr: ' ' + JSON.stringify(EVENT, null, 2) });
    const p = recovered(run([SEED_STEPS.replace], [], row)).raw.parameters;
    const original = (row.data.payload as { raw: { parameters: Record<string, string> } }).raw.parameters;
    expect(p.cx).toBe(original.cx);
    expect(p.ue_pr).toBe(original.ue_pr);
    // changed, standard base64 stays standard base64
    const changed = recovered(run([SEED_STEPS.cast], [], row)).raw.parameters.cx;
    expect(changed).toMatch(/=$|[+/]/);
    expect((JSON.parse(Buffer.from(changed, 'base64').toString()) as typeof CONTEXTS).data[0].data.domComplete).toBe(true);
  });
});

describe('flows', () => {
  const config = parseRecoveryConfig({
    schema_violations: [
      { name: 'for beltline', conditions: [{ op: 'Test', path: '$.processor.artifact', value: { value: 'beltline' } }], steps: [SEED_STEPS.remove] },
      { name: 'for beam-enrich', conditions: [SEED_CONDITIONS.value, SEED_CONDITIONS.regex], steps: [SEED_STEPS.replace] },
      { name: 'catch-all', conditions: [], steps: [SEED_STEPS.cast] },
    ],
  });

  it('the first flow whose conditions all hold wins', () => {
    expect(recoverBadRow(config, badRow())).toMatchObject({ status: 'recovered', flow: 'for beam-enrich' });
    expect(recoverBadRow(config, badRow({}, 'beltline'))).toMatchObject({ status: 'recovered', flow: 'for beltline' });
    expect(recoverBadRow(config, badRow({}, 'other'))).toMatchObject({ status: 'recovered', flow: 'catch-all' });
  });

  it('a row with no flow for its type, or none that holds, fails with "missing configuration"', () => {
    const tracker: BadRow = { ...badRow(), schema: 'iglu:com.snowplowanalytics.snowplow.badrows/tracker_protocol_violations/jsonschema/1-0-0' };
    expect(recoverBadRow(config, tracker)).toEqual({ status: 'unmatched', reason: 'missing configuration: no flow for tracker_protocol_violations bad rows' });
    const strict = parseRecoveryConfig({ schema_violations: [{ name: 'only beltline', conditions: [{ op: 'Test', path: '$.processor.artifact', value: { value: 'beltline' } }], steps: [] }] });
    expect(recoverBadRow(strict, badRow())).toMatchObject({ status: 'unmatched', reason: expect.stringMatching(/^missing configuration: .*"only beltline"/) as unknown });
  });

  it('a size_violation is unrecoverable', () => {
    const size: BadRow = { schema: 'iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0', data: { processor: { artifact: 'beltline', version: '0' }, failure: {}, payload: 'trunc' } };
    expect(recoverBadRow(parseRecoveryConfig({ size_violation: [{ name: 's', steps: [] }] }), size)).toMatchObject({ status: 'unrecoverable' });
  });

  it('a collector_payload_format_violation\'s JSON text is opened, edited and sent as a record', () => {
    const row: BadRow = {
      schema: 'iglu:com.snowplowanalytics.snowplow.badrows/collector_payload_format_violation/jsonschema/1-0-0',
      data: { processor: { artifact: 'beltline', version: '0' }, failure: {}, payload: JSON.stringify({ kind: 'jsn', collector: 'c', timestamp: 1, eventType: 't', events: [{ a: 1 }] }) },
    };
    const out = recoverBadRow(parseRecoveryConfig({ collector_payload_format_violation: [{ name: 'kind', steps: [{ op: 'Replace', path: '$.kind', match: '^jsn$', value: 'json' }] }] }), row);
    expect(out.status).toBe('recovered');
    const { record } = toRawRecord(row, out.status === 'recovered' ? out.payload : null, { run: 'r', badRow: '1' }, 0);
    expect(record).toMatchObject({ kind: 'json', eventType: 't', events: [{ a: 1 }] });
  });

  it('a recovered schema_violations payload becomes the collector\'s record of that one event', () => {
    const row = badRow();
    const out = recoverBadRow(parseRecoveryConfig({ schema_violations: [{ name: 'q', steps: [{ op: 'Cast', path: '$.raw.parameters.ue_pr.data.data.quantity', from: 'String', to: 'Numeric' }] }] }), row);
    const { key, record } = toRawRecord(row, out.status === 'recovered' ? out.payload : null, { run: 'r', badRow: '7' }, 0);
    expect(key).toBe('u-1');
    expect(record).toMatchObject({
      kind: 'snowplow',
      collector: 'beltline-0.1.0',
      timestamp: Date.parse('2026-11-23T08:59:59.000Z'),
      ipAddress: '10.0.0.1',
      userAgent: 'UA/1',
      networkUserId: 'n-1',
      recovery: { run: 'r', badRow: '7' },
    });
    if (record.kind !== 'snowplow') throw new Error('not a snowplow record');
    expect(record.events).toHaveLength(1);
    expect(JSON.parse(record.events[0].ue_pr)).toEqual({ ...EVENT, data: { ...EVENT.data, data: { ...EVENT.data.data, quantity: 2 } } });
  });
});
