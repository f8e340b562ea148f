/** Snowplow's bad-row types that beltline produces. */
export type BadRowType =
  | 'collector_payload_format_violation'
  | 'tracker_protocol_violations'
  | 'adapter_failures'
  | 'schema_violations'
  | 'size_violation';

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
