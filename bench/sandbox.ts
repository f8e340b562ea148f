import { PythonBeltPool } from '../src/belts/python';
import { BeltSandbox, type BeltInput } from '../src/belts/sandbox';

const TRIVIAL_JS = "function execute(h, p) { return Update(h['grnry-correlation-id'], ['n'], p.n); }";
const TRIVIAL_PY = "def execute(h, p, profile=None):\n    return {'_id': h['grnry-correlation-id'], '_path': ['n'], '_value': {'_v': p['n']}}\n";

function inputs(n: number): BeltInput[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: `e${i}`,
    headers: { 'grnry-correlation-id': `u${i % 100}`, 'grnry-event-id': `e${i}`, 'grnry-created': 1_700_000_000_000 + i },
    payload: { n: i, event_name: 'page_view', page_url: 'https://example.com/' },
    profile: null,
  }));
}

/**
 * Trivial-belt executions per second in the V8 isolate and in the Python pool, beside the same
 * function called in-process (no sandbox) in the same run: the price of isolation.
 */
export async function benchSandbox(opts: { events?: number; batch?: number } = {}): Promise<Record<string, unknown>> {
  const events = opts.events ?? 100_000;
  const batch = opts.batch ?? 500;
  const all = inputs(events);

  // Baseline: the same function as a plain in-process call, results serialised like the sandbox's.
  const plain = (h: Record<string, string | number>, p: { n: number }) => ({ _schema: 'update_1', _operation: '_set', _id: h['grnry-correlation-id'], _path: ['n'], _value: { _v: p.n } });
  let t = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < events; i += batch) sink += JSON.stringify(all.slice(i, i + batch).map((e) => plain(e.headers, e.payload as { n: number }))).length;
  const plainSec = Number(process.hrtime.bigint() - t) / 1e9;

  const sb = await BeltSandbox.create(TRIVIAL_JS, 'bench.js');
  await sb.runBatch(all.slice(0, batch)); // warm-up
  t = process.hrtime.bigint();
  for (let i = 0; i < events; i += batch) sink += (await sb.runBatch(all.slice(i, i + batch))).length;
  const jsSec = Number(process.hrtime.bigint() - t) / 1e9;
  sb.dispose();

  const pyEvents = Math.min(events, 20_000);
  const py = new PythonBeltPool({ processes: 1 });
  await py.runBatch(TRIVIAL_PY, 'bench.py', all.slice(0, batch));
  t = process.hrtime.bigint();
  for (let i = 0; i < pyEvents; i += batch) sink += (await py.runBatch(TRIVIAL_PY, 'bench.py', all.slice(i, i + batch))).length;
  const pySec = Number(process.hrtime.bigint() - t) / 1e9;
  await py.close();

  const rate = (n: number, s: number) => Math.round(n / s);
  return {
    bench: 'belt-sandbox',
    events,
    batch,
    plainCallsPerSec: rate(events, plainSec),
    jsIsolatePerSec: rate(events, jsSec),
    jsRatioToPlain: Math.round((plainSec / jsSec) * 1000) / 1000,
    pythonPerSec: rate(pyEvents, pySec),
    pythonRatioToPlain: Math.round((rate(pyEvents, pySec) / rate(events, plainSec)) * 1000) / 1000,
    note: 'one core each; the isolate runs a whole batch per call',
    sink: sink > 0,
  };
}

if (require.main === module) {
  benchSandbox()
    .then((r) => console.log(JSON.stringify(r)))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
