import { Option, type Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import type { Pool } from 'pg';
import { getSegment, listSegments, type Segment } from '../segments/catalog';
import { listDeadLetters, redrive } from '../segments/dead-letters';
import { parseFilters, readRows } from '../segments/rows';
import { fail, withPool } from './resource';

/** Fixed-width columns for a terminal; values that are not strings are shown as JSON. */
export function formatTable(columns: string[], rows: Record<string, unknown>[]): string {
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const cells = rows.map((r) => columns.map((c) => cell(r[c]).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i].length))));
  const line = (values: string[]): string => values.map((v, i) => (v.length > widths[i] ? `${v.slice(0, widths[i] - 1)}…` : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function columnsOf(seg: Segment): string[] {
  return [...seg.columns.map((c) => c.name), 'updated_at'];
}

export function registerSegmentCommands(program: Command): void {
  const cmd = program.command('segments').description('live segments: tables written by belts through DirectUpdate');
  const segmentOr = async (pool: Pool, project: string, name: string, version?: string): Promise<Segment | undefined> => {
    const seg = await getSegment(pool, project, name, version ? Number(version) : undefined);
    if (!seg) fail(`no live segment ${JSON.stringify(name)}${version ? ` version ${version}` : ''}: create an event type of type live_segment`);
    return seg;
  };

  cmd
    .command('list')
    .description('segments with their table, row count and open dead letters')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPool(async (pool, project) => {
        const all = await listSegments(pool, project);
        if (opts.json) console.log(JSON.stringify(all, null, 2));
        else console.log(formatTable(['name', 'version', 'table', 'rows', 'deadLetters'], all as unknown as Record<string, unknown>[]));
      }),
    );

  cmd
    .command('rows <name>')
    .description("print a segment's rows in id order")
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .option('--filter <column=value...>', 'only rows whose column has this value (as text)')
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--after <id>', 'rows after this id (paging)')
    .option('--version <n>', "an older version's table")
    .action((name: string, opts: { format: 'table' | 'json' | 'csv'; filter?: string[]; limit: string; after?: string; version?: string }) =>
      withPool(async (pool, project) => {
        const seg = await segmentOr(pool, project, name, opts.version);
        if (!seg) return;
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) return fail(`--limit must be a positive integer, got ${JSON.stringify(opts.limit)}`);
        const page = await readRows(pool, seg, { filters: parseFilters(opts.filter), limit, after: opts.after });
        const columns = columnsOf(seg);
        if (opts.format === 'json') console.log(JSON.stringify(page.rows, null, 2));
        else if (opts.format === 'csv') {
          const flat = page.rows.map((r) => columns.map((c) => (r[c] !== null && typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c])));
          process.stdout.write(stringify([columns, ...flat]));
        } else console.log(formatTable(columns, page.rows));
        if (page.next && opts.format === 'table') console.error(`more rows: --after ${page.next}`);
      }),
    );

  cmd
    .command('dead-letters <name>')
    .description('rows the segment\'s schema refused, with the reason')
    .option('--all', 'include those already redriven')
    .option('--json', 'print JSON')
    .action((name: string, opts: { all?: boolean; json?: boolean }) =>
      withPool(async (pool, project) => {
        if (!(await segmentOr(pool, project, name))) return;
        const { deadLetters } = await listDeadLetters(pool, project, name, { all: opts.all, limit: 1000 });
        if (opts.json) return console.log(JSON.stringify(deadLetters, null, 2));
        for (const d of deadLetters) {
          console.log(`#${d.id} row ${JSON.stringify(d.rowId)} from event ${d.eventId} (belt ${d.belt})${d.redrivenAt ? ` redriven ${d.redrivenAt}` : ''}`);
          for (const m of d.reason.messages) console.log(`    ${d.reason.kind}: ${m}`);
          console.log(`    row: ${JSON.stringify(d.row)}`);
        }
        if (deadLetters.length === 0) console.log(`no ${opts.all ? '' : 'open '}dead letters for ${name}`);
      }),
    );

  cmd
    .command('redrive <name>')
    .description("write the segment's dead letters that pass its current schema (fix the schema first)")
    .action((name: string) =>
      withPool(async (pool, project) => {
        if (!(await segmentOr(pool, project, name))) return;
        const r = await redrive(pool, project, name);
        console.log(`redriven ${r.redriven}, still failing ${r.stillFailing}`);
        if (r.stillFailing > 0) {
          console.log(`see them with: beltline segments dead-letters ${name}`);
          process.exitCode = 1;
        }
      }),
    );
}
