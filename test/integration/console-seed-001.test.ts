import crypto from 'node:crypto';
import { buildStructEvent } from '@snowplow/node-tracker';
import { goTo, openConsole, setEditor, signIn, type ConsoleSession } from '../support/console';
import { SEED_CALLBACK, SEED_SEGMENT_SCHEMA } from '../support/seed-001';
import { snowplowTracker } from '../support/tracker';

const PORT = 18196;

// Seed 001, step 4: the harvester keeps the test app's events (the seed's Groovy, in JavaScript);
// the person's names travel in a structured event's label and property.
const HARVESTER_SCRIPT = "if (event.app_id !== 'liveSegmenttest') return null;\nreturn { firstName: event.se_label, lastName: event.se_property };";

/**
 * Issue 15's "done when": seed 001's walkthrough, steps 1–6, in the console alone — a project,
 * its two event types, a harvester, the Python belt, tracker events, and the live segment's rows
 * in the segments page and the SQL console. Nothing is set up through the API.
 */
describe('console: seed 001 walkthrough', () => {
  let s: ConsoleSession;

  beforeAll(async () => {
    s = await openConsole({ port: PORT });
  }, 600_000);

  afterAll(async () => {
    await s?.close();
  });

  test('steps 1-6 in the console alone', async () => {
    try {
      await walkthrough();
    } catch (err) {
      await s.shot('seed-001-failure');
      throw err;
    }
  }, 240_000);

  async function walkthrough(): Promise<void> {
    const project = `s${crypto.randomBytes(4).toString('hex')}`;
    const { page } = s;

    // Step 1: a project, then signed in with its own admin key.
    await signIn(s);
    await goTo(s, '#/projects');
    await page.fill('input[name=project-name]', project);
    await page.click('button:has-text("Create project")');
    const keys = JSON.parse((await page.textContent('.notice pre.json')) ?? '{}') as { adminKey: string };
    await page.click('text=Sign out');
    await signIn(s, keys.adminKey);
    expect(await page.textContent('header.top .project strong')).toBe(project);

    // Step 2: the input event type.
    await goTo(s, '#/event-types');
    await page.click('button:has-text("New event type")');
    await page.fill('input[name=displayName]', 'livesegment-datain');
    await page.fill('input[name=description]', 'Live Segment DataIn Event Type');
    await page.fill('input[name=eventstoreTTL]', 'P100Y');
    await page.click('button[type=submit]:has-text("Create")');
    await page.waitForSelector('tr[data-type="livesegment-datain"]');

    // Step 3: the live-segment type, its schema pasted into the editor as the seed has it.
    await page.click('button:has-text("New event type")');
    await page.fill('input[name=displayName]', 'livesegment-dataoutput');
    await page.selectOption('select[name=type]', 'live_segment');
    await setEditor(page, 'schema', SEED_SEGMENT_SCHEMA);
    await page.click('button[type=submit]:has-text("Create")');
    await page.waitForSelector('tr[data-type="livesegment-dataoutp"]');

    // Step 4: the harvester, created and started.
    await goTo(s, '#/harvesters');
    await page.click('button:has-text("New harvester")');
    await page.fill('input[name=displayName]', 'harvesterforlivesegment');
    await page.fill('input[name=name]', 'harvesterforlivesegment');
    await page.selectOption('select[name=eventType]', 'livesegment-datain');
    await setEditor(page, 'harvester transform', HARVESTER_SCRIPT);
    await page.click('button:has-text("Create and start")');
    await page.waitForSelector('tr[data-harvester="harvesterforlivesegment"] .badge:text-is("running")');

    // Step 5: the Python belt, "created and started".
    await goTo(s, '#/belts');
    await page.click('button:has-text("New belt")');
    await page.fill('input[name=belt-name]', 'liveSegement-belt');
    await page.selectOption('select[name=belt-type]', 'python-callback');
    await page.check('input[name=belt-input][value="livesegment-datain"]');
    await page.check('input[name=belt-output][value="livesegment-dataoutp"]');
    await setEditor(page, 'belt source', SEED_CALLBACK);
    await page.click('button:has-text("Create belt")');
    // The belt's own page opens once it is created.
    await page.waitForSelector('[data-belt-action$=":liveSegement-belt"]');
    if ((await page.locator('[data-belt-action="start:liveSegement-belt"]').count()) > 0) await page.click('[data-belt-action="start:liveSegement-belt"]');
    await page.waitForSelector('[data-belt-action="stop:liveSegement-belt"]');

    // Step 6: a tracker sends to the project's collector path; another app's event is dropped.
    const send = async (appId: string, first: string, last: string): Promise<void> => {
      const t = snowplowTracker(s.beltline.url, { appId, postPath: `/p/${project}/com.snowplowanalytics.snowplow/tp2`, bufferSize: 1 });
      t.tracker.track(buildStructEvent({ category: 'person', action: 'register', label: first, property: last }));
      await t.flush();
      expect(t.failed).toBe(0);
    };
    await send('liveSegmenttest', 'Andrew', 'Peterson');
    await send('someOtherApp', 'Bob', 'Other');

    // The row, in the live segments page, then through the SQL console's schema tree.
    await goTo(s, '#/segments/livesegment-dataoutp');
    await page.waitForSelector('table.data td:text-is("Peterson")', { timeout: 90_000 });
    expect(await page.locator('table.data td:text-is("Other")').count()).toBe(0);
    await s.shot('seed-001-segment');
    await goTo(s, '#/sql');
    await page.waitForSelector('[data-table="live_segment_livesegment-dataoutp"]');
    await setEditor(page, 'sql', 'SELECT id, "firstName", "lastName" FROM "live_segment_livesegment-dataoutp"');
    await page.click('button:text-is("Run")');
    await page.waitForSelector('table.data td:text-is("Andrew")');
    await s.shot('seed-001-sql');
    await goTo(s, '#/pipeline');
    await page.waitForSelector('text=liveSegement-belt');
    await s.shot('seed-001-pipeline');
  }

  test('no page errors appeared in the browser console', () => {
    expect(s.problems).toEqual([]);
  });
});
