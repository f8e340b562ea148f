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
