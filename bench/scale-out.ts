import os from 'node:os';
import { loadConfig } from '../src/config';
import { EndToEnd, settings } from './end-to-end';

const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The `scale-out` part: events/s end to end with one worker process and with two, behind the same
 * collector and bridge processes, fed by the same load generator (bench/load.ts, a process of its
 * own, the same options every run), in one run. Set-up, logs and clean-up are the end-to-end
 * part's (its own database, topic, group and task queue, removed afterwards).
 */
export async function benchScaleOut(): Promise<Record<string, unknown>> {
  const cfg = loadConfig();
  const s = settings();
  const bench = new EndToEnd(cfg, s, process.env.BENCH_ROLE_LOG_LEVEL ?? 'info');
  try {
    await bench.setUp();
    const { one, two, batchMaxInFlight } = await bench.workerScaling();
    const oneWorker = round(one.reduce((a, r) => a + r.eventsPerSec, 0) / one.length);
    return {
      bench: 'scale-out',
      events: s.events,
      oneWorkerEventsPerSec: oneWorker,
      twoWorkersEventsPerSec: two.eventsPerSec,
      ratio: round(two.eventsPerSec / oneWorker, 2),
      coresBusy: { oneWorker: round(one.reduce((a, r) => a + r.coresBusy, 0) / one.length, 2), twoWorkers: two.coresBusy, machine: os.cpus().length },
      cpuUsPerEvent: { oneWorker: one[0].cpuUsPerEvent, twoWorkers: two.cpuUsPerEvent },
      runs: [one[0], two, one[1]],
      layout: {
        processes: 'one collector and one bridge process throughout; worker processes: 1, then 2, then 1 again (the mean of the two one-worker runs is the baseline); load generator in a process of its own',
        partitions: cfg.BELTLINE_RAW_PARTITIONS,
        batchMaxInFlight,
        eventsPerRequest: 10,
        concurrency: s.concurrency,
        warmupEvents: s.warmupEvents,
      },
    };
  } catch (err) {
    throw new Error(`scale-out bench failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await bench.tearDown();
  }
}
