-- The event store, partitioned by month of event time: retention drops whole months, and a
-- month's index stays small. Partitions are created on demand (src/events/partitions.ts).
-- A redelivered event has the same id and time, so (event_id, created_at) still deduplicates.
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey;
ALTER INDEX events_type_created RENAME TO events_unpartitioned_type_created;

CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
ALTER TABLE events ADD PRIMARY KEY (event_id, created_at);
CREATE INDEX events_type_created ON events (event_type, created_at);

DO $$
DECLARE m timestamp;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM events_unpartitioned LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                   'events_p' || to_char(m, 'YYYYMM'), m::text || '+00', (m + interval '1 month')::text || '+00');
  END LOOP;
END $$;

INSERT INTO events SELECT * FROM events_unpartitioned;
DROP TABLE events_unpartitioned;
