import crypto from 'node:crypto';
import { admin } from '../support/beltline';
import { goTo, openConsole, setEditor, signIn, type ConsoleSession } from '../support/console';
import { freshTopic } from '../support/kafka';

const PORT = 18191;

/** Seed 001's Steps 2 and 3 in the console: event types made in the form, their schemas checked as typed, their events browsed live. */
describe('console: event types and the event browser', () => {
  const s = crypto.randomBytes(3).toString('hex');
  const dataIn = `ce-in-${s}`;
  const segment = `ce-seg-${s}`;
  let c: ConsoleSession;

  beforeAll(async () => {
    // A topic of its own: the events sent here must not queue behind other tests' backlog.
    const { topic, group } = await freshTopic('console-events');
    c = await openConsole({ port: PORT, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: `console-events-${s}` } });
    c.page.setDefaultTimeout(8000);
    await signIn(c);
    await goTo(c, '#/event-types');
  }, 600_000);

  afterAll(async () => {
    if (c) {
      for (const name of [dataIn, segment]) await admin(c.beltline.url, 'DELETE', `/projects/default/event-types/${name}`).catch(() => undefined);
      await c.close();
    }
  });

  /** Chromium logs each 4xx answer as a console error itself; those the test provokes are expected. */
  const expectRefusals = (status: number): void => {
    expect(c.problems.filter((p) => !p.includes(`status of ${status}`))).toEqual([]);
    c.problems.length = 0;
  };

  test('a data_in type is created in the form (seed 001 step 2)', async () => {
    const { page } = c;
    await page.click('text=New event type');
    await page.fill('input[name=displayName]', `livesegment-datain ${s}`);
    await page.fill('input[name=name]', dataIn);
    await page.fill('input[name=description]', 'Live Segment DataIn Event Type');
    await page.fill('input[name=eventIdExpression]', '$.id');
    await page.fill('input[name=correlationIdExpression]', '$.user');
    await page.fill('input[name=eventstoreTTL]', 'P1D');
    // A data_in type has no schema (only live_segment types take one): no editor is offered.
    expect(await page.locator('[data-editor=schema]').count()).toBe(0);
    await page.click('button:text-is("Create")');
    await page.waitForSelector(`tr[data-type="${dataIn}"] .badge:text-is("data_in")`);
    const res = await admin(c.beltline.url, 'GET', `/projects/default/event-types/${dataIn}`);
    expect(await res.json()).toMatchObject({ type: 'data_in', eventIdExpression: '$.id', correlationIdExpression: '$.user', eventstoreTTL: 'P1D' });
  });

  test('a live segment\'s schema is checked as typed: errors are marked and listed, Create is off until it is valid (seed 001 step 3)', async () => {
    const { page } = c;
    await page.click('text=New event type');
    await page.fill('input[name=displayName]', `livesegment-dataoutput ${s}`);
    await page.fill('input[name=name]', segment);
    await page.selectOption('select[name=type]', 'live_segment');
    await page.waitForSelector('[data-editor=schema] .cm-editor');
    const create = page.locator('button:text-is("Create")');

    await setEditor(page, 'schema', '{\n  "type": "strng"\n}');
    await page.waitForSelector('ul.problems li:has-text("must be equal to one of the allowed values")');
    await page.waitForSelector('[data-editor=schema] .cm-lintRange-error');
    expect(await page.textContent('[data-editor=schema] .cm-lintRange-error')).toBe('"strng"');
    expect(await create.isDisabled()).toBe(true);
    await c.shot('event-types-schema-error');

    await setEditor(page, 'schema', '{"type": "object",\n "properties": {');
    await page.waitForSelector('ul.problems li:has-text("not valid JSON")');
    expect(await page.textContent('ul.problems')).toContain('line 2');
    expect(await create.isDisabled()).toBe(true);

    await setEditor(page, 'schema', '{"type": "object", "properties": {"firstName": {"type": "string"}}}');
    await page.waitForSelector('ul.problems li:has-text("must define the property \\"id\\"")');

    // The seed's schema, pasted on one line, then pretty-printed by Format.
    await setEditor(
      page,
      'schema',
      '{"type":"object","title":"The root schema","required":["id","firstName","lastName"],"properties":{"id":{"type":"integer"},"firstName":{"type":"string","default":"325"},"lastName":{"type":"string","default":"325"}},"additionalProperties":true}',
    );
    await page.waitForSelector('.schema-ok');
    expect(await page.locator('[data-editor=schema] .cm-line').count()).toBe(1);
    await page.click('button:text-is("Format")');
    await page.waitForFunction(`document.querySelectorAll('[data-editor=schema] .cm-line').length > 10`);
    expect(await create.isDisabled()).toBe(false);
    await create.click();
    // The list shows the properties as stored (jsonb orders an object's keys its own way).
    const summary = await page.waitForSelector(`tr[data-type="${segment}"] td:has-text("v1: ")`);
    expect(((await summary.textContent()) ?? '').replace('v1: ', '').split(', ').sort()).toEqual(['firstName', 'id', 'lastName']);
    expect(c.problems).toEqual([]);
  });

  test('an incompatible schema change is refused with each change listed, and can be saved as a new version', async () => {
    const { page } = c;
    await page.click(`tr[data-type="${segment}"] button:text-is("Edit")`);
    await page.waitForSelector('[data-editor=schema] .cm-editor');
    await setEditor(page, 'schema', '{"type": "object", "properties": {"id": {"type": "integer"}, "firstName": {"type": "integer"}}}');
    await page.waitForSelector('.schema-ok');
    await page.click('button:text-is("Save")');
    await page.waitForSelector('.server-refusal ul.changes li');
    expect(await page.textContent('.server-refusal')).toContain('409 conflict');
    expect(await page.locator('.server-refusal ul.changes li').allTextContents()).toEqual([
      'property "firstName" changes type from text to bigint',
      'property "lastName" was removed (its column holds data)',
    ]);
    await c.shot('event-types-409');
    expectRefusals(409);

    await page.click('text=Save as version 2');
    await page.waitForSelector(`tr[data-type="${segment}"] td:has-text("v2: ")`);
  });

  test('events show newest first, page Older/Newer, arrive live, filter by correlation id and open as JSON', async () => {
    const { page, beltline } = c;
    const send = async (events: object[]): Promise<void> => {
      const res = await fetch(`${beltline.url}/api/v1/events/${dataIn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(res.status).toBe(200);
    };
    const id = (x: string): string => `${s}-${x}`;
    // 21 events in one request share their arrival time (#nowMillis()): the id orders them.
    await send(Array.from({ length: 21 }, (_, i) => ({ id: id(`b${String(i).padStart(2, '0')}`), user: 'bulk' })));
    await send([{ id: id('e1'), user: 'alice', n: 1 }]);
    await send([{ id: id('e2'), user: 'bob', n: 2 }]);

    await page.click(`tr[data-type="${dataIn}"] button:text-is("Show events")`);
    const browser = page.locator(`[data-browser="${dataIn}"]`);
    const rows = browser.locator('table.events tbody tr');
    const rowCount = (n: number) => page.waitForFunction(`document.querySelectorAll(${JSON.stringify(`[data-browser="${dataIn}"] table.events tbody tr`)}).length === ${n}`);
    const ids = async (): Promise<string[]> => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event') ?? ''));
    await browser.locator(`tr[data-event="${id('e2')}"]`).waitFor({ timeout: 30_000 });
    await rowCount(20);
    expect(await ids()).toEqual([id('e2'), id('e1'), ...Array.from({ length: 18 }, (_, i) => id(`b${String(20 - i).padStart(2, '0')}`))]);

    await browser.locator('button:text-is("Older")').click();
    await browser.locator(`tr[data-event="${id('b00')}"]`).waitFor();
    expect(await ids()).toEqual([id('b02'), id('b01'), id('b00')]);
    expect(await browser.locator('button:text-is("Older")').isDisabled()).toBe(true);
    await browser.locator('button:text-is("Newer")').click();
    await browser.locator(`tr[data-event="${id('e2')}"]`).waitFor();

    // Live: a new event comes in at the top while the browser is open.
    await send([{ id: id('e3'), user: 'alice', n: 3 }]);
    await browser.locator(`tr[data-event="${id('e3')}"]`).waitFor({ timeout: 30_000 });
    expect((await ids()).slice(0, 3)).toEqual([id('e3'), id('e2'), id('e1')]);

    await browser.locator('input[name=correlationId]').fill('alice');
    await browser.locator('button:text-is("Filter")').click();
    await rowCount(2);
    expect(await ids()).toEqual([id('e3'), id('e1')]);

    await browser.locator(`tr[data-event="${id('e1')}"]`).click();
    const shown = JSON.parse((await browser.locator('.event-view pre.json').textContent()) ?? '{}') as { eventId: string; correlationId: string; payload: unknown };
    expect(shown).toMatchObject({ eventId: id('e1'), correlationId: 'alice', payload: { id: id('e1'), user: 'alice', n: 1 } });
    await c.shot('event-types-browser');
  }, 60_000);

  test('no page errors appeared in the browser console', () => {
    expect(c.problems).toEqual([]);
  });
});
