import crypto from 'node:crypto';
import { buildPageView, buildSelfDescribingEvent, buildStructEvent } from '@snowplow/node-tracker';
import { snowplowTracker } from '../test/support/tracker';

/**
 * `npm run demo`: sends a visit with Snowplow's own Node tracker to the running collector and
 * prints the profile the example belt builds from it.
 */
async function main(): Promise<void> {
  const base = process.env.BELTLINE_URL ?? `http://127.0.0.1:${process.env.BELTLINE_HTTP_PORT ?? 8080}`;
  const health = await fetch(`${base}/health`).catch(() => undefined);
  if (!health?.ok) {
    console.error(`No beltline collector answers at ${base}. Start it first with \`npm start\` (in another terminal).`);
    process.exit(1);
  }
  const user = `demo-user-${crypto.randomBytes(3).toString('hex')}`;
  const session = snowplowTracker(base, { appId: 'beltline-demo', bufferSize: 1 });
  session.tracker.setUserId(user);
  for (const page of ['/', '/shoes', '/shoes/red-runner']) {
    session.tracker.track(buildPageView({ pageUrl: `https://shop.example${page}`, pageTitle: `Shop ${page}` }));
  }
  session.tracker.track(buildStructEvent({ category: 'product', action: 'zoom', label: 'red-runner' }));
  session.tracker.track(
    buildSelfDescribingEvent({
      event: {
        schema: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0',
        data: { sku: 'red-runner-42', name: 'Red Runner', quantity: 1, unitPrice: 89.9, currency: 'EUR' },
      },
    }),
  );
  await session.flush();
  console.log(`Sent 5 events for ${user} with @snowplow/node-tracker to ${base}; waiting for the profile…`);

  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/api/v1/profiles/${encodeURIComponent(user)}`);
    if (res.ok) {
      const profile = (await res.json()) as { document: { counts?: Record<string, number> } };
      const counted = Object.values(profile.document.counts ?? {}).reduce((a, b) => a + b, 0);
      if (counted >= 5) {
        console.log(JSON.stringify(profile, null, 2));
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  console.error(`The profile of ${user} did not appear within 30 s: is the worker running? (see the npm start terminal)`);
  process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
