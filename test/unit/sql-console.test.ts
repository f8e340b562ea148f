import { HttpError } from '../../src/http/app';
import { shapeResult, sqlProblem } from '../../src/sql/console';

const pgError = (code: string, message: string, extra: Record<string, string> = {}): Error => Object.assign(new Error(message), { code, ...extra });

describe('shapeResult', () => {
  const described = [
    { name: 'id', type: 'integer' },
    { name: 'name', type: 'text' },
  ];

  it('keeps cap rows of the cap + 1 fetched and says the rest was left', () => {
    const fetched = [1, 2, 3].map((i) => ({ names: i === 1 ? ['id', 'name'] : null, cells: [i, `n${i}`] }));
    expect(shapeResult(described, fetched, 2, 3.14159)).toEqual({ columns: described, rows: [[1, 'n1'], [2, 'n2']], rowCount: 2, truncated: true, ms: 3.1 });
    expect(shapeResult(described, fetched, 3, 1)).toMatchObject({ rowCount: 3, truncated: false });
  });

  it('names the columns of an empty result from the description', () => {
    expect(shapeResult(described, [], 10, 0)).toMatchObject({ columns: described, rows: [], rowCount: 0, truncated: false });
  });

  it("falls back to the rows' names when there is no description, or it does not match", () => {
    const fetched = [{ names: ['search_path'], cells: ['beltline'] }];
    expect(shapeResult(undefined, fetched, 10, 0).columns).toEqual([{ name: 'search_path', type: 'unknown' }]);
    expect(shapeResult(described, fetched, 10, 0).columns).toEqual([{ name: 'search_path', type: 'unknown' }]);
    expect(shapeResult(undefined, [], 10, 0).columns).toEqual([]);
  });
});

describe('sqlProblem', () => {
  const problem = (err: unknown): HttpError | undefined => sqlProblem(err, 5000);

  it("is a 400 naming the read-only console for a write, and PostgreSQL's reason", () => {
    const p = problem(pgError('42P11', 'cannot open INSERT query as cursor'));
    expect(p).toMatchObject({ statusCode: 400, code: 'bad_request' });
    expect(p?.message).toMatch(/^the SQL console is read-only: .*INSERT is not run/);
    expect(problem(pgError('25006', 'cannot execute DELETE in a read-only transaction'))?.message).toBe(
      'the SQL console is read-only: cannot execute DELETE in a read-only transaction',
    );
    expect(problem(pgError('42501', 'permission denied for schema beltline_b'))?.message).toMatch(/read-only and sees this project's schema only: permission denied for schema beltline_b/);
  });

  it('says one statement at a time for several', () => {
    expect(problem(pgError('42P11', 'cannot open multi-query plan as cursor'))?.message).toMatch(/one statement at a time/);
  });

  it("gives a syntax error's position in the query's text", () => {
    const p = problem(pgError('42601', 'syntax error at or near "selec"', { internalPosition: '1' }));
    expect(p).toMatchObject({ statusCode: 400, message: 'syntax error at or near "selec"', details: { code: '42601', position: 1 } });
  });

  it('names the timeout, and leaves an operator cancel to the server', () => {
    expect(problem(pgError('57014', 'canceling statement due to statement timeout'))?.message).toMatch(/5 s \(BELTLINE_SQL_TIMEOUT\)/);
    expect(sqlProblem(pgError('57014', 'canceling statement due to statement timeout'), 1500)?.message).toMatch(/1500 ms/);
    expect(problem(pgError('57014', 'canceling statement due to user request'))).toBeUndefined();
  });

  it('is a 501 where the migration could not set the console up, and a 400 for a query calling an unknown function', () => {
    expect(problem(pgError('42883', 'function "beltline_x".sql_console(unknown, integer) does not exist'))).toMatchObject({ statusCode: 501, code: 'not_configured' });
    expect(problem(pgError('42883', 'function nope(integer) does not exist'))).toMatchObject({ statusCode: 400 });
  });

  it("leaves the server's own trouble alone: connections, resources, anything not PostgreSQL's", () => {
    expect(problem(pgError('08006', 'connection failure'))).toBeUndefined();
    expect(problem(pgError('53300', 'too many connections'))).toBeUndefined();
    expect(problem(pgError('57P01', 'terminating connection due to administrator command'))).toBeUndefined();
    expect(problem(new Error('Connection terminated unexpectedly'))).toBeUndefined();
    expect(problem(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeUndefined();
  });
});
