import { Connection } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { Kafka, logLevel } from '../kafka/kafkajs';
import type { DependencyCheck } from './readiness';

/** PostgreSQL answers `select 1` on the process's pool (the probe's timeout bounds the wait for it). */
export function postgresCheck(pool: Pool, required: boolean): DependencyCheck {
  return { name: 'postgres', required, check: async () => void (await pool.query('select 1')) };
}

/**
 * A Kafka broker answers a metadata request (describeCluster), through an admin client of the
 * check's own: the roles' producers and consumers connect on demand and say nothing while idle.
 * It tries once and logs nothing: the probe's answer says what failed, every few seconds.
 */
export function kafkaCheck(cfg: Config, required: boolean, timeoutMs: number): DependencyCheck {
  let admin: Admin | undefined;
  let connected: Promise<void> | undefined;
  return {
    name: 'kafka',
    required,
    async check() {
      admin ??= new Kafka({ clientId: 'beltline-ready', brokers: cfg.kafkaBrokers, connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
      const a = admin;
      try {
        await (connected ??= a.connect());
        await a.describeCluster();
      } catch (err) {
        // Start afresh next time: a failed connect is not retried by the client.
        connected = undefined;
        admin = undefined;
        await a.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async close() {
      await admin?.disconnect();
    },
  };
}

/** The Temporal frontend describes the namespace the roles use (it exists, the server answers). */
export function temporalCheck(cfg: Config, required: boolean, timeoutMs: number): DependencyCheck {
  let connection: Promise<Connection> | undefined;
  return {
    name: 'temporal',
    required,
    async check() {
      const current = (connection ??= Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: timeoutMs }));
      try {
        const c = await current;
        await c.withDeadline(Date.now() + timeoutMs, () => c.workflowService.describeNamespace({ namespace: cfg.TEMPORAL_NAMESPACE }));
      } catch (err) {
        // A connection whose connect failed stays failed: the next probe makes a new one.
        if (connection === current) connection = undefined;
        await current.then((c) => c.close()).catch(() => undefined);
        throw err;
      }
    },
    async close() {
      if (connection) await (await connection.catch(() => undefined))?.close();
    },
  };
}
