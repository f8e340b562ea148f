-- Identity links: an anonymous profile linked to an authenticated one forwards to it.
ALTER TABLE profiles ADD COLUMN canonical_id text;
ALTER TABLE profiles ADD COLUMN known boolean NOT NULL DEFAULT false;
CREATE INDEX profiles_canonical ON profiles (canonical_id) WHERE canonical_id IS NOT NULL;
