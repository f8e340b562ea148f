-- Each project's tables live in a schema of their own (the default project's in `beltline`), all
-- made by these same migrations. The schema knows its project, so that what SQL reports (the
-- definitions feed's notifications) names the right one whatever the connection.
CREATE TABLE project_identity (
  id   boolean PRIMARY KEY DEFAULT true CHECK (id),
  name text NOT NULL
);
INSERT INTO project_identity (name) VALUES (current_setting('beltline.project'));

-- Bound to this schema's tables, whatever the search_path of the session that writes.
CREATE OR REPLACE FUNCTION notify_definition_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  r jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
  v bigint;
BEGIN
  UPDATE definitions_version SET version = version + 1 RETURNING version INTO v;
  PERFORM pg_notify('beltline_definitions', json_build_object(
    'kind', TG_ARGV[0],
    'project', (SELECT name FROM project_identity),
    'name', left(coalesce(r->>'name', r->>'key', ''), 500),
    'version', v)::text);
  RETURN NULL;
END $$;
