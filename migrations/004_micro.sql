-- Snowplow Micro-style inspection: what arrived since the last reset.
CREATE TABLE micro_state (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  reset_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO micro_state DEFAULT VALUES;
