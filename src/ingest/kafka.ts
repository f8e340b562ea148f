import { Kafka, logLevel, Partitioners, type LogEntry, type Producer } from 'kafkajs';
import type { Config } from '../config';
import { logger } from '../log';

const log = logger('kafka');

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(cfg: Config, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: cfg.kafkaBrokers,
    // Fail fast: the collector must answer 503 promptly when Kafka is away, not hang.
    connectionTimeout: 2000,
    requestTimeout: 10000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[LEVELS[level] ?? 'info']({ ...rest, clientId }, message);
      },
  });
}

/**
 * A producer that (re)connects on demand, so the collector can start, or keep serving, while
 * Kafka is down and answer 503 until it is back.
 */
export class ResilientProducer {
  private producer: Producer;
  private connecting: Promise<void> | null = null;
  private connected = false;
  private readonly knownTopics = new Set<string>();

  constructor(private readonly kafka: Kafka) {
    this.producer = this.create();
  }

  private create(): Producer {
    const p = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    p.on(p.events.DISCONNECT, () => {
      this.connected = false;
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

  /** Resolves only once every replica in sync acknowledged the write (acks = all). */
  async send(topic: string, messages: { key?: string; value: string }[]): Promise<void> {
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
