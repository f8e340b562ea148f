-- Values replaced at paths written with _set_with_history, queryable per profile and path.
CREATE TABLE profile_history (
  profile_id  text NOT NULL,
  path        text[] NOT NULL,
  value       jsonb,
  valid_from  timestamptz NOT NULL,
  event_id    text NOT NULL,
  replaced_by text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (profile_id, path, event_id)
);

-- Outbox of the change stream: written in the apply transaction, published to Kafka
-- `profile-updates` after it commits, so a crash in between publishes late, never never.
CREATE TABLE profile_changes (
  id         bigserial PRIMARY KEY,
  event_id   text NOT NULL,
  message    jsonb NOT NULL,
  published  boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX profile_changes_unpublished ON profile_changes (event_id) WHERE NOT published;

-- Values due to expire (time-to-live) or to notify about (time-to-notify), by time bucket: one
-- reaper workflow per bucket waits on a durable timer, never one per value.
CREATE TABLE expirations (
  profile_id text NOT NULL,
  path       text[] NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('ttl', 'ttn')),
  due_at     timestamptz NOT NULL,
  bucket     bigint NOT NULL,
  stamp_in   double precision NOT NULL,
  stamp_eid  text NOT NULL,
  PRIMARY KEY (profile_id, path, kind, stamp_eid)
);
CREATE INDEX expirations_bucket ON expirations (bucket);

-- The pipeline's own event types: what the reapers emit, for belts to take as input (seed 001).
INSERT INTO event_types (project, name, display_name, description, type, event_id_expression, timestamp_expression, correlation_id_expression)
VALUES (current_setting('beltline.project'), 'profile-ttl', 'Profile value expired', 'A profile value reached its _ttl and was removed', 'time_to_live', '$.expirationId', '$.dueAt', '$.profileId'),
       (current_setting('beltline.project'), 'profile-ttn', 'Profile value notification', 'A profile value reached its _ttn', 'time_to_notify', '$.expirationId', '$.dueAt', '$.profileId')
ON CONFLICT DO NOTHING;
