-- The SQL console (POST /projects/<project>/sql) reads this schema as a role of its own,
-- `<schema>_reader`: NOLOGIN, USAGE on this schema only, SELECT on its tables (those made later,
-- live segments' included, too), so a query cannot reach another project's schema or the registry.
-- Roles are the cluster's, not the database's: another database on the same server (the tests',
-- `npm start`'s) may have made this one already, or be making it now.
--
-- The query runs inside sql_console(), SECURITY DEFINER as the reader. That is the point: inside
-- such a function PostgreSQL refuses to change `role` or `session_authorization` (SET or
-- set_config), so the query cannot become the session's own, possibly superuser, role again —
-- which `SET ROLE` alone would allow. The cursor behind FOR … IN EXECUTE reads no more rows than
-- are returned, and takes one statement only, a query (an INSERT, a second statement are refused).
-- It returns at most max_rows + 1 rows, each a JSON array of its cells (the first also names the
-- columns).
--
-- A role that may not create roles leaves the console unset (a warning, not a failed start).
DO $do$
DECLARE
  reader text := current_schema() || '_reader';
  super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
  BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', reader);
  EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
      NULL;
    WHEN insufficient_privilege THEN
      -- An administrator may have made it beforehand.
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
        RAISE WARNING 'beltline: no SQL console for schema %: role % may not create role %', current_schema(), current_user, reader;
        RETURN;
      END IF;
  END;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), reader);
  EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', current_schema(), reader);
  -- Live-segment tables are made at run time by the role that runs these migrations.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO %I', current_schema(), reader);

  CREATE FUNCTION sql_console(query text, max_rows integer) RETURNS TABLE (names json, cells json)
  LANGUAGE plpgsql SECURITY DEFINER AS $fn$
  DECLARE
    r record;
    n integer := 0;
    j json;
  BEGIN
    PERFORM set_config('transaction_read_only', 'on', true);
    FOR r IN EXECUTE query LOOP
      j := to_json(r);
      names := CASE WHEN n = 0 THEN (SELECT coalesce(json_agg(e.key), '[]') FROM json_each(j) e) END;
      cells := (SELECT coalesce(json_agg(e.value), '[]') FROM json_each(j) e);
      RETURN NEXT;
      n := n + 1;
      EXIT WHEN n > max_rows;
    END LOOP;
  END $fn$;

  IF NOT super THEN
    -- A role that is no superuser may give its function to the reader only as a member that may
    -- SET ROLE to it (creating a role makes its creator a member that may not), and only while
    -- the reader may create in the schema.
    EXECUTE format('GRANT %I TO %I', reader, current_user);
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO %I', current_schema(), reader);
  END IF;
  EXECUTE format('ALTER FUNCTION sql_console(text, integer) OWNER TO %I', reader);
  IF NOT super THEN
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', current_schema(), reader);
  END IF;
  REVOKE ALL ON FUNCTION sql_console(text, integer) FROM PUBLIC;
  EXECUTE format('GRANT EXECUTE ON FUNCTION sql_console(text, integer) TO %I', current_user);
END $do$;
