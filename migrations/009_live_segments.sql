-- What a belt made of an event besides profile updates: live-segment rows and actions.
ALTER TABLE belt_outputs ADD COLUMN direct jsonb NOT NULL DEFAULT '[]';
ALTER TABLE belt_outputs ADD COLUMN actions jsonb NOT NULL DEFAULT '[]';

-- One row per version of a live segment's table; the highest version takes new rows. Kept when
-- the event type is deleted, so its table (and data) is never orphaned silently.
CREATE TABLE live_segments (
  project     text NOT NULL,
  name        text NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  table_name  text NOT NULL,
  schema      jsonb NOT NULL,
  columns     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, name, version),
  UNIQUE (table_name)
);

-- Rows a segment's schema refused (or PostgreSQL could not store), with the reason, until a
-- redrive after a schema fix writes them.
CREATE TABLE segment_dead_letters (
  id          bigserial PRIMARY KEY,
  project     text NOT NULL,
  segment     text NOT NULL,
  version     integer NOT NULL,
  row_id      text NOT NULL,
  row         jsonb NOT NULL,
  reason      jsonb NOT NULL,
  event_id    text NOT NULL,
  belt        text NOT NULL,
  event_at    timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  attempts    integer NOT NULL DEFAULT 1,
  redriven_at timestamptz,
  UNIQUE (event_id, belt, segment, row_id)
);
CREATE INDEX segment_dead_letters_open ON segment_dead_letters (project, segment, id) WHERE redriven_at IS NULL;
