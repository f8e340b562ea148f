import crypto from 'node:crypto';
import { buildPageView, buildStructEvent, type PayloadBuilder } from '@snowplow/node-tracker';
import { addToCart, sendEvents } from '../test/support/tracker';

/**
 * `npm run demo`: sends a short visit with Snowplow's own Node tracker to the running collector
 * and prints the profile the example belt builds from it.
 */

const WAIT_MS = 30_000;

const VISIT: PayloadBuilder[] = [
  buildPageView({ pageUrl: 'https://shop.example/', pageTitle: 'Shop' }),
  buildPageView({ pageUrl: 'https://shop.example/shoes', pageTitle: 'Shoes' }),
  buildStructEvent({ category: 'catalog', action: 'filter', label: 'colour', property: 'red' }),
  buildPageView({ pageUrl: 'https://shop.example/shoes/red-runner', pageTitle: 'Red Runner' }),
  buildStructEvent({ category: 'product', action: 'zoom', label: 'red-runner', value: 2 }),
  addToCart('red-runner-42', 1, 89.9),
];

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

interface Profile {
  id: string;
  document: { counts?: Record<string, number> };
}

/** Events the example belt has counted into the profile (it counts each event by name). */
const counted = (p: Profile) => Object.values(p.document?.counts ?? {}).reduce((a, b) => a + b, 0);

async function fetchProfile(base: string, key: string, user: string): Promise<{ profile?: Profile; status: string }> {
  try {
    const res = await fetch(`${base}/projects/default/profiles/${encodeURIComponent(user)}`, { headers: { authorization: `Bearer ${key}` } });
    if (res.ok) return { profile: (await res.json()) as Profile, status: '200' };
    if (res.status === 401 || res.status === 403) fail(`The collector refused the admin key (${res.status}): set BELTLINE_ADMIN_KEY to the key \`npm start\` printed.`);
    return { status: String(res.status) };
  } catch (err) {
    return { status: err instanceof Error ? err.message : String(err) };
  }
}

/** Polls until the profile holds the whole visit; after the wait, whatever profile there is. */
async function waitForProfile(base: string, key: string, user: string, events: number): Promise<Profile | undefined> {
  const deadline = Date.now() + WAIT_MS;
  let latest: Profile | undefined;
  let status = '';
  while (Date.now() < deadline) {
    const answer = await fetchProfile(base, key, user);
    status = answer.status;
    latest = answer.profile ?? latest;
    if (latest && counted(latest) >= events) return latest;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (!latest) console.error(`Last answer of GET /projects/default/profiles/${user}: ${status}`);
  return latest;
}

async function main(): Promise<void> {
  const port = Number(process.env.BELTLINE_HTTP_PORT ?? 8080);
  const base = `http://127.0.0.1:${port}`;
  // Profiles are personal data: reading one takes the admin key, as any client's read does.
  const key = process.env.BELTLINE_ADMIN_KEY;
  if (!key) fail('Reading the profile needs the admin key: BELTLINE_ADMIN_KEY=<the key `npm start` printed> npm run demo');
  const health = await fetch(`${base}/health`).catch(() => undefined);
  if (!health?.ok) fail(`No beltline collector answers at ${base}. Start it first with \`npm start\` (in another terminal).`);

  const user = `demo-user-${crypto.randomBytes(3).toString('hex')}`;
  const ids = await sendEvents({ port, count: VISIT.length, userId: user, appId: 'beltline-demo', bufferSize: 1, event: (i) => VISIT[i] }).catch(
    (err: unknown) => fail(`Sending the visit failed: ${err instanceof Error ? err.message : String(err)}`),
  );
  console.log(`Sent ${ids.length} events for ${user} with @snowplow/node-tracker to ${base}; waiting for the profile…`);

  const profile = await waitForProfile(base, key, user, ids.length);
  if (!profile) fail(`The profile of ${user} did not appear within ${WAIT_MS / 1000} s: is the worker running? (see the npm start terminal)`);
  if (counted(profile) < ids.length) console.error(`Note: the profile shows ${counted(profile)} of ${ids.length} events after ${WAIT_MS / 1000} s.`);
  console.log(JSON.stringify(profile, null, 2));
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
