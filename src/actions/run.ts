import http from 'node:http';
import https from 'node:https';
import { Context } from '@temporalio/activity';
import { selectorWhere } from '../belts/outputs-store';
import { toSelector, type EventSelector } from '../batches/record';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import type { ActionOutput } from '../belts/outputs';
import { DEFAULT_PROJECT } from '../projects/names';
import { logger } from '../log';
import { idempotencyKey, outcomeOf, resolveHeaders, type ActionDefinition, type ActionRetry } from './definition';
import { getAction, listActions } from './store';
import { checkLiteralHost, ForbiddenTargetError, guardedLookup, parseAllowedHosts, type AllowedHosts } from './targets';

const log = logger('actions');

/** One delivery the workflow schedules as its own activity, with the action's retry policy. */
export interface ActionDelivery {
  key: string;
  action: string;
  timeoutMs: number;
  retry: ActionRetry;
}

export interface PreparedActions {
  deliveries: ActionDelivery[];
  /** Actions of the batch recorded as failed without a delivery (not configured). */
  failed: number;
}

export interface DeliveryResult {
  state: 'sent' | 'failed';
  /** Already sent before this attempt (a replay): nothing went out. */
  skipped: boolean;
  status?: number;
}

// Advisory-lock namespace (first int of the two-int form) for "one delivery of a key at a time".
const DELIVERY_LOCK = 7_214_310;
const MAX_ERROR = 500;

/** The error text kept in action_runs.last_error: bounded. */
function clip(s: string): string {
  return s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR)}…` : s;
}

/**
 * The activities behind a belt's actions. `prepareActions` records what the batch's belts asked
 * for (idempotently, keyed) and says what is still to send; `deliverAction` sends one, under an
 * advisory lock so two workflows never send the same key at once, and never sends a key already
 * marked sent.
 */
export function createActionActivities(pool: Pool, env: Record<string, string | undefined> = process.env, project: string = DEFAULT_PROJECT) {
  // Read here, where the deliveries go out: the worker's setting is the one that counts.
  const allowed = parseAllowedHosts(env.BELTLINE_ACTION_ALLOWED_HOSTS);
  return {
    async prepareActions(events: EventSelector | string[]): Promise<PreparedActions> {
      const sel = toSelector(events);
      if ('eventIds' in sel && sel.eventIds.length === 0) return { deliveries: [], failed: 0 };
      const { where, value } = selectorWhere(sel, 1);
      // Only outputs whose profile updates were applied; in event order, so of two decisions
      // sharing a dedupe key the earlier event's is the one recorded.
      const { rows } = await pool.query<{ event_id: string; belt: string; actions: ActionOutput[] }>(
        `SELECT o.event_id, o.belt, o.actions FROM belt_outputs o JOIN events e USING (event_id)
          WHERE ${where} AND o.error IS NULL AND o.applied AND jsonb_array_length(o.actions) > 0
          ORDER BY e.created_at, o.event_id, o.belt`,
        [value],
      );
      if (rows.length === 0) return { deliveries: [], failed: 0 };
      const defs = new Map((await listActions(pool, project)).map((d) => [d.name, d]));
      const runs = new Map<string, { eventId: string; belt: string; name: string; index: number; key: string | null; payload: unknown }>();
      for (const r of rows) {
        r.actions.forEach((a, index) => {
          const k = idempotencyKey({ eventId: r.event_id, belt: r.belt, name: a.name, index, key: a.key });
          if (!runs.has(k)) runs.set(k, { eventId: r.event_id, belt: r.belt, name: a.name, index, key: a.key ?? null, payload: a.payload });
        });
      }
      const keys = [...runs.keys()];
      const all = [...runs.values()];
      const unconfigured = (name: string): string | null => (defs.has(name) ? null : `no action named ${JSON.stringify(name)} is configured (POST /projects/${project}/actions)`);
      const { rows: fresh } = await pool.query<{ idempotency_key: string; action: string; event_id: string; belt: string; last_error: string | null }>(
        `INSERT INTO action_runs (idempotency_key, project, action, event_id, belt, action_index, dedupe_key, payload, state, last_error)
         SELECT k, $1, a, e, b, i, d, p, CASE WHEN err IS NULL THEN 'pending' ELSE 'failed' END, err
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::jsonb[], $9::text[]) AS t(k, a, e, b, i, d, p, err)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING idempotency_key, action, event_id, belt, last_error`,
        [
          project,
          keys,
          all.map((a) => a.name),
          all.map((a) => a.eventId),
          all.map((a) => a.belt),
          all.map((a) => a.index),
          all.map((a) => a.key),
          all.map((a) => JSON.stringify(a.payload)),
          all.map((a) => unconfigured(a.name)),
        ],
      );
      for (const f of fresh) {
        if (f.last_error) log.warn({ action: f.action, eventId: f.event_id, belt: f.belt, reason: f.last_error }, 'action not sent');
      }
      // A replayed batch tries again what failed before, now that the action may be configured
      // (or the receiver fixed); what was sent stays sent.
      await pool.query(
        `UPDATE action_runs r SET state = 'pending', updated_at = now()
          WHERE r.idempotency_key = ANY($1::text[]) AND r.state = 'failed' AND r.action = ANY($2::text[])
            AND NOT (r.idempotency_key = ANY($3::text[]))`,
        [keys, [...defs.keys()], fresh.map((f) => f.idempotency_key)],
      );
      const { rows: state } = await pool.query<{ idempotency_key: string; action: string; state: string }>(
        'SELECT idempotency_key, action, state FROM action_runs WHERE idempotency_key = ANY($1::text[]) ORDER BY created_at, idempotency_key',
        [keys],
      );
      const deliveries: ActionDelivery[] = [];
      let failed = 0;
      for (const s of state) {
        const def = defs.get(s.action);
        if (s.state === 'pending' && def) deliveries.push({ key: s.idempotency_key, action: s.action, timeoutMs: def.timeoutMs, retry: def.retry });
        else if (s.state === 'failed') failed++;
      }
      return { deliveries, failed };
    },

    /**
     * Sends one action unless it was sent already. 2xx: marked sent. 4xx other than 408/429 (and
     * redirects, an unset environment variable, a deleted action): marked failed, non-retryable.
     * Anything else throws for Temporal to retry; the last attempt marks it failed.
     */
    async deliverAction(key: string, maximumAttempts: number): Promise<DeliveryResult> {
      const client = await pool.connect();
      let broken: Error | undefined;
      let locked = false;
      try {
        const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [DELIVERY_LOCK, key]);
        locked = lock[0].ok;
        if (!locked) throw ApplicationFailure.retryable(`action ${key} is being delivered by another worker`, 'ActionBusy');
        const { rows } = await client.query<{ project: string; action: string; event_id: string; belt: string; payload: unknown; state: string; response_status: number | null }>(
          'SELECT project, action, event_id, belt, payload, state, response_status FROM action_runs WHERE idempotency_key = $1',
          [key],
        );
        const run = rows[0];
        if (!run) throw ApplicationFailure.nonRetryable(`no action run ${key}`, 'UnknownActionRun');
        if (run.state === 'sent') return { state: 'sent', skipped: true, status: run.response_status ?? undefined };
        const def = await getAction(pool, run.project, run.action);
        if (!def) {
          await record(client, key, 'failed', null, `no action named ${JSON.stringify(run.action)} is configured`);
          return { state: 'failed', skipped: false };
        }
        await client.query('UPDATE action_runs SET attempts = attempts + 1, updated_at = now() WHERE idempotency_key = $1', [key]);
        let headers: Record<string, string>;
        try {
          headers = resolveHeaders(def.headers, env);
        } catch (err) {
          await record(client, key, 'failed', null, (err as Error).message);
          throw ApplicationFailure.nonRetryable((err as Error).message, 'ActionMisconfigured');
        }
        const attempt = Context.current().info.attempt;
        const last = attempt >= maximumAttempts;
        let status: number;
        let body = '';
        try {
          const res = await send(def, run, key, headers, allowed);
          status = res.status;
          body = res.body;
        } catch (err) {
          if (err instanceof ForbiddenTargetError) {
            // Checked when connecting: the name may resolve elsewhere than at definition.
            const message = `${def.method} ${def.url}: ${err.message}`;
            await record(client, key, 'failed', null, message);
            log.warn({ action: run.action, key, err: message }, 'action target refused');
            throw ApplicationFailure.nonRetryable(message, 'ActionTargetRefused');
          }
          const message = `${def.method} ${def.url}: ${(err as Error).message}`;
          await record(client, key, last ? 'failed' : 'pending', null, message);
          log.warn({ action: run.action, key, attempt, err: message }, 'action delivery failed');
          throw ApplicationFailure.retryable(message, 'ActionDeliveryFailed');
        }
        const outcome = status >= 300 && status < 400 ? 'failed' : outcomeOf(status);
        if (outcome === 'sent') {
          await record(client, key, 'sent', status, null);
          log.info({ action: run.action, key, eventId: run.event_id, belt: run.belt, status, attempt }, 'action sent');
          return { state: 'sent', skipped: false, status };
        }
        const message = clip(`${def.method} ${def.url} answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${body ? `: ${body}` : ''}`);
        log.warn({ action: run.action, key, attempt, status }, 'action delivery refused');
        if (outcome === 'failed') {
          await record(client, key, 'failed', status, message);
          throw ApplicationFailure.nonRetryable(message, 'ActionRefused');
        }
        await record(client, key, last ? 'failed' : 'pending', status, message);
        throw ApplicationFailure.retryable(message, 'ActionDeliveryFailed');
      } catch (err) {
        if (!(err instanceof ApplicationFailure)) broken = err as Error;
        throw err;
      } finally {
        if (locked && !broken) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [DELIVERY_LOCK, key]).catch((e: unknown) => (broken = e as Error));
        // A client that failed mid-way is dropped, which also releases its lock.
        client.release(broken);
      }
    },
  };
}

async function record(client: PoolClient, key: string, state: 'pending' | 'sent' | 'failed', status: number | null, error: string | null): Promise<void> {
  await client.query(
    `UPDATE action_runs SET state = $2, response_status = $3, last_error = $4, updated_at = now(),
            sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
      WHERE idempotency_key = $1`,
    [key, state, status, error === null ? null : clip(error)],
  );
}

/**
 * The HTTP call: the belt's payload as JSON, the idempotency key and where it came from. Made
 * with node:http rather than fetch so that the connection goes to the addresses `guardedLookup`
 * checked; redirects are not followed.
 */
function send(
  def: ActionDefinition,
  run: { action: string; event_id: string; belt: string; payload: unknown },
  key: string,
  headers: Record<string, string>,
  allowed: AllowedHosts,
): Promise<{ status: number; body: string }> {
  const url = new URL(def.url);
  checkLiteralHost(url, allowed);
  const payload = Buffer.from(JSON.stringify(run.payload));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: def.method,
        lookup: guardedLookup(allowed),
        signal: AbortSignal.timeout(def.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'beltline-actions',
          ...headers,
          'content-length': String(payload.length),
          'Idempotency-Key': key,
          'X-Beltline-Action': run.action,
          'X-Beltline-Event-Id': run.event_id,
          'X-Beltline-Belt': run.belt,
        },
      },
      (res) => {
        // Only the start of the answer is kept (for last_error); the rest is drained.
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 300) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, 300) }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, 300) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export type ActionActivities = ReturnType<typeof createActionActivities>;
