import { BeltSandbox } from '../../src/belts/sandbox';

const headers = (id: string) => ({ 'grnry-correlation-id': `user-${id}`, 'grnry-event-id': id, 'grnry-created': 1000 });
const input = (id: string, payload: unknown = { n: Number(id) }) => ({ eventId: id, headers: headers(id), payload, profile: null });

describe('belt sandbox', () => {
  jest.setTimeout(30000);

  it('runs execute(headers, payload, profile) for each event of a batch', async () => {
    const sb = await BeltSandbox.create(
      `function execute(h, p, profile) { console.log('seen', p.n); return Update(h['grnry-correlation-id'], ['n'], p.n); }`,
      'count.js',
    );
    const out = await sb.runBatch([input('1'), input('2')]);
    expect(out.map((r) => r.outputs)).toEqual([
      [{ _schema: 'update_1', _operation: '_set', _id: 'user-1', _path: ['n'], _value: { _v: 1 } }],
      [{ _schema: 'update_1', _operation: '_set', _id: 'user-2', _path: ['n'], _value: { _v: 2 } }],
    ]);
    expect(out[1].logs).toEqual(['seen 2']);
    sb.dispose();
  });

  it('gives one-argument belts the seed-000 envelope', async () => {
    const sb = await BeltSandbox.create(
      `function execute(event) { return { _id: event.payloadid.correlationid, _path: ['conversionfunnel', 'goal-1'], _value: { _v: event.payloadid.created } }; }`,
      'goal.js',
    );
    const [r] = await sb.runBatch([input('7')]);
    expect(r.outputs).toEqual([{ _id: 'user-7', _path: ['conversionfunnel', 'goal-1'], _value: { _v: 1000 } }]);
    sb.dispose();
  });

  it('fails only the event that throws, loops forever or exhausts memory', async () => {
    const sb = await BeltSandbox.create(
      `function execute(h, p) {
         if (p.mode === 'throw') throw new Error('boom');
         if (p.mode === 'loop') { while (true) {} }
         if (p.mode === 'oom') { const a = []; while (true) a.push(new Array(4e6).fill(1)); }
         return { _id: 'x', _path: ['ok'], _value: { _v: p.mode } };
       }`,
      'faulty.js',
      // The budget is wall time: small arrays on a busy machine ran it out before the memory.
      { memoryMb: 32, timeoutMs: 500 },
    );
    const out = await sb.runBatch([
      input('1', { mode: 'a' }),
      input('2', { mode: 'throw' }),
      input('3', { mode: 'loop' }),
      input('4', { mode: 'oom' }),
      input('5', { mode: 'b' }),
    ]);
    expect(out.map((r) => r.error?.kind ?? 'ok')).toEqual(['ok', 'exception', 'timeout', 'memory', 'ok']);
    expect(out[1].error?.message).toBe('boom');
    expect(out[4].outputs).toEqual([{ _id: 'x', _path: ['ok'], _value: { _v: 'b' } }]);
    sb.dispose();
  });

  it('offers no way out: no require, process, fetch or dynamic import', async () => {
    const sb = await BeltSandbox.create(
      `function execute(h, p) {
         if (p.t === 'require') return require('fs').readFileSync('/etc/passwd', 'utf8');
         if (p.t === 'process') return process.env;
         if (p.t === 'fetch') return fetch('http://127.0.0.1:1');
         if (p.t === 'import') return import('fs');
       }`,
      'escape.js',
    );
    const out = await sb.runBatch(['require', 'process', 'fetch', 'import'].map((t, i) => input(String(i), { t })));
    expect(out.map((r) => r.error?.message)).toEqual([
      'require is not defined',
      'process is not defined',
      'fetch is not defined',
      expect.stringMatching(/Not supported|Promise/),
    ]);
    expect(out.every((r) => r.outputs.length === 0)).toBe(true);
    sb.dispose();
  });

  it('reports a syntax error with its position', async () => {
    await expect(BeltSandbox.create('function execute( {', 'broken.js')).rejects.toThrow(/Unexpected end of input \[broken\.js:1:20\]/);
  });
});

describe('seed callbacks in JavaScript', () => {
  it('seed 001\'s live-segment belt: a DirectUpdate of the sample event', async () => {
    const sb = await BeltSandbox.create(
      `function execute(event_headers, event_payload, profile) {
         const correlation_id = event_headers['grnry-correlation-id'];
         return [DirectUpdate('livesegment-dataoutp', { id: String(correlation_id), firstName: String(event_payload.firstName), lastName: String(event_payload.lastName) })];
       }`,
      'seed001.js',
    );
    const [r] = await sb.runBatch([
      { eventId: 'e1', headers: { 'grnry-correlation-id': 'c-1', 'grnry-event-id': 'e1', 'grnry-created': 1 }, payload: { appId: 'liveSegmenttest', firstName: 'Andrew', lastName: 'Peterson' }, profile: null },
    ]);
    expect(r.outputs).toEqual([{ _direct: 'livesegment-dataoutp', row: { id: 'c-1', firstName: 'Andrew', lastName: 'Peterson' } }]);
    sb.dispose();
  });
});
