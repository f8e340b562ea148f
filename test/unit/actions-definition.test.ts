import { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS, idempotencyKey, outcomeOf, parseActionBody, resolveHeaders } from '../../src/actions/definition';
import { classifyOutputs } from '../../src/belts/outputs';
import type { BeltDefinition } from '../../src/belts/definition';
import { substitute } from '../../src/examples/folder';

const ok = { name: 'send-offer', type: 'webhook', url: 'https://offers.example/hook' };

function fieldOf(body: unknown, fixedName?: string): string {
  try {
    parseActionBody(body, fixedName);
  } catch (err) {
    return (err as { field: string }).field;
  }
  throw new Error('accepted');
}

describe('action definitions', () => {
  it('fills the defaults', () => {
    expect(parseActionBody(ok)).toEqual({
      name: 'send-offer',
      description: '',
      type: 'webhook',
      url: 'https://offers.example/hook',
      method: 'POST',
      headers: {},
      timeoutMs: DEFAULT_TIMEOUT_MS,
      retry: DEFAULT_RETRY,
    });
  });

  it('takes a timeout in ms or as an ISO-8601 duration, and a retry policy', () => {
    expect(parseActionBody({ ...ok, timeoutMs: 2500 }).timeoutMs).toBe(2500);
    expect(parseActionBody({ ...ok, timeout: 'PT3S' }).timeoutMs).toBe(3000);
    expect(parseActionBody({ ...ok, timeoutMs: 'PT1M' }).timeoutMs).toBe(60_000);
    expect(parseActionBody({ ...ok, retry: { maximumAttempts: 3, initialInterval: 'PT2S', maximumInterval: 'PT10S' } }).retry).toEqual({
      maximumAttempts: 3,
      initialIntervalMs: 2000,
      maximumIntervalMs: 10_000,
      backoffCoefficient: 2,
    });
  });

  it('names the field that is wrong', () => {
    expect(fieldOf({ ...ok, type: 'email' })).toBe('type');
    expect(fieldOf({ ...ok, url: 'not a url' })).toBe('url');
    expect(fieldOf({ ...ok, url: 'ftp://x.example/' })).toBe('url');
    expect(fieldOf({ ...ok, url: 'https://user:pw@x.example/' })).toBe('url');
    expect(fieldOf({ type: 'webhook', url: ok.url })).toBe('name');
    expect(fieldOf({ ...ok, name: 'Send Offer' })).toBe('name');
    expect(fieldOf({ ...ok, name: 'other' }, 'send-offer')).toBe('name');
    expect(fieldOf({ ...ok, method: 'GET' })).toBe('method');
    expect(fieldOf({ ...ok, timeoutMs: 0 })).toBe('timeoutMs');
    expect(fieldOf({ ...ok, timeout: 'soon' })).toBe('timeout');
    expect(fieldOf({ ...ok, retry: { maximumAttempts: 0 } })).toBe('retry.maximumAttempts');
    expect(fieldOf({ ...ok, retry: { tries: 3 } })).toBe('retry.tries');
    expect(fieldOf({ ...ok, retry: { initialInterval: 'PT1M', maximumInterval: 'PT1S' } })).toBe('retry.maximumInterval');
    expect(fieldOf({ ...ok, headers: { 'Idempotency-Key': 'x' } })).toBe('headers.Idempotency-Key');
    expect(fieldOf({ ...ok, headers: { 'Bad Header': 'x' } })).toBe('headers.Bad Header');
    expect(fieldOf({ ...ok, headers: { 'X-A': 'a\r\nInjected: 1' } })).toBe('headers.X-A');
    expect(fieldOf({ ...ok, headers: { 'X-A': '${TOKEN}' } })).toBe('headers.X-A');
    expect(fieldOf({ ...ok, headers: { 'X-A': 5 } })).toBe('headers.X-A');
  });

  it('resolves ${env:NAME} in header values at delivery, and names a variable that is unset', () => {
    const def = parseActionBody({ ...ok, headers: { Authorization: 'Bearer ${env:BELTLINE_ACTION_OFFERS_TOKEN}', 'X-Static': 'v' } });
    expect(def.headers.Authorization).toBe('Bearer ${env:BELTLINE_ACTION_OFFERS_TOKEN}');
    expect(resolveHeaders(def.headers, { BELTLINE_ACTION_OFFERS_TOKEN: 's3cret' })).toEqual({ Authorization: 'Bearer s3cret', 'X-Static': 'v' });
    expect(() => resolveHeaders(def.headers, {})).toThrow(/BELTLINE_ACTION_OFFERS_TOKEN/);
  });

  it('reads only variables named BELTLINE_ACTION_*: at definition (400 naming the header) and at delivery', () => {
    expect(fieldOf({ ...ok, headers: { 'X-Leak': 'postgres=${env:DATABASE_URL}' } })).toBe('headers.X-Leak');
    expect(() => parseActionBody({ ...ok, headers: { Authorization: 'Bearer ${env:BELTLINE_ACTION_T} ${env:BELTLINE_ADMIN_KEY}' } })).toThrow(
      /headers\.Authorization: .*BELTLINE_ACTION_.*BELTLINE_ADMIN_KEY/,
    );
    // A definition stored before the rule (not parsed again) is refused when it is sent.
    expect(() => resolveHeaders({ 'X-Leak': '${env:DATABASE_URL}' }, { DATABASE_URL: 'postgres://u:p@db/x' })).toThrow(/DATABASE_URL.*BELTLINE_ACTION_/);
  });

  it('retries 408, 429, 5xx; gives up on other 4xx', () => {
    expect(outcomeOf(200)).toBe('sent');
    expect(outcomeOf(204)).toBe('sent');
    expect(outcomeOf(400)).toBe('failed');
    expect(outcomeOf(404)).toBe('failed');
    expect(outcomeOf(408)).toBe('retry');
    expect(outcomeOf(429)).toBe('retry');
    expect(outcomeOf(500)).toBe('retry');
    expect(outcomeOf(503)).toBe('retry');
  });

  it('keys a delivery by (event, belt, action, index), or by (action, key) across events', () => {
    const a = { eventId: 'e1', belt: 'b', name: 'send-offer', index: 0 };
    expect(idempotencyKey(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(idempotencyKey(a)).toBe(idempotencyKey({ ...a }));
    expect(idempotencyKey(a)).not.toBe(idempotencyKey({ ...a, eventId: 'e2' }));
    expect(idempotencyKey(a)).not.toBe(idempotencyKey({ ...a, index: 1 }));
    expect(idempotencyKey(a)).not.toBe(idempotencyKey({ ...a, belt: 'c' }));
    const keyed = { ...a, key: 'offer/alice' };
    expect(idempotencyKey(keyed)).toBe(idempotencyKey({ ...keyed, eventId: 'e2', index: 3 }));
    expect(idempotencyKey(keyed)).not.toBe(idempotencyKey({ ...keyed, key: 'offer/bob' }));
    expect(idempotencyKey(keyed)).not.toBe(idempotencyKey({ ...keyed, name: 'other' }));
  });
});

describe('Action outputs', () => {
  const def = { outputTypes: [] } as unknown as BeltDefinition;
  it('keeps the optional dedupe key and refuses a bad one', () => {
    expect(classifyOutputs(def, [{ _action: 'send-offer', payload: { a: 1 }, key: 'offer/u' }], () => false).actions).toEqual([{ name: 'send-offer', payload: { a: 1 }, key: 'offer/u' }]);
    expect(classifyOutputs(def, [{ _action: 'send-offer', payload: null }], () => false).actions).toEqual([{ name: 'send-offer', payload: null }]);
    expect(() => classifyOutputs(def, [{ _action: 'send-offer', payload: null, key: 5 }], () => false)).toThrow(/key/);
  });
});

describe('example folders', () => {
  it('replaces ${run} in every string', () => {
    expect(substitute({ a: ['u-${run}', 1, { b: '${run}/${run}' }], c: '${other}' }, { run: 'r1' })).toEqual({ a: ['u-r1', 1, { b: 'r1/r1' }], c: '${other}' });
  });
});
