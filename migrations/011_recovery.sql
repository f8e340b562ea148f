-- Bad-row recovery (seed 002). A bad row is recovered at most once: the transaction that publishes
-- its repaired record to `raw` also marks it here, and a run only takes rows not marked.
ALTER TABLE bad_rows
  ADD COLUMN recovered_at  timestamptz,
  ADD COLUMN recovery_run  text,
  ADD COLUMN recovery_flow text,
  -- row_key before recovery renamed it (row_key#recovered-<id>), so that the repaired event, should
  -- it fail again, gets a bad row of its own instead of colliding with this one.
  ADD COLUMN original_key  text;
CREATE INDEX bad_rows_unrecovered ON bad_rows (id) WHERE recovered_at IS NULL;

-- Bad rows a recovery run could not repair, with the reason: failed (a step did not apply, or the
-- result is not an event), unmatched (no flow: "missing configuration") or unrecoverable. One row
-- per bad row, the latest attempt; the same goes to the Kafka topic bad-recovery-failed.
CREATE TABLE recovery_failures (
  bad_row_id   bigint PRIMARY KEY REFERENCES bad_rows (id) ON DELETE CASCADE,
  type         text NOT NULL,
  status       text NOT NULL CHECK (status IN ('failed', 'unmatched', 'unrecoverable')),
  flow         text,
  reason       text NOT NULL,
  recovery_run text NOT NULL,
  attempts     integer NOT NULL DEFAULT 1,
  failed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recovery_failures_run ON recovery_failures (recovery_run);
