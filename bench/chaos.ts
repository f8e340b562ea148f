/**
 * `npm run chaos`: the fault campaign (see chaos-campaign.ts). One JSON line on stdout, nothing
 * else; the campaign's own log and the beltline processes' logs go to $BELTLINE_HOME/logs/chaos*.log.
 * Exit code 0 when every scenario lost nothing, doubled nothing, kept every process running and
 * recovered; 1 when a scenario found a fault; 2 when the campaign could not run.
 *
 * This process's own modules log nothing (stdout is for the result): the level is set before any
 * of beltline's modules is loaded (src/log reads it once), hence the dynamic imports.
 */
export {};

process.env.CHAOS_ROLE_LOG_LEVEL ??= 'info';
process.env.BELTLINE_LOG_LEVEL = 'silent';

type Campaign = typeof import('./chaos-campaign');
let campaign: Campaign | undefined;

async function main(): Promise<number> {
  campaign = await import('./chaos-campaign');
  const report = await campaign.runCampaign();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return report.ok ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`chaos: ${signal}, stopping what it started and bringing the stack back up\n`);
    const aborted = campaign ? campaign.abortCampaign() : Promise.resolve();
    void aborted.finally(() => process.exit(130));
  });
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
