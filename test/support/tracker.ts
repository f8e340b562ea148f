import {
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  newTracker,
  type PayloadBuilder,
  type Tracker,
} from '@snowplow/node-tracker';

export interface TrackedSession {
  tracker: Tracker;
  /** Event ids of everything tracked, in order. */
  tracked: string[];
  /** Event ids the collector acknowledged (2xx). */
  acknowledged: string[];
  /** Events whose request failed. */
  failed: number;
  /** Sends what is buffered and waits until every tracked event was acknowledged or failed. */
  flush(timeoutMs?: number): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records the id of every event the tracker accepts, so a flush knows what to wait for. */
function recordTracked(tracker: Tracker, tracked: string[]): void {
  const track = tracker.track;
  tracker.track = (...args) => {
    const payload = track(...args);
    if (payload?.eid !== undefined) tracked.push(String(payload.eid));
    return payload;
  };
}

/**
 * Snowplow's own Node tracker pointed at a beltline collector, recording which events the
 * collector acknowledged so a test can check that exactly those arrive.
 */
export function snowplowTracker(
  baseUrl: string,
  opts: {
    appId?: string;
    bufferSize?: number;
    encodeBase64?: boolean;
    /** The tracker's own option: the path it posts to, query string included (as a project's write key, ?wk=). */
    postPath?: string;
    /** The tracker's own option: headers sent with every request (as Authorization). */
    customHeaders?: Record<string, string>;
  } = {},
): TrackedSession {
  const url = new URL(baseUrl);
  const session: TrackedSession = {
    tracker: undefined as unknown as Tracker,
    tracked: [],
    acknowledged: [],
    failed: 0,
    flush: async (timeoutMs = 30_000) => {
      // tracker.flush() returns at once while a flush the buffer started is still sending, and
      // the emitter reports outcomes on a later tick: so flush, then wait for the outcomes.
      const deadline = Date.now() + timeoutMs;
      while (session.acknowledged.length + session.failed < session.tracked.length) {
        if (Date.now() > deadline) {
          const pending = session.tracked.length - session.acknowledged.length - session.failed;
          throw new Error(`${pending} of ${session.tracked.length} events still unanswered by ${baseUrl} after ${timeoutMs} ms`);
        }
        await session.tracker.flush();
        await sleep(10);
      }
    },
  };
  session.tracker = newTracker(
    { namespace: 'beltline-test', appId: opts.appId ?? 'beltline-test', encodeBase64: opts.encodeBase64 ?? true },
    {
      endpoint: url.hostname,
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      port: Number(url.port) || undefined,
      eventMethod: 'post',
      ...(opts.postPath === undefined ? {} : { postPath: opts.postPath }),
      ...(opts.customHeaders === undefined ? {} : { customHeaders: opts.customHeaders }),
      bufferSize: opts.bufferSize ?? 10,
      retryFailedRequests: false,
      onRequestSuccess: (batch) => {
        for (const p of batch) session.acknowledged.push(String(p.eid));
      },
      onRequestFailure: (failure) => {
        session.failed += failure.events.length;
      },
    },
  );
  recordTracked(session.tracker, session.tracked);
  return session;
}

export const ADD_TO_CART = 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0';

/** The default event mix of sendEvents: page views, every fourth a structured event. */
export function defaultEvent(i: number): PayloadBuilder {
  return i % 4 === 3
    ? buildStructEvent({ category: 'product', action: 'zoom', label: `item-${i}`, value: i })
    : buildPageView({ pageUrl: `https://shop.example/p/${i}`, pageTitle: `Page ${i}` });
}

export function addToCart(sku: string, quantity = 1, unitPrice = 10): PayloadBuilder {
  return buildSelfDescribingEvent({ event: { schema: ADD_TO_CART, data: { sku, quantity, unitPrice, currency: 'EUR' } } });
}

export interface SendEventsOptions {
  port: number;
  /** How many events to send. */
  count: number;
  /** The tracker's user id (`uid`, `user_id`). */
  userId: string;
  host?: string;
  appId?: string;
  bufferSize?: number;
  /** The i-th event; defaultEvent when unset. */
  event?: (i: number) => PayloadBuilder;
}

/**
 * Sends events with Snowplow's Node tracker (tp2 POST) to the collector on `host:port` and
 * resolves with their event ids, in the order sent, once the collector acknowledged every one;
 * rejects when any request failed or went unanswered.
 */
export async function sendEvents(opts: SendEventsOptions): Promise<string[]> {
  const session = snowplowTracker(`http://${opts.host ?? '127.0.0.1'}:${opts.port}`, {
    appId: opts.appId,
    bufferSize: opts.bufferSize ?? 10,
  });
  session.tracker.setUserId(opts.userId);
  for (let i = 0; i < opts.count; i++) session.tracker.track((opts.event ?? defaultEvent)(i));
  await session.flush();
  if (session.failed > 0) throw new Error(`the collector on port ${opts.port} refused ${session.failed} of ${opts.count} events`);
  return session.tracked;
}

export interface CapturedRequest {
  method: string;
  url: URL;
  /** The parsed JSON body of a POST. */
  body?: unknown;
}

/**
 * Snowplow's Node tracker with its HTTP replaced: every request is recorded and answered with
 * `status`. It shows exactly what the tracker sends, without a collector.
 */
export function capturingTracker(opts: { eventMethod?: 'post' | 'get'; encodeBase64?: boolean; bufferSize?: number; status?: number } = {}) {
  const requests: CapturedRequest[] = [];
  const tracker = newTracker(
    { namespace: 'capture', appId: 'capture-app', encodeBase64: opts.encodeBase64 ?? true },
    {
      endpoint: 'collector.test',
      eventMethod: opts.eventMethod ?? 'post',
      bufferSize: opts.bufferSize ?? 100,
      retryFailedRequests: false,
      customFetch: async (req: Request) => {
        const body = req.method === 'POST' ? ((await req.json()) as unknown) : undefined;
        requests.push({ method: req.method, url: new URL(req.url), body });
        return new Response(null, { status: opts.status ?? 200 });
      },
    },
  );
  return { tracker, requests, flush: () => tracker.flush() };
}
