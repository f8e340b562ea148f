-- Belts defined through the API beside those of the belts folder; a stopped belt gets no batches.
ALTER TABLE belt_heads ADD COLUMN source text NOT NULL DEFAULT 'folder' CHECK (source IN ('folder', 'api'));
ALTER TABLE belt_heads ADD COLUMN running boolean NOT NULL DEFAULT true;
ALTER TABLE belts ADD COLUMN number integer;
UPDATE belts b SET number = n.rn
  FROM (SELECT name, version, row_number() OVER (PARTITION BY name ORDER BY created_at, version) AS rn FROM belts) n
 WHERE b.name = n.name AND b.version = n.version;
