/**
 * `npm run bench`: one JSON line per part on stdout, nothing else; BENCH_PARTS (comma-separated)
 * picks some. A failing part ends the bench with exit code 1 and the reason on stderr; child
 * processes are killed whatever ends it.
 *
 * Logs: the beltline processes the end-to-end and scale-out parts start write theirs to
 * $BELTLINE_HOME/logs/bench-<phase>-<role>.log at BENCH_ROLE_LOG_LEVEL (else BELTLINE_LOG_LEVEL,
 * else info). This process's own modules log nothing: stdout is for the results. So the level
 * is set before any of beltline's modules is loaded (src/log reads it once), hence their dynamic
 * imports below.
 */
import fs from 'node:fs';
import path from 'node:path';

process.env.BENCH_ROLE_LOG_LEVEL ??= process.env.BELTLINE_LOG_LEVEL ?? 'info';
process.env.BELTLINE_LOG_LEVEL = 'silent';

type Part = () => Promise<Record<string, unknown>>;

const PARTS: Record<string, Part> = {
  'end-to-end': async () => (await import('./end-to-end')).benchEndToEnd(),
  collector: async () => (await import('./collector')).benchCollector(),
  sandbox: async () => (await import('./sandbox')).benchSandbox(),
  profiles: async () => (await import('./profiles')).benchProfiles(),
  segments: async () => (await import('./segments')).benchSegments(),
  'scale-out': async () => (await import('./scale-out')).benchScaleOut(),
};

async function main(): Promise<void> {
  const wanted = (process.env.BENCH_PARTS ?? Object.keys(PARTS).join(',')).split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = wanted.filter((p) => !PARTS[p]);
  if (unknown.length > 0) throw new Error(`BENCH_PARTS: unknown part ${unknown.join(', ')} (known: ${Object.keys(PARTS).join(', ')})`);
  const { loadConfig } = await import('../src/config');
  const { stackUp } = await import('../src/stack');
  await stackUp(loadConfig());
  for (const part of wanted) console.log(JSON.stringify(await PARTS[part]()));
}

async function killChildren(): Promise<void> {
  const { stopAll } = await import('./procs');
  await stopAll();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping the processes it started\n`);
    void killChildren().finally(() => process.exit(130));
  });
}

main()
  .then(() => killChildren())
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    await killChildren().catch(() => undefined);
    const kept = await keepLogs().catch(() => undefined);
    if (kept) process.stderr.write(`bench: the failed run's logs are kept in ${kept}\n`);
    process.exit(1);
  });

/**
 * The next run overwrites the role logs, which lost the only record of a stall (a 5,000 events/s
 * phase that made no progress for 60 s and did not recur): a failed run's are copied aside.
 */
async function keepLogs(): Promise<string | undefined> {
  const { loadConfig } = await import('../src/config');
  const { paths } = await import('../src/stack/services');
  const dir = paths(loadConfig()).logs;
  // This run's: written since it started.
  const started = Date.now() - process.uptime() * 1000;
  const logs = fs.readdirSync(dir).filter((f) => f.startsWith('bench-') && f.endsWith('.log') && fs.statSync(path.join(dir, f)).mtimeMs >= started);
  if (logs.length === 0) return undefined;
  const into = path.join(dir, `bench-failed-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(into);
  for (const f of logs) fs.copyFileSync(path.join(dir, f), path.join(into, f));
  return into;
}
