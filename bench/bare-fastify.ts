import fastify from 'fastify';

/**
 * The collector part's baseline, a process of its own as the collector is: fastify parsing the
 * same tp2 bodies and answering 200, without Kafka. `node dist/bench/bare-fastify.js PORT BODY_LIMIT`;
 * `GET /health` answers `bare` once it accepts.
 */
const TP2 = '/com.snowplowanalytics.snowplow/tp2';

async function main(): Promise<void> {
  const [port, bodyLimit] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(port) || !Number.isInteger(bodyLimit)) throw new Error('usage: bare-fastify.js PORT BODY_LIMIT');
  const app = fastify({ logger: false, bodyLimit });
  app.get('/health', async () => 'bare');
  app.post(TP2, async (req) => ({ accepted: ((req.body as { data?: unknown[] }).data ?? []).length }));
  await app.listen({ host: '127.0.0.1', port });
  const close = (): void => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

main().catch((err: unknown) => {
  process.stderr.write(`bare fastify: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
