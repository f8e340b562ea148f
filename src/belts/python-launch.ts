import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Finding what a python belt worker needs on this host: its source files, the interpreter, and
 * the tools (unshare, setpriv) the pool's launch plans use.
 */

/** The unprivileged user and group workers switch to when the pool runs as root. */
export const NOBODY = 65534;

/** The files the workers read: worker.py and the grnry_belt shim, next to this module (or in src/ when running from dist/). */
export function pythonSourceDir(): string {
  const candidates = [path.join(__dirname, 'python'), path.resolve(__dirname, '../../../src/belts/python'), path.resolve(process.cwd(), 'src/belts/python')];
  const found = candidates.find((d) => existsSync(path.join(d, 'worker.py')));
  if (!found) throw new Error(`python belt worker not found in ${candidates.join(', ')}`);
  return found;
}

export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The interpreter's absolute path and installation prefix, as this process's user sees them. */
export function resolvePython(python: string): Promise<{ executable: string; prefix: string }> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-I', '-S', '-c', 'import sys; sys.stdout.write(sys.executable + "\\n" + sys.prefix)'], { timeout: 30_000 }, (err, stdout) => {
      const [executable, prefix] = stdout.split('\n');
      if (err || !executable || !prefix) reject(new Error(`cannot run ${python}: ${err ? err.message : 'no sys.executable'}`));
      else resolve({ executable, prefix });
    });
  });
}

export async function copyTree(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { mode: 0o755 });
  await fs.chmod(to, 0o755);
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    if (entry.name === '__pycache__') continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst);
    else if (entry.isFile() && entry.name.endsWith('.py')) {
      await fs.copyFile(src, dst);
      await fs.chmod(dst, 0o644);
    }
  }
}

