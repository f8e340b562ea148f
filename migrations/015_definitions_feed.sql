-- Definitions are cached by every process (collector, workers); a change must reach them all
-- before the API answers. Every write to a definition table bumps one version and notifies the
-- channel beltline_definitions, both inside the writing transaction: listeners hear of it at
-- commit, and a process that may have missed a notification (reconnecting, or simply not there
-- yet) compares the version with the last one it heard of.
CREATE TABLE definitions_version (
  id      boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO definitions_version DEFAULT VALUES;

-- Trigger argument: the kind (event_type, harvester, belt, schema, action). The row's project
-- (global kinds have none: default) and name (schemas: their key) make the payload, kept small:
-- a notification payload may take 8000 bytes at most.
CREATE FUNCTION notify_definition_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
  v bigint;
BEGIN
  UPDATE definitions_version SET version = version + 1 RETURNING version INTO v;
  PERFORM pg_notify('beltline_definitions', json_build_object(
    'kind', TG_ARGV[0],
    'project', coalesce(r->>'project', 'default'),
    'name', left(coalesce(r->>'name', r->>'key', ''), 500),
    'version', v)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER event_types_notify AFTER INSERT OR UPDATE OR DELETE ON event_types
  FOR EACH ROW EXECUTE FUNCTION notify_definition_change('event_type');
-- A live segment's table version is part of its event type as the caches hold it.
CREATE TRIGGER live_segments_notify AFTER INSERT OR UPDATE OR DELETE ON live_segments
  FOR EACH ROW EXECUTE FUNCTION notify_definition_change('event_type');
CREATE TRIGGER harvesters_notify AFTER INSERT OR UPDATE OR DELETE ON harvesters
  FOR EACH ROW EXECUTE FUNCTION notify_definition_change('harvester');
CREATE TRIGGER belt_heads_notify AFTER INSERT OR UPDATE OR DELETE ON belt_heads
  FOR EACH ROW EXECUTE FUNCTION notify_definition_change('belt');
CREATE TRIGGER actions_notify AFTER INSERT OR UPDATE OR DELETE ON actions
  FOR EACH ROW EXECUTE FUNCTION notify_definition_change('action');
CREATE TRIGGER schemas_notify AFTER INSERT OR UPDATE OR DELETE ON schemas
  FOR EACH ROW EXECUTE FUNCTION notify_definition_change('schema');
