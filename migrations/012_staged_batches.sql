-- The claim check of the hot path: the bridge stages a batch's Kafka records here before it starts
-- the batch's workflow, whose input only names the batch. Events stay out of Temporal's history
-- (and so does their PII), and a failed batch can be replayed after Kafka's retention dropped its
-- records. A batch's row is marked done in the transaction that stores its events, and purged later.
CREATE TABLE staged_batches (
  batch_id     text PRIMARY KEY,
  topic        text NOT NULL,
  partition    int NOT NULL,
  first_offset bigint NOT NULL,
  last_offset  bigint NOT NULL,
  record_count int NOT NULL,
  -- JSON array of {offset, value, timestamp}: text, as JSON escapes what PostgreSQL text refuses (NUL).
  records      text NOT NULL,
  staged_at    timestamptz NOT NULL DEFAULT now(),
  done_at      timestamptz
);
CREATE INDEX staged_batches_done ON staged_batches (done_at) WHERE done_at IS NOT NULL;

-- Queued belts and actions find a batch's events by the batch that stored them.
CREATE INDEX events_batch ON events (batch_id);

-- An event is identified by its id alone, whatever its timestamps: a tracker retrying an event
-- with a new derived time is the same event. The event store is partitioned by month of event
-- time, so its key must include the time; this table holds the id alone, and an event is stored
-- (and its belts run) only if its id is new here.
CREATE TABLE event_ids (
  event_id   text PRIMARY KEY,
  event_type text NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO event_ids (event_id, event_type, created_at)
  SELECT DISTINCT ON (event_id) event_id, event_type, created_at FROM events ORDER BY event_id, created_at
  ON CONFLICT DO NOTHING;
CREATE INDEX event_ids_type_created ON event_ids (event_type, created_at);
