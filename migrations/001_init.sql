-- Events as stored after enrichment: the event store, and the input of belts and backfills.
CREATE TABLE events (
  event_id       text PRIMARY KEY,
  event_type     text NOT NULL,
  correlation_id text NOT NULL,
  created_at     timestamptz NOT NULL,
  headers        jsonb NOT NULL,
  payload        jsonb NOT NULL,
  batch_id       text NOT NULL,
  stored_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_type_created ON events (event_type, created_at);

-- Belt definitions by version: a running batch keeps the version it started with.
CREATE TABLE belts (
  name        text NOT NULL,
  version     text NOT NULL,
  definition  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

-- The version of each belt that new batches run.
CREATE TABLE belt_heads (
  name       text PRIMARY KEY,
  version    text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (name, version) REFERENCES belts (name, version)
);

-- What a belt made of an event. The first result is kept, so a re-run cannot change what may
-- already have been applied; `applied` makes applying idempotent per (event, belt).
CREATE TABLE belt_outputs (
  event_id     text NOT NULL,
  belt         text NOT NULL,
  belt_version text NOT NULL,
  outputs      jsonb NOT NULL DEFAULT '[]',
  error        jsonb,
  applied      boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, belt)
);
CREATE INDEX belt_outputs_errors ON belt_outputs (belt, created_at) WHERE error IS NOT NULL;

-- The profile graph: one nested document per profile id; `stamps` holds, per path written,
-- the (time, event) that wrote it, which is what makes updates converge in any order.
CREATE TABLE profiles (
  id         text PRIMARY KEY,
  document   jsonb NOT NULL DEFAULT '{}',
  stamps     jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Snowplow-format bad rows: nothing is dropped silently.
CREATE TABLE bad_rows (
  id         bigserial PRIMARY KEY,
  row_key    text UNIQUE NOT NULL,
  type       text NOT NULL,
  bad_row    jsonb NOT NULL,
  batch_id   text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bad_rows_type_created ON bad_rows (type, created_at);
