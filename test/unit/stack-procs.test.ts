import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, GiveUp, installAtomically, isAlive, readPid, tail, terminate, waitUntil, withLock } from '../../src/stack/procs';

/** The process-level helpers, on temp folders and a throwaway child process. */
describe('stack: process helpers', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-procs-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('caches under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/beltline');
    expect(cacheDir({})).toBe(path.join(os.homedir(), '.cache', 'beltline'));
  });

  it('reads pid files, missing ones as undefined', () => {
    fs.writeFileSync(path.join(dir, 'a.pid'), '123\n');
    expect(readPid(path.join(dir, 'a.pid'))).toBe(123);
    expect(readPid(path.join(dir, 'missing.pid'))).toBeUndefined();
  });

  it('installs atomically: a failed install leaves nothing behind and is redone next time', async () => {
    const target = path.join(dir, 'tool-1.0');
    await expect(
      installAtomically(target, async (tmp) => {
        fs.writeFileSync(path.join(tmp, 'half'), 'x');
        throw new Error('network down');
      }),
    ).rejects.toThrow('network down');
    expect(fs.readdirSync(dir)).toEqual([]);

    // What a killed installer leaves is cleared by the next install.
    fs.mkdirSync(path.join(dir, 'tool-1.0.tmp-999999999-abcd'));
    expect(await installAtomically(target, async (tmp) => fs.writeFileSync(path.join(tmp, 'bin'), 'ok'))).toBe(true);
    expect(fs.readFileSync(path.join(target, 'bin'), 'utf8')).toBe('ok');
    expect(fs.readdirSync(dir)).toEqual(['tool-1.0']);
    expect(await installAtomically(target, async () => {
      throw new Error('must not run again');
    })).toBe(false);
  });

  it('two concurrent installs of the same thing both succeed', async () => {
    const target = path.join(dir, 'tool-2.0');
    const slow = (v: string) => async (tmp: string) => {
      await new Promise((r) => setTimeout(r, 50));
      fs.writeFileSync(path.join(tmp, 'v'), v);
    };
    await Promise.all([installAtomically(target, slow('a')), installAtomically(target, slow('b'))]);
    expect(['a', 'b']).toContain(fs.readFileSync(path.join(target, 'v'), 'utf8'));
    expect(fs.readdirSync(dir)).toEqual(['tool-2.0']);
  });

  it('serialises work under a lock, and takes over a dead holder\'s lock', async () => {
    const lock = path.join(dir, 'svc.lock');
    const order: string[] = [];
    const job = (name: string) => () =>
      withLock(lock, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 100));
        order.push(`${name}-`);
      });
    await Promise.all([job('a')(), job('b')()]);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-']);
    expect(fs.existsSync(lock)).toBe(false);

    // A pid far above pid_max is never alive.
    fs.writeFileSync(lock, '999999999\n');
    expect(await withLock(lock, async () => 'taken over', 2000)).toBe('taken over');
  });

  it('gives up waiting at once on GiveUp, and after the deadline with the log\'s tail', async () => {
    const logFile = path.join(dir, 'svc.log');
    fs.writeFileSync(logFile, Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n'));
    await expect(waitUntil('svc', async () => false, 400, logFile)).rejects.toThrow(/svc did not become ready within 0 s; last lines of .*svc\.log:\nline 10\n[\s\S]*line 29$/);
    const t = Date.now();
    await expect(waitUntil('svc', async () => {
      throw new GiveUp('svc exited');
    }, 60_000)).rejects.toThrow('svc exited');
    expect(Date.now() - t).toBeLessThan(1000);
    expect(tail(path.join(dir, 'none.log'))).toBe('(no log)');
  });

  it('terminates a detached process group, escalating to SIGKILL when SIGTERM is ignored', async () => {
    const child = spawn('sh', ['-c', 'trap "" TERM; sleep 60 & wait'], { detached: true, stdio: 'ignore' });
    child.unref();
    const pid = child.pid as number;
    await new Promise((r) => setTimeout(r, 200));
    expect(isAlive(pid)).toBe(true);
    await terminate(pid, 500);
    expect(isAlive(pid)).toBe(false);
  });
});
