-- One outbox row per applied batch instead of one per change. A batch of 500 changes wrote 500
-- rows, 1,000 index entries, and parsed every message into jsonb; the messages are only ever
-- read back whole to be sent, so a batch's messages are kept as one json array (text as written,
-- no jsonb conversion). Rows written before this keep their single `message` and still publish.
ALTER TABLE profile_changes ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE profile_changes ALTER COLUMN message DROP NOT NULL;
ALTER TABLE profile_changes ADD COLUMN messages json;
ALTER TABLE profile_changes ADD CONSTRAINT profile_changes_one_form CHECK ((message IS NULL) <> (messages IS NULL));
-- Publishing now goes by row id (the ids a transaction wrote), or takes the oldest unpublished.
DROP INDEX profile_changes_unpublished;
CREATE INDEX profile_changes_unpublished ON profile_changes (id) WHERE NOT published;

-- A batch's profiles are created (when missing) and then locked in one round trip. The two must
-- stay two statements run in order, which a function gives: as CTEs of one statement they ran in
-- no fixed order and deadlocked concurrent batches (see src/profiles/store.ts).
CREATE FUNCTION lock_profiles(wanted text[])
  RETURNS TABLE (id text, document jsonb, stamps jsonb, canonical_id text, known boolean)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO profiles (id) SELECT unnest(wanted) ORDER BY 1 ON CONFLICT (id) DO NOTHING;
  RETURN QUERY
    SELECT p.id, p.document, p.stamps, p.canonical_id, p.known FROM profiles p
     WHERE p.id = ANY(wanted)
        OR p.id = ANY(ARRAY(SELECT c.canonical_id FROM profiles c WHERE c.id = ANY(wanted) AND c.canonical_id IS NOT NULL))
     ORDER BY p.id FOR UPDATE OF p;
END $$;
