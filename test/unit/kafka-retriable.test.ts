import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { retriableKafkaError } from '../../src/stack/services';

/** `stack up` tries its topics again on errors a broker that has just started gives, and only on those. */
describe('retriableKafkaError', () => {
  // What a broker still loading its partitions answers (kafkajs' own error table, code 3).
  const protocolError = (type: string, code: number, retriable: boolean, message: string): KafkaJSProtocolError =>
    new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable }));
  const unknownPartition = protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true, 'This server does not host this topic-partition');

  it('takes the protocol error, and the same error once kafkajs gave up retrying it', () => {
    expect(retriableKafkaError(unknownPartition)).toBe(true);
    expect(retriableKafkaError(new KafkaJSNumberOfRetriesExceeded(unknownPartition, { retryCount: 2, retryTime: 1000 }))).toBe(true);
  });

  it('leaves errors that will not pass', () => {
    const authz = protocolError('TOPIC_AUTHORIZATION_FAILED', 29, false, 'Not authorized to access topics');
    expect(retriableKafkaError(authz)).toBe(false);
    expect(retriableKafkaError(new KafkaJSNumberOfRetriesExceeded(authz, { retryCount: 2, retryTime: 1000 }))).toBe(false);
    expect(retriableKafkaError(new KafkaJSNonRetriableError('no'))).toBe(false);
    expect(retriableKafkaError(new Error('plain'))).toBe(false);
    expect(retriableKafkaError(undefined)).toBe(false);
  });
});
