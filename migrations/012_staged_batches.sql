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

