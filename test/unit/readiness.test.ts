import { publicReason, readyAnswer, unreachableMessage, type Dependencies } from '../../src/readiness/readiness';
import { startRetryDelayMs } from '../../src/server';

const up = (required: boolean) => ({ status: 'up' as const, required, ms: 1 });
const down = (required: boolean, reason: string) => ({ status: 'down' as const, required, ms: 2, reason });

describe('readiness answers', () => {
  it('is ready when every required dependency is up, an optional one down or not', () => {
    const deps: Dependencies = { kafka: up(true), postgres: down(false, 'connect ECONNREFUSED 10.0.0.1:5432') };
    expect(readyAnswer(deps, { phase: 'running' })).toEqual({ ready: true, body: { status: 'ready', dependencies: deps } });
  });

  it('names each required dependency down, and why, in the shared error shape', () => {
    const deps: Dependencies = { kafka: down(true, 'Connection error'), temporal: down(true, 'no answer within 2000 ms'), postgres: down(false, 'x') };
    expect(readyAnswer(deps, { phase: 'running' })).toEqual({
      ready: false,
      body: { error: 'not_ready', message: 'kafka unreachable: Connection error; temporal unreachable: no answer within 2000 ms', details: { dependencies: deps } },
    });
  });

  it('is not ready while starting (saying why) and once shutting down, whatever the dependencies say', () => {
    const deps: Dependencies = { kafka: up(true) };
    expect(readyAnswer(deps, { phase: 'starting', why: 'postgres unreachable: refused' }).body).toMatchObject({ error: 'starting', message: 'beltline has not started its roles yet: postgres unreachable: refused' });
    expect(readyAnswer(deps, { phase: 'stopping' }).body).toMatchObject({ error: 'shutting_down' });
  });

  it('counts optional dependencies as unreachable too when asked (a failed start)', () => {
    const deps: Dependencies = { kafka: up(true), postgres: down(false, 'refused') };
    expect(unreachableMessage(deps, true)).toBeUndefined();
    expect(unreachableMessage(deps, false)).toBe('postgres unreachable: refused');
  });

  it('masks credentials in URLs and bounds the reason', () => {
    expect(publicReason(new Error('cannot reach postgres://postgres:s3cret@db:5432/x'))).toBe('cannot reach postgres://***@db:5432/x');
    expect(publicReason(new Error('x'.repeat(1000)))).toHaveLength(300);
  });

  it('backs off between start attempts from 1 s to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(startRetryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});
