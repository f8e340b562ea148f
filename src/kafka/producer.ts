import type { LogEntry, Producer } from 'kafkajs';
import type { Config } from '../config';
import { logger } from '../log';
import { kafkaProduceRequests } from '../metrics';
import { Coalescer } from './coalesce';
import { Kafka, logLevel } from './kafkajs';
import { FastDefaultPartitioner } from './partitioner';
import { chunkByBytes, MAX_RECORD_BYTES, MAX_REQUEST_BYTES, recordBytes, type OutgoingMessage } from './produce-chunks';

export { MAX_RECORD_BYTES, MAX_REQUEST_BYTES, type OutgoingMessage } from './produce-chunks';

const log = logger('kafka');

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// Fail fast: the collector must answer 503 promptly when Kafka is away, not hang.
const RETRY = { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 };

export function createKafka(cfg: Config, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: cfg.kafkaBrokers,
    connectionTimeout: 2000,
    requestTimeout: 10000,
    retry: RETRY,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // Bounded retries are our choice (see ResilientProducer): said once in the code, not per producer at every start.
        const lvl = message.startsWith('Limiting retries for the idempotent producer') ? 'debug' : (LEVELS[level] ?? 'info');
        log[lvl]({ ...rest, clientId }, message);
      },
  });
}

/**
 * A message Kafka would refuse whatever we do (over MAX_RECORD_BYTES): retrying cannot help, so
 * callers catch this to park the message (bad row, dead letter) instead of failing forever.
 * Thrown before anything of the send went out.
 */
export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
  constructor(
    readonly topic: string,
    /** The message's position in the send. */
    readonly index: number,
    readonly bytes: number,
    readonly limit: number = MAX_RECORD_BYTES,
  ) {
    super(`a message for ${topic} takes ${bytes} bytes, over the ${limit} a Kafka record may have`);
  }
}

export interface SendOptions<M extends OutgoingMessage> {
  /**
   * What to send instead of a message too large for Kafka (null: nothing), e.g. a truncated
   * stand-in. Without it, such a message fails the whole send with RecordTooLargeError.
   */
  oversized?: (message: M, error: RecordTooLargeError) => OutgoingMessage | null;
}

export interface ProducerOptions {
  /** How long a coalesced message (enqueue) waits for others to share its produce request. */
  lingerMs?: number;
}

/** The linger of enqueue when not configured: long enough for concurrent requests to meet. */
export const DEFAULT_LINGER_MS = 2;

/**
 * A producer that (re)connects on demand, so the collector can start, or keep serving, while
 * Kafka is down and answer 503 until it is back. Idempotent: a produce kafkajs retries after a
 * lost answer is not written twice.
 */
export class ResilientProducer {
  private producer: Producer;
  private connecting: Promise<void> | null = null;
  private connected = false;
  private readonly knownTopics = new Set<string>();
  private readonly coalescers = new Map<string, Coalescer<OutgoingMessage>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: ProducerOptions = {},
  ) {
    this.producer = this.create();
  }

  private create(): Producer {
    const p = this.kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: FastDefaultPartitioner,
      // kafkajs's documented conditions for exactly-once writes: acks = -1 (every send below)
      // and one request in flight. Its default for idempotence is endless retries; the bounded
      // ones keep "Kafka is down" a prompt 503 (kafkajs's warning about that is logged at debug):
      // a request given up on is failed to its callers, whose retry is at least once.
      idempotent: true,
      maxInFlightRequests: 1,
      retry: RETRY,
    });
    p.on(p.events.DISCONNECT, () => {
      this.connected = false;
    });
    p.on(p.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Produce') kafkaProduceRequests.inc({ client: e.payload.clientId });
    });
    return p;
  }

  private async ensureConnected(): Promise<void> {
    if (this.connected) return;
    this.connecting ??= this.producer
      .connect()
      .then(() => {
        this.connected = true;
      })
      .finally(() => {
        this.connecting = null;
      });
    await this.connecting;
  }

  /**
   * Sends messages, in order, in produce requests of at most MAX_REQUEST_BYTES; resolves only once
   * every replica in sync acknowledged each (acks = all). A message over MAX_RECORD_BYTES fails the
   * send with RecordTooLargeError before anything is sent, unless `oversized` replaces it. If a
   * later request fails, the earlier ones stay written: callers retry the whole send, at least once.
   */
  async send<M extends OutgoingMessage>(topic: string, messages: readonly M[], opts: SendOptions<M> = {}): Promise<void> {
    const fitting: OutgoingMessage[] = [];
    messages.forEach((m, i) => {
      const bytes = recordBytes(m);
      if (bytes <= MAX_RECORD_BYTES) {
        fitting.push(m);
        return;
      }
      const err = new RecordTooLargeError(topic, i, bytes);
      if (!opts.oversized) throw err;
      const instead = opts.oversized(m, err);
      log.warn({ topic, index: i, bytes, limit: MAX_RECORD_BYTES, replaced: instead !== null }, 'a message too large for Kafka was parked');
      if (instead === null) return;
      const insteadBytes = recordBytes(instead);
      if (insteadBytes > MAX_RECORD_BYTES) throw new RecordTooLargeError(topic, i, insteadBytes);
      fitting.push(instead);
    });
    for (const chunk of chunkByBytes(fitting, MAX_REQUEST_BYTES)) await this.produce(topic, chunk);
  }

  /**
   * Sends one message in a produce request shared with the other messages enqueued for the topic
   * at about the same time; resolves once Kafka acknowledged that request, rejects with its error.
   */
  enqueue(topic: string, message: OutgoingMessage): Promise<void> {
    const bytes = recordBytes(message);
    if (bytes > MAX_RECORD_BYTES) return Promise.reject(new RecordTooLargeError(topic, 0, bytes));
    let c = this.coalescers.get(topic);
    if (!c) {
      c = new Coalescer<OutgoingMessage>({
        lingerMs: this.opts.lingerMs ?? DEFAULT_LINGER_MS,
        // One batch is one produce request: its failure is its callers' alone.
        maxBytes: MAX_REQUEST_BYTES,
        sizeOf: recordBytes,
        send: (batch) => this.produce(topic, batch),
      });
      this.coalescers.set(topic, c);
    }
    return c.add(message);
  }

  /** One produce request (the messages fit in one). */
  private async produce(topic: string, messages: OutgoingMessage[]): Promise<void> {
    await this.ensureConnected();
    try {
      await this.producer.send({ topic, messages, acks: -1 });
    } catch (err) {
      // A broken connection is not always reported as a disconnect; start afresh next time.
      this.connected = false;
      await this.producer.disconnect().catch(() => undefined);
      this.producer = this.create();
      throw err;
    }
  }

  /** Creates a topic unless it exists: beltline's broker does not create topics on first write. */
  async ensureTopic(topic: string, numPartitions = 1): Promise<void> {
    if (this.knownTopics.has(topic)) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) {
        // false (not an error) when another process created it first
        await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
      }
      this.knownTopics.add(topic);
    } finally {
      await admin.disconnect();
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
