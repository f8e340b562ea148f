import { newTracker, type Tracker } from '@snowplow/node-tracker';

export interface TrackedSession {
  tracker: Tracker;
  /** Event ids the collector acknowledged (2xx). */
  acknowledged: string[];
  /** Events whose request failed. */
  failed: number;
  /** Sends what is buffered and waits for the answers. */
  flush(): Promise<void>;
}

/**
 * Snowplow's own Node tracker pointed at a beltline collector, recording which events the
 * collector acknowledged so a test can check that exactly those arrive.
 */
export function snowplowTracker(baseUrl: string, opts: { appId?: string; bufferSize?: number; encodeBase64?: boolean } = {}): TrackedSession {
  const url = new URL(baseUrl);
  const session: TrackedSession = {
    tracker: undefined as unknown as Tracker,
    acknowledged: [],
    failed: 0,
    flush: () => session.tracker.flush(),
  };
  session.tracker = newTracker(
    { namespace: 'beltline-test', appId: opts.appId ?? 'beltline-test', encodeBase64: opts.encodeBase64 ?? true },
    {
      endpoint: url.hostname,
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      port: Number(url.port),
      eventMethod: 'post',
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
  return session;
}
