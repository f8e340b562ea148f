-- The schema registry: Iglu self-describing JSON Schemas by key. Iglu schemas are immutable: a key,
-- once stored, keeps its content (a change is a new version).
CREATE TABLE schemas (
  key        text PRIMARY KEY,          -- iglu:vendor/name/format/MODEL-REVISION-ADDITION
  vendor     text NOT NULL,
  name       text NOT NULL,
  format     text NOT NULL,
  version    text NOT NULL,
  model      integer NOT NULL,
  revision   integer NOT NULL,
  addition   integer NOT NULL,
  schema     jsonb NOT NULL,            -- the whole self-describing schema, $schema and self included
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (vendor, name, format, model, revision, addition)
);
