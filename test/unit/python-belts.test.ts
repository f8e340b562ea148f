import { PythonBeltPool, unconfinedRefusal, type PythonIsolation } from '../../src/belts/python';
import { BeltCompileError, type BeltInput } from '../../src/belts/sandbox';

jest.setTimeout(20_000);

// Seed 000 (belt-extractor): the goal-1 callback, unchanged.
const SEED_000 = `import json
import sys

def execute(event):
    if event:
        try:
            update = {
                "_id":  event['payloadid']['correlationid'],
                "_path": [
                    "conversionfunnel",
                    "goal-1"
                ],
                "_value": {
                    "_v": event['payloadid']['created']
                }
            }
            return update
        except KeyError:
            sys.stderr.write('key error')
            return None
`;

// Seed 001 (live segment): the cleaned callback from the guide, unchanged.
const SEED_001 = `import json
import sys
from time import time
import logging
import math
from grnry_belt.models.direct_update import DirectUpdate

def execute(event_headers, event_payload, profile = None):
    update = []
    correlation_id= event_headers['grnry-correlation-id']
    directPayload = {
    'id': str(correlation_id),
    'firstName':  str(event_payload['firstName']),
    'lastName':  str(event_payload['lastName'])
    }
    directUpdate = DirectUpdate('livesegment-dataoutp',directPayload)
    update.append(directUpdate)
    return update
`;

// Seed 001's belt as posted in the JSON body (extractorFn), with its glued-on print: must not compile.
const SEED_001_JSON_BODY = JSON.parse(
  '"import json\\r\\nimport sys\\r\\nfrom time import time\\r\\nimport logging\\r\\nimport math\\r\\nfrom grnry_belt.models.direct_update import DirectUpdate\\r\\n\\r\\ndef lookup(dictionary,keys):\\r\\n    if type(dictionary)==type(\'\'):\\r\\n        dictionary=json.loads(dictionary)\\r\\n    try:\\r\\n        if len(keys)>1:\\r\\n            value = lookup(dictionary[keys[0]],keys[1:])\\r\\n        else:\\r\\n            value = dictionary[keys[0]]\\r\\n        return value\\r\\n    except:\\r\\n        return None\\r\\n\\r\\ndef execute(event_headers, event_payload, profile = None):\\r\\n    update = []\\r\\n    correlation_id= event_headers[\'grnry-correlation-id\']    print(\\"event_payload : \\", event_payload)\\r\\n    directValue = {\\r\\n    \'id\': str(correlation_id),\\r\\n    \'firstName\':  str(event_payload[\'firstName\']),\\r\\n    \'lastName\':  str(event_payload[\'lastName\'])\\r\\n    }\\r\\n    directUpdate = DirectUpdate(\'testlivesegment-0000\',directValue)\\r\\n    print(\\"directUpdate : \\", directUpdate)\\r\\n    update.append(directUpdate)\\r\\n    logging.debug(\'Updated the value to the test live segment\')\\r\\n    return update"',
) as string;

// Every hostile event is followed by a harmless one in the same batch.
const HOSTILE = `import os, socket, sys, time

def execute(headers, payload, profile=None):
    kind = payload['kind']
    if kind == 'loop':
        while True:
            pass
    if kind == 'swallow':
        while True:
            try:
                while True:
                    pass
            except:
                pass
    if kind == 'alloc':
        big = bytearray(1024 ** 3)
    if kind == 'grow':
        grown = []
        while True:
            grown.append(bytearray(1024 * 1024))
    if kind == 'raise':
        raise ValueError('boom: ' + headers['grnry-event-id'])
    if kind == 'passwd':
        return {'passwd': open('/etc/passwd').read()[:20]}
    if kind == 'socket':
        socket.create_connection(('127.0.0.1', 80), timeout=1)
        return {'connected': True}
    if kind == 'sleep':
        time.sleep(30)
    if kind == 'exit':
        os._exit(3)
    if kind == 'print':
        print('hello', payload.get('n'))
        sys.stderr.write('to stderr\\n')
        import logging
        logging.getLogger('belt').info('logged %s', 42)
    if kind == 'whoami':
        try:
            files = os.listdir('.')
        except PermissionError:
            files = 'denied'
        return {'uid': os.getuid(), 'env': dict(os.environ), 'cwd': os.getcwd(), 'files': files}
    return {'ok': headers['grnry-event-id']}
`;

let seq = 0;
function input(payload: unknown, extra: Partial<BeltInput> = {}): BeltInput {
  const id = `e-${++seq}`;
  return { eventId: id, headers: { 'grnry-correlation-id': 'c-1', 'grnry-event-id': id, 'grnry-created': 1541345852941, 'grnry-event-type': 'test' }, payload, profile: null, ...extra };
}

describe('PythonBeltPool', () => {
  const pool = new PythonBeltPool({ processes: 2, limits: { memoryMb: 128, timeoutMs: 300 } });
  let isolation: PythonIsolation;

  beforeAll(async () => {
    isolation = await pool.isolation();
  });
  afterAll(() => pool.close());

  const enforced = (prefix: string): boolean => isolation.enforced.some((e) => e.startsWith(prefix));

  it("runs seed 000's execute(event) unchanged on its documented envelope", async () => {
    const event = input(
      { body: '{ ... }', collector: 'ssc-0.13.0-kafka', schema: 'iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0' },
      {
        headers: { 'grnry-correlation-id': 'cookie_dW5kIG5pZW1hbHMgdmVyZ2Vzc2VuIGVpc2VybiB1bmlvbg==', 'grnry-event-id': '819f785b-82f7-4994-bbd8-992c94bdf7bc', 'grnry-created': 1541345852941 },
        metadata: { headers: null, topic: 'raw', partition: 0, key: '9417415d-7359-4ad0-8c3b-46ff4ca78c44', offset: 1746229 },
      },
    );
    const [r] = await pool.runBatch(SEED_000, 'goal-1.py', [event]);
    expect(r).toEqual({
      eventId: event.eventId,
      outputs: [{ _id: 'cookie_dW5kIG5pZW1hbHMgdmVyZ2Vzc2VuIGVpc2VybiB1bmlvbg==', _path: ['conversionfunnel', 'goal-1'], _value: { _v: 1541345852941 } }],
      logs: [],
    });
  });

  it("runs seed 001's cleaned callback unchanged: a DirectUpdate to livesegment-dataoutp", async () => {
    const a = input({ appId: 'liveSegmenttest', firstName: 'Andrew', lastName: 'Peterson' });
    const b = input({ appId: 'liveSegmenttest', firstName: 'Ann', lastName: 'Lee' }, { headers: { 'grnry-correlation-id': 'c-2' }, profile: { some: 'profile' } });
    const results = await pool.runBatch(SEED_001, 'liveSegement-belt.py', [a, b]);
    expect(results).toEqual([
      { eventId: a.eventId, outputs: [{ _direct: 'livesegment-dataoutp', row: { id: 'c-1', firstName: 'Andrew', lastName: 'Peterson' } }], logs: [] },
      { eventId: b.eventId, outputs: [{ _direct: 'livesegment-dataoutp', row: { id: 'c-2', firstName: 'Ann', lastName: 'Lee' } }], logs: [] },
    ]);
    // A missing field fails only that event, with Python's message and traceback.
    const [bad] = await pool.runBatch(SEED_001, 'liveSegement-belt.py', [input({ firstName: 'x' })]);
    expect(bad.error).toMatchObject({ kind: 'exception', message: "'lastName'" });
    expect(bad.error?.stack).toMatch(/File "liveSegement-belt\.py", line 14, in execute[\s\S]*KeyError: 'lastName'/);
  });

  it("rejects seed 001's JSON-body version with the SyntaxError's line and column", async () => {
    const check = pool.check(SEED_001_JSON_BODY, 'liveSegement-belt.py');
    await expect(check).rejects.toThrow(BeltCompileError);
    await expect(check).rejects.toThrow(/SyntaxError: invalid syntax at line 22, column 62 \[liveSegement-belt\.py:22:62\]/);
    await expect(pool.check(SEED_001, 'liveSegement-belt.py')).resolves.toBeUndefined();
    await expect(pool.check('def execute(h, p):\n    return {\n', 'broken.py')).rejects.toThrow(/at line 2, column 12/);
    await expect(pool.check('def execute(h, p):\nreturn 1\n', 'indent.py')).rejects.toThrow(/IndentationError: .* at line 2, column 1/);
    // Run anyway, every event fails with the same message (and the pool carries on).
    const results = await pool.runBatch(SEED_001_JSON_BODY, 'liveSegement-belt.py', [input({}), input({})]);
    for (const r of results) expect(r.error).toMatchObject({ kind: 'exception', message: expect.stringMatching(/line 22, column 62/) });
  });

  it('passes (headers, payload, profile), None, dicts, DirectUpdates and lists through as JSON', async () => {
    const src = `from grnry_belt.models.direct_update import DirectUpdate
def execute(headers, payload, profile):
    if payload.get('none'):
        return None
    if payload.get('one'):
        return {'_id': headers['grnry-correlation-id'], 'profile': profile, 'nan': float('nan')}
    return [DirectUpdate('t', {'id': 1}), {'_id': 'x', 'nested': DirectUpdate('u', [1, 2])}, None]
`;
    const [none, one, many] = await pool.runBatch(src, 'shapes.py', [input({ none: true }), input({ one: true }, { profile: { a: 1 } }), input({})]);
    expect(none.outputs).toEqual([]);
    expect(one.outputs).toEqual([{ _id: 'c-1', profile: { a: 1 }, nan: null }]);
    expect(many.outputs).toEqual([{ _direct: 't', row: { id: 1 } }, { _id: 'x', nested: { _direct: 'u', row: [1, 2] } }, null]);
    const [noExecute] = await pool.runBatch('x = 1\n', 'empty.py', [input({})]);
    expect(noExecute.error).toMatchObject({ kind: 'exception', message: 'the belt defines no function execute' });
  });

  it('captures print, stderr and logging in the logs of their event', async () => {
    const [quiet, loud] = await pool.runBatch(HOSTILE, 'hostile.py', [input({ kind: 'ok' }), input({ kind: 'print', n: 7 })]);
    expect(quiet.logs).toEqual([]);
    expect(loud.logs).toEqual(['hello 7', 'to stderr', 'INFO:belt:logged 42']);
    expect(loud.outputs).toEqual([{ ok: loud.eventId }]);
  });

  const cases: Array<[string, RegExp, string]> = [
    ['loop', /CPU budget of 300 ms/, 'timeout'],
    ['alloc', /memory limit of 128 MB/, 'memory'],
    ['grow', /memory limit of 128 MB/, 'memory'],
    ['raise', /^boom: e-\d+$/, 'exception'],
    ['socket', /Operation not permitted|Permission denied|Network is unreachable|Connection refused/, 'exception'],
  ];
  it.each(cases)('a belt event that does %s fails alone; the next event of the batch succeeds', async (kind, message, errorKind) => {
    const batch = [input({ kind: 'ok' }), input({ kind }), input({ kind: 'ok' })];
    const results = await pool.runBatch(HOSTILE, 'hostile.py', batch);
    expect(results.map((r) => r.eventId)).toEqual(batch.map((b) => b.eventId));
    expect(results[0]).toEqual({ eventId: batch[0].eventId, outputs: [{ ok: batch[0].eventId }], logs: [] });
    expect(results[1].outputs).toEqual([]);
    expect(results[1].error).toMatchObject({ kind: errorKind, message: expect.stringMatching(message) });
    expect(results[2]).toEqual({ eventId: batch[2].eventId, outputs: [{ ok: batch[2].eventId }], logs: [] });
    if (kind === 'raise') expect(results[1].error?.stack).toMatch(/File "hostile\.py", line 22, in execute\n.*raise ValueError[\s\S]*ValueError: boom/);
  });

  it('cannot read /etc/passwd when the file system is confined (Landlock)', async () => {
    const [r, next] = await pool.runBatch(HOSTILE, 'hostile.py', [input({ kind: 'passwd' }), input({ kind: 'ok' })]);
    if (enforced('Landlock')) expect(r.error).toMatchObject({ kind: 'exception', message: expect.stringMatching(/Permission denied: '\/etc\/passwd'/) });
    // Without Landlock, being nobody does not hide a world-readable file: isolation() says so.
    else expect(isolation.notEnforced.join('\n')).toMatch(/Landlock/);
    expect(next.outputs).toEqual([{ ok: next.eventId }]);
  });

  it('runs workers with an empty environment in an empty folder, unprivileged when it can', async () => {
    const [r] = await pool.runBatch(HOSTILE, 'hostile.py', [input({ kind: 'whoami' })]);
    expect(r.error).toBeUndefined();
    const who = r.outputs[0] as { uid: number; env: Record<string, string>; files: string[] | 'denied' };
    // Python's own C-locale coercion (PEP 538) is the only variable; nothing comes from the host.
    expect(Object.keys(who.env).filter((k) => k !== 'LC_CTYPE')).toEqual([]);
    expect(who.files).toEqual(enforced('Landlock') ? 'denied' : []);
    if (enforced('unprivileged user')) expect(who.uid).toBe(65534);
    if (process.getuid?.() === 0 && !enforced('unprivileged user')) expect(isolation.notEnforced.join('\n')).toMatch(/runs? as root/);
    expect(isolation.enforced).toEqual(expect.arrayContaining(['empty environment']));
  });

  it('fails an event whose belt signals a process, itself included (kill, tgkill, pidfd_*), and goes on', async () => {
    const SIGNALS = `import os, signal, threading

def execute(headers, payload, profile=None):
    how = payload['how']
    if how == 'kill-init':
        os.kill(1, 0)
    if how == 'kill-self':
        os.kill(os.getpid(), 0)
    if how == 'tgkill-self':
        signal.pthread_kill(threading.get_ident(), 0)
    if how == 'pidfd-self':
        os.pidfd_open(os.getpid())
    return {'ok': headers['grnry-event-id']}
`;
    const hows = ['kill-init', 'kill-self', 'tgkill-self', 'pidfd-self'];
    const batch = hows.flatMap((how) => [input({ how }), input({ how: 'none' })]);
    const results = await pool.runBatch(SIGNALS, 'signals.py', batch);
    hows.forEach((how, i) => {
      const [r, next] = [results[2 * i], results[2 * i + 1]];
      expect({ how, error: r.error }).toEqual({ how, error: expect.objectContaining({ kind: 'exception', message: '[Errno 1] Operation not permitted', stack: expect.stringMatching(/\nPermissionError: /) }) });
      expect(next).toEqual({ eventId: next.eventId, outputs: [{ ok: next.eventId }], logs: [] });
    });
    expect(isolation.enforced.join('\n')).toMatch(/seccomp: \d+ syscalls denied \(.*signals: kill\/tgkill\/tkill\/pidfd_\*/);
  });

  it('kills a worker stuck past the wall-time guard, fails that event as a timeout and finishes the batch', async () => {
    const batch = [input({ kind: 'ok' }), input({ kind: 'swallow' }), input({ kind: 'sleep' }), input({ kind: 'ok' }), input({ kind: 'exit' }), input({ kind: 'ok' })];
    const started = Date.now();
    const results = await pool.runBatch(HOSTILE, 'hostile.py', batch);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(results.map((r) => r.error?.kind)).toEqual([undefined, 'timeout', 'timeout', undefined, 'exception', undefined]);
    expect(results[4].error?.message).toMatch(/exited with code 3/);
    for (const i of [0, 3, 5]) expect(results[i].outputs).toEqual([{ ok: batch[i].eventId }]);
  });

  it('survives a worker killed from outside', async () => {
    const single = new PythonBeltPool({ processes: 1 });
    try {
      const [a] = await single.runBatch(SEED_001, 's.py', [input({ firstName: 'A', lastName: 'B' })]);
      expect(a.error).toBeUndefined();
      const [pid] = single.pids();
      process.kill(pid, 'SIGKILL');
      const [b] = await single.runBatch(SEED_001, 's.py', [input({ firstName: 'C', lastName: 'D' })]);
      expect(b.outputs).toEqual([{ _direct: 'livesegment-dataoutp', row: { id: 'c-1', firstName: 'C', lastName: 'D' } }]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [c] = await single.runBatch(SEED_001, 's.py', [input({ firstName: 'E', lastName: 'F' })]);
      expect(c.error).toBeUndefined();
      expect(single.pids()).toHaveLength(1);
      expect(single.pids()[0]).not.toBe(pid);
    } finally {
      await single.close();
    }
    await expect(single.runBatch(SEED_001, 's.py', [input({})])).rejects.toThrow(/closed/);
  });

  it('compiles and loads a source once per process, then reuses it', async () => {
    const src = 'import random\nTOKEN = random.random()\n\ndef execute(headers, payload):\n    return {"token": TOKEN}\n';
    const first = await pool.runBatch(src, 'cached.py', [input({})]);
    const second = await pool.runBatch(src, 'cached.py', [input({}), input({})]);
    const tokens = [...first, ...second].map((r) => (r.outputs[0] as { token: number }).token);
    expect(new Set(tokens).size).toBe(1);
  });

  it('fails the batch, not the pool, when a belt forges a reply on the protocol fd', async () => {
    const src = 'import os\n\ndef execute(headers, payload):\n    if payload.get("forge"):\n        os.write(4, b\'{"results": []}\\n\')\n    return {"ok": 1}\n';
    const results = await pool.runBatch(src, 'forger.py', [input({}), input({ forge: true }), input({})]);
    for (const r of results) expect(r.error?.message).toMatch(/invalid reply/);
    const [after] = await pool.runBatch(src, 'forger.py', [input({})]);
    expect(after).toMatchObject({ outputs: [{ ok: 1 }], logs: [] });
  });

  it('runs concurrent batches on its processes, each a single round trip, in order', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => input({ firstName: `f${i}`, lastName: 'l' }));
    const started = Date.now();
    const [x, y, z] = await Promise.all([pool.runBatch(SEED_001, 'a.py', big), pool.runBatch(SEED_000, 'b.py', big.slice(0, 10)), pool.runBatch(SEED_001, 'a.py', big.slice(5, 7))]);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(x).toHaveLength(2000);
    x.forEach((r, i) => expect(r.outputs).toEqual([{ _direct: 'livesegment-dataoutp', row: { id: 'c-1', firstName: `f${i}`, lastName: 'l' } }]));
    expect(y.map((r) => r.eventId)).toEqual(big.slice(0, 10).map((b) => b.eventId));
    expect(z.map((r) => (r.outputs[0] as { row: { firstName: string } }).row.firstName)).toEqual(['f5', 'f6']);
    expect(pool.pids().length).toBeLessThanOrEqual(2);
  });
});

describe('unconfinedRefusal', () => {
  const ready = { landlock: 6, seccomp: 69, errors: [] };

  it('lets a worker run belts only with Landlock and seccomp applied', () => {
    expect(unconfinedRefusal(ready, false)).toBeNull();
    expect(unconfinedRefusal({ ...ready, landlock: null, errors: ['landlock: [Errno 38] Landlock unavailable: Function not implemented'] }, false)).toBe(
      'python belts refuse to run unconfined: the worker could not apply Landlock (landlock: [Errno 38] Landlock unavailable: Function not implemented); ' +
        'set BELTLINE_PYTHON_UNCONFINED=true to run them without it',
    );
    expect(unconfinedRefusal({ ...ready, seccomp: null }, false)).toMatch(/could not apply seccomp;/);
    expect(unconfinedRefusal({ landlock: null, seccomp: null }, false)).toMatch(/could not apply Landlock and seccomp/);
  });

  it('lets them run anyway when BELTLINE_PYTHON_UNCONFINED=true says so', () => {
    expect(unconfinedRefusal({ landlock: null, seccomp: null }, true)).toBeNull();
  });
});
