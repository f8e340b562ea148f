import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine without network: without the background-networking
 * ones it keeps trying to reach Google's services, slowing the test and filling the logs.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Runs a command with its output on the terminal (an install is slow, so show it as it goes). */
function run(cmd: string, args: string[]): Promise<{ code: number | null; tail: string }> {
  return new Promise((resolve) => {
    process.stderr.write(`[browser] $ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let tail = '';
    const forward = (d: Buffer): void => {
      process.stderr.write(d);
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.once('error', (err) => resolve({ code: null, tail: `${tail}\n${String(err)}` }));
    child.once('exit', (code) => resolve({ code, tail }));
  });
}

let installing: Promise<string> | undefined;

/**
 * The path of Debian's Chromium, installed with apt-get when missing: a fresh machine has no
 * browser, and Playwright's own browser downloads cannot work without general network access.
 */
export function ensureChromium(): Promise<string> {
  return (installing ??= (async () => {
    if (fs.existsSync(CHROMIUM)) return CHROMIUM;
    const cannot = (why: string): Error =>
      new Error(
        `${CHROMIUM} is missing and could not be installed (${why}). Install Debian's package by hand: ` +
          '`apt-get update && apt-get install -y --no-install-recommends chromium`',
      );
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw cannot('apt-get needs root and this is not root');
    // Others may be installing packages on the same machine: wait for dpkg's lock instead of failing.
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    const update = await run('apt-get', [...lock, 'update']);
    if (update.code !== 0) throw cannot(`apt-get update exited with ${update.code}:\n${update.tail}`);
    const install = await run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', 'chromium']);
    if (install.code !== 0) throw cannot(`apt-get install exited with ${install.code}:\n${install.tail}`);
    if (!fs.existsSync(CHROMIUM)) throw cannot(`apt-get installed chromium but ${CHROMIUM} does not exist`);
    return CHROMIUM;
  })().catch((err: unknown) => {
    installing = undefined;
    throw err;
  }));
}

/** Headless Chromium driven by Playwright, installed first if needed. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export interface StaticSite {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** A tiny web site, as a shop hosting a tracker tag would be: path → content type and body. */
export async function serveStatic(port: number, files: Record<string, { type: string; body: string | Buffer }>): Promise<StaticSite> {
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    // Browsers ask for it on their own; a 404 would show up as a console error on every page.
    if (pathname === '/favicon.ico' && !files[pathname]) {
      res.writeHead(204).end();
      return;
    }
    const file = files[pathname];
    if (!file || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
