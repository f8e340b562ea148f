-- Actions (seed 004's output side): webhooks a belt's Action(name, payload) triggers.
CREATE TABLE actions (
  project     text NOT NULL,
  name        text NOT NULL,
  definition  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, name)
);

-- One row per delivery, keyed by its idempotency key: sha256 of (event, belt, action, index), or
-- of (action, key) when the belt gave a dedupe key. A row marked 'sent' (after a 2xx) is never
-- sent again, whatever replays; 'failed' holds the reason (4xx, attempts used up, not configured).
CREATE TABLE action_runs (
  idempotency_key text PRIMARY KEY,
  project         text NOT NULL,
  action          text NOT NULL,
  event_id        text NOT NULL,
  belt            text NOT NULL,
  action_index    integer NOT NULL,
  dedupe_key      text,
  payload         jsonb NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  response_status integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz
);
CREATE INDEX action_runs_event ON action_runs (event_id, belt);
CREATE INDEX action_runs_open ON action_runs (project, action, created_at) WHERE state <> 'sent';
