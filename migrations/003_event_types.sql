-- Event types (seed 001): every event belongs to one; live segments define a table by schema.
CREATE TABLE event_types (
  project                   text NOT NULL,
  name                      text NOT NULL,
  display_name              text NOT NULL,
  description               text NOT NULL DEFAULT '',
  type                      text NOT NULL CHECK (type IN ('data_in', 'live_segment', 'time_to_live', 'time_to_notify')),
  event_id_expression       text NOT NULL,
  timestamp_expression      text NOT NULL,
  correlation_id_expression text NOT NULL,
  eventstore_ttl            text,
  schema                    jsonb,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, name)
);

-- Tracker events land in `snowplow` unless harvesters route them further.
INSERT INTO event_types (project, name, display_name, description, type, event_id_expression, timestamp_expression, correlation_id_expression, eventstore_ttl)
VALUES (current_setting('beltline.project'), 'snowplow', 'Snowplow events', 'Every good event from Snowplow trackers, enriched', 'data_in',
        '$.event_id', '$.derived_tstamp', '#snowplowUser()', 'P30D');

-- Harvesters (seed 001): a source, a sandboxed transform, a target event type.
CREATE TABLE harvesters (
  project     text NOT NULL,
  name        text NOT NULL,
  definition  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, name)
);
