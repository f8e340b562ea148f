import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles the console (console/ → dist/console/): one script, one stylesheet, one page, with
 * every library inside, since the machines it runs on may reach no CDN.
 */
export async function buildConsole(root: string, out: string): Promise<void> {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [path.join(root, 'console/main.tsx')],
    bundle: true,
    outfile: path.join(out, 'app.js'),
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(root, 'console/style.css'), path.join(out, 'app.css'));
  fs.copyFileSync(path.join(root, 'console/index.html'), path.join(out, 'index.html'));
}

if (require.main === module) {
  const root = path.resolve(__dirname, '../..');
  buildConsole(root, path.join(root, 'dist/console')).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
