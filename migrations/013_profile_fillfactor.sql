-- Every batch rewrites the document and stamps of the profiles it touches. Room left on each page
-- lets PostgreSQL keep the new version on the same page (a HOT update: no new index entry, less
-- WAL). Applies to pages written from now on; a VACUUM FULL or pg_repack would apply it to all.
ALTER TABLE profiles SET (fillfactor = 80);
