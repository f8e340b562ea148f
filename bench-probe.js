const { Pool } = require('pg');
const { loadConfig } = require('./dist/src/config');
const { withTransaction } = require('./dist/src/db/pool');
const { ensureSegment } = require('./dist/src/segments/catalog');
const { writeSegmentRows } = require('./dist/src/segments/writes');
(async () => {
  const cfg = loadConfig();
  const pool = new Pool({ connectionString: cfg.databaseUrl, max: 2, options: '-c search_path=beltline,public' });
  const name = 'probe-' + Date.now().toString(36);
  const schema = { type: 'object', required: ['id','name'], properties: { id: {type:'string'}, name:{type:'string'}, visits:{type:'integer'}, score:{type:'number'}, vip:{type:'boolean'}, seen:{type:'string', format:'date-time'} } };
  await withTransaction(pool, (c) => ensureSegment(c, 'default', name, schema));
  const n = 50000, ids = n/2;
  const rows = Array.from({ length: n }, (_, i) => ({ segment: name, row: { id: `r${i % ids}`, name: `n${i}`, visits: i, score: i / 7, vip: i % 2 === 0, seen: new Date(1_700_000_000_000 + i).toISOString() }, eventId: `e${i}`, belt: 'bench', eventAt: 1_700_000_000_000 + i }));
  const t = Date.now(); const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i += 500) await withTransaction(pool, (c) => writeSegmentRows(c, 'default', rows.slice(i, i + 500)));
  const cpu = process.cpuUsage(cpu0);
  console.log('wall', Date.now() - t, 'node cpu ms', Math.round((cpu.user + cpu.system)/1000));
  await pool.end();
})();
