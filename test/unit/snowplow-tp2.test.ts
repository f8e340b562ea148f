import { parseGetQuery, parseTp2Body, Tp2FormatError } from '../../src/snowplow/tp2';

const SCHEMA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';

/** The Tp2FormatError message of a call, or a note that it threw something else or nothing. */
function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Tp2FormatError ? err.message : `not a Tp2FormatError: ${String(err)}`;
  }
  return 'no error';
}

describe('parseTp2Body', () => {
  it.each(['1-0-0', '1-0-1', '1-0-2', '1-0-3', '1-0-4'])('takes payload_data %s', (version) => {
    const body = { schema: `iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/${version}`, data: [{ e: 'pv', eid: 'a' }] };
    expect(parseTp2Body(body)).toEqual([{ e: 'pv', eid: 'a' }]);
  });

  it('keeps every event of a batch, in order, values as strings', () => {
    const body = { schema: SCHEMA, data: [{ e: 'pv', vid: 3, cookie: true }, { e: 'se', se_va: 1.5 }, { e: 'ue', x: null }] };
    expect(parseTp2Body(body)).toEqual([{ e: 'pv', vid: '3', cookie: 'true' }, { e: 'se', se_va: '1.5' }, { e: 'ue' }]);
  });

  it.each<[string, unknown, RegExp]>([
    ['an array', [{ e: 'pv' }], /^body must be a JSON object$/],
    ['a string', 'e=pv', /^body must be a JSON object$/],
    ['null', null, /^body must be a JSON object$/],
    ['no schema', { data: [{ e: 'pv' }] }, /^schema must be iglu:com\.snowplowanalytics\.snowplow\/payload_data\/jsonschema\/1-0-\*$/],
    ['another schema', { schema: 'iglu:com.acme/payload_data/jsonschema/1-0-4', data: [{ e: 'pv' }] }, /^schema must be/],
    ['a future payload_data', { schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-5', data: [{ e: 'pv' }] }, /^schema must be/],
    ['a schema with trailing text', { schema: `${SCHEMA}#`, data: [{ e: 'pv' }] }, /^schema must be/],
    ['no data', { schema: SCHEMA }, /^data must be a non-empty array of events$/],
    ['empty data', { schema: SCHEMA, data: [] }, /^data must be a non-empty array of events$/],
    ['data as an object', { schema: SCHEMA, data: { e: 'pv' } }, /^data must be a non-empty array/],
    ['a string event', { schema: SCHEMA, data: [{ e: 'pv' }, { e: 'pv' }, { e: 'pv' }, 'e=pv'] }, /^data\[3\] is not an object$/],
    ['an array event', { schema: SCHEMA, data: [[{ e: 'pv' }]] }, /^data\[0\] is not an object$/],
    ['a null event', { schema: SCHEMA, data: [null] }, /^data\[0\] is not an object$/],
    ['an object value', { schema: SCHEMA, data: [{ e: 'pv', co: { a: 1 } }] }, /^data\[0\]\.co must be a string$/],
    ['an array value', { schema: SCHEMA, data: [{ e: 'pv' }, { e: 'pv', url: ['x'] }] }, /^data\[1\]\.url must be a string$/],
    ['an event without e', { schema: SCHEMA, data: [{ e: 'pv' }, { eid: 'x' }] }, /^data\[1\] has no event type parameter "e"$/],
    ['an empty e', { schema: SCHEMA, data: [{ e: '' }] }, /^data\[0\] has no event type parameter "e"$/],
  ])('refuses %s with a reason', (_what, body, message) => {
    expect(reason(() => parseTp2Body(body))).toMatch(message);
  });

  it('does not take e from the prototype', () => {
    const event = Object.create({ e: 'pv' }) as Record<string, string>;
    event.eid = 'x';
    expect(reason(() => parseTp2Body({ schema: SCHEMA, data: [event] }))).toMatch(/has no event type/);
  });
});

describe('parseGetQuery', () => {
  it('takes the first value of a repeated parameter and drops absent ones', () => {
    expect(parseGetQuery({ e: ['pv', 'se'], eid: 'a', uid: undefined, aid: [] })).toEqual({ e: 'pv', eid: 'a' });
  });

  it('needs e', () => {
    expect(reason(() => parseGetQuery({ eid: 'a' }))).toBe('query has no event type parameter "e"');
    expect(reason(() => parseGetQuery({ e: '' }))).toBe('query has no event type parameter "e"');
    expect(reason(() => parseGetQuery({ e: [] }))).toBe('query has no event type parameter "e"');
  });
});
