/** Snowplow's bad-row types that beltline produces. */
export type BadRowType =
  | 'collector_payload_format_violation'
  | 'tracker_protocol_violations'
  | 'adapter_failures'
  | 'schema_violations'
  | 'size_violation'
  | 'loader_parsing_error';

export interface BadRow {
  schema: string;
  data: {
    processor: { artifact: string; version: string };
    failure: Record<string, unknown>;
    payload: unknown;
  };
}

export const PROCESSOR = { artifact: 'beltline', version: '0.1.0' } as const;

const VERSIONS: Record<BadRowType, string> = {
  collector_payload_format_violation: '1-0-0',
  tracker_protocol_violations: '1-0-0',
  adapter_failures: '1-0-0',
  schema_violations: '2-0-0',
  size_violation: '1-0-0',
  loader_parsing_error: '2-0-0',
};

/** A self-describing bad row in Snowplow's format (`iglu:com.snowplowanalytics.snowplow.badrows/...`). */
export function badRow(type: BadRowType, failure: Record<string, unknown>, payload: unknown): BadRow {
  return {
    schema: `iglu:com.snowplowanalytics.snowplow.badrows/${type}/jsonschema/${VERSIONS[type]}`,
    data: { processor: { ...PROCESSOR }, failure: { timestamp: new Date().toISOString(), ...failure }, payload },
  };
}

export function badRowType(row: BadRow): BadRowType {
  return row.schema.split('/')[1] as BadRowType;
}

/** How much of an oversized bad row a size_violation stand-in keeps. */
export const SIZE_VIOLATION_KEEP_CHARS = 10_000;

/**
 * The stand-in Snowplow publishes when a bad row is too large for its sink: a size_violation
 * with the start of the original. Used for the Kafka copy of a bad row Kafka would refuse (the
 * stored row keeps it whole).
 */
export function sizeViolation(original: string, actualSizeBytes: number, maximumAllowedSizeBytes: number): BadRow {
  return badRow(
    'size_violation',
    { maximumAllowedSizeBytes, actualSizeBytes, expectation: 'a bad row must fit in a Kafka record' },
    { line: original.slice(0, SIZE_VIOLATION_KEEP_CHARS) },
  );
}

/**
 * For ResilientProducer.send's `oversized`: a bad row too large for Kafka goes out as its
 * size_violation stand-in, under the same key.
 */
export function oversizedBadRow<M extends { key?: string | Buffer | null; value: string | Buffer }>(
  message: M,
  error: { bytes: number; limit: number },
): { key?: string | Buffer | null; value: string } {
  return { key: message.key, value: JSON.stringify(sizeViolation(message.value.toString(), error.bytes, error.limit)) };
}
