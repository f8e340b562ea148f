-- lock_profiles for a worker that remembers what it wrote (src/profiles/cache.ts). `fresh` are
-- ids it knows nothing of: created when missing, as before. `known_ids` it holds the document and
-- stamps of, as written at row version `known_versions` (the row's xmin): they are only locked,
-- and their document and stamps come back only when the row is no longer that version. Every row
-- comes back with its version. Ids are locked in one sorted pass, as lock_profiles does.
CREATE FUNCTION lock_profiles(fresh text[], known_ids text[], known_versions text[])
  RETURNS TABLE (id text, document jsonb, stamps jsonb, canonical_id text, known boolean, version text)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO profiles (id) SELECT unnest(fresh) ORDER BY 1 ON CONFLICT (id) DO NOTHING;
  RETURN QUERY
    SELECT p.id,
           CASE WHEN k.v = p.xmin::text THEN NULL ELSE p.document END,
           CASE WHEN k.v = p.xmin::text THEN NULL ELSE p.stamps END,
           p.canonical_id, p.known, p.xmin::text
      FROM profiles p LEFT JOIN unnest(known_ids, known_versions) AS k(id, v) ON k.id = p.id
     WHERE p.id = ANY(fresh || known_ids)
        OR p.id = ANY(ARRAY(SELECT c.canonical_id FROM profiles c WHERE c.id = ANY(fresh || known_ids) AND c.canonical_id IS NOT NULL))
     ORDER BY p.id FOR UPDATE OF p;
END $$;
