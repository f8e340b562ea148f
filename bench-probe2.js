const { Pool } = require('pg');
const { loadConfig } = require('./dist/src/config');
(async () => {
  const cfg = loadConfig();
  const pool = new Pool({ connectionString: cfg.databaseUrl, max: 1, options: '-c search_path=beltline,public' });
  const n = 50000, ids = n/2;
  const rows = Array.from({ length: n }, (_, i) => ({ row: { id: `r${i % ids}`, name: `n${i}`, visits: i, score: i / 7, vip: i % 2 === 0, seen: new Date(1_700_000_000_000 + i).toISOString() }, eventId: `e${i}`, eventAt: 1_700_000_000_000 + i }));
  const ddl = (t) => `CREATE TABLE ${t} (id text PRIMARY KEY, name text, visits bigint, score double precision, vip boolean, seen timestamptz, _data jsonb NOT NULL, _event_id text NOT NULL, _event_at timestamptz NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`;
  const upd = `name = excluded.name, visits = excluded.visits, score = excluded.score, vip = excluded.vip, seen = excluded.seen, _data = excluded._data, _event_id = excluded._event_id, _event_at = excluded._event_at, updated_at = excluded.updated_at`;
  const where = `WHERE (t._event_at, t._event_id) <= (excluded._event_at, excluded._event_id)`;
  const variants = {
    A: (t, b) => [`INSERT INTO ${t} AS t (id,name,visits,score,vip,seen,_data,_event_id,_event_at,updated_at)
     SELECT p.id,p.name,p.visits,p.score,p.vip,p.seen, x.r, x.e, x.a::timestamptz, clock_timestamp()
       FROM jsonb_to_recordset($1::jsonb) AS x(r jsonb, e text, a text) CROSS JOIN LATERAL jsonb_populate_record(NULL::${t}, x.r) AS p
     ON CONFLICT (id) DO UPDATE SET ${upd} ${where}`, [JSON.stringify(b.map((r) => ({ r: r.row, e: r.eventId, a: new Date(r.eventAt).toISOString() })))]],
    Bx: (t, b) => [`INSERT INTO ${t} AS t (id,name,visits,score,vip,seen,_data,_event_id,_event_at,updated_at)
     SELECT p.id,p.name,p.visits,p.score,p.vip,p.seen,p._data,p._event_id,p._event_at, clock_timestamp()
       FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb) AS p
     ON CONFLICT (id) DO UPDATE SET ${upd} ${where}`, [JSON.stringify(b.map((r) => ({ ...r.row, _data: r.row, _event_id: r.eventId, _event_at: new Date(r.eventAt).toISOString() })))]],
    Bjsonx: (t, b) => [`INSERT INTO ${t} AS t (id,name,visits,score,vip,seen,_data,_event_id,_event_at,updated_at)
     SELECT p.id,p.name,p.visits,p.score,p.vip,p.seen,p._data,p._event_id,p._event_at, clock_timestamp()
       FROM json_populate_recordset(NULL::${t}, $1::json) AS p
     ON CONFLICT (id) DO UPDATE SET ${upd} ${where}`, [JSON.stringify(b.map((r) => ({ ...r.row, _data: r.row, _event_id: r.eventId, _event_at: new Date(r.eventAt).toISOString() })))]],
    Bnowherex: (t, b) => [`INSERT INTO ${t} AS t (id,name,visits,score,vip,seen,_data,_event_id,_event_at,updated_at)
     SELECT p.id,p.name,p.visits,p.score,p.vip,p.seen,p._data,p._event_id,p._event_at, clock_timestamp()
       FROM json_populate_recordset(NULL::${t}, $1::json) AS p
     ON CONFLICT (id) DO UPDATE SET ${upd}`, [JSON.stringify(b.map((r) => ({ ...r.row, _data: r.row, _event_id: r.eventId, _event_at: new Date(r.eventAt).toISOString() })))]],
    C: (t, b) => [`INSERT INTO ${t} AS t (id,name,visits,score,vip,seen,_data,_event_id,_event_at,updated_at)
     SELECT p.id,p.name,p.visits,p.score,p.vip,p.seen, x.r, x.e, x.a, clock_timestamp()
       FROM jsonb_to_recordset($1::jsonb) AS x(r jsonb, e text, a timestamptz) CROSS JOIN LATERAL jsonb_to_record(x.r) AS p(id text, name text, visits bigint, score float8, vip boolean, seen timestamptz)
     ON CONFLICT (id) DO UPDATE SET ${upd} ${where}`, [JSON.stringify(b.map((r) => ({ r: r.row, e: r.eventId, a: new Date(r.eventAt).toISOString() })))]],
    D: (t, b) => [`INSERT INTO ${t} AS t (id,name,visits,score,vip,seen,_data,_event_id,_event_at,updated_at)
     SELECT u.a,u.b,u.c,u.d,u.e,u.f, $7::jsonb -> (u.o::int - 1), u.g, u.h, clock_timestamp()
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bool[], $6::timestamptz[], $8::text[], $9::timestamptz[]) WITH ORDINALITY AS u(a,b,c,d,e,f,g,h,o)
     ON CONFLICT (id) DO UPDATE SET ${upd} ${where}`,
      [b.map((r) => r.row.id), b.map((r) => r.row.name), b.map((r) => r.row.visits), b.map((r) => r.row.score), b.map((r) => r.row.vip), b.map((r) => r.row.seen), JSON.stringify(b.map(r=>r.row)), b.map(r=>r.eventId), b.map(r=>new Date(r.eventAt).toISOString())]],
    ceilingData: (t, b) => [`INSERT INTO ${t} (id, name, visits, score, vip, seen, _data, _event_id, _event_at)
       SELECT a,b,c,d,e,f,$7::jsonb -> (o::int - 1),'x',now() FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bool[], $6::timestamptz[]) WITH ORDINALITY AS u(a,b,c,d,e,f,o)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = excluded.visits, score = excluded.score, vip = excluded.vip, seen = excluded.seen, _data = excluded._data, updated_at = now()`,
      (() => { const v=b.map(r=>r.row); return [v.map((r) => r.id), v.map((r) => r.name), v.map((r) => r.visits), v.map((r) => r.score), v.map((r) => r.vip), v.map((r) => r.seen), JSON.stringify(v)]; })()],
    ceiling: (t, b) => [`INSERT INTO ${t} (id, name, visits, score, vip, seen, _data, _event_id, _event_at)
       SELECT a,b,c,d,e,f,'{}'::jsonb,'x',now() FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bool[], $6::timestamptz[]) AS u(a,b,c,d,e,f)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = excluded.visits, score = excluded.score, vip = excluded.vip, seen = excluded.seen, updated_at = now()`,
      (() => { const v=[...new Map(b.map(r=>[r.row.id,r.row])).values()]; return [v.map((r) => r.id), v.map((r) => r.name), v.map((r) => r.visits), v.map((r) => r.score), v.map((r) => r.vip), v.map((r) => r.seen)]; })()],
  };
  for (let round = 0; round < 2; round++) for (const [k, f] of Object.entries(variants)) { if (k.endsWith('x')) continue;
    const t = `probe_${k}_${round}`;
    await pool.query(`DROP TABLE IF EXISTS ${t}`); await pool.query(ddl(t));
    const t0 = Date.now();
    for (let i = 0; i < n; i += 500) { const b = [...new Map(rows.slice(i, i + 500).map(r=>[r.row.id,r])).values()]; const [sql, p] = f(t, b); await pool.query(sql, p); }
    console.log(k, Date.now() - t0);
    await pool.query(`DROP TABLE ${t}`);
  }
  await pool.end();
})();
