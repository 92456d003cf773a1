/**
 * Bundles the Electron shell into dist/electron/: main.cjs (main process hosting the core),
 * preload.cjs (sandboxed preload: only `electron` may be required there) and
 * snapshot-worker.cjs (the first-sync worker thread). electron-builder packages these with
 * dist/renderer/.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outdir = path.join(root, 'dist', 'electron');

/**
 * What the bundles load at run time instead of carrying: Electron itself, and the root
 * package.json's `dependencies` (only the native SQLite module), which electron-builder packs
 * into node_modules, rebuilt for Electron and unpacked from the asar. Everything else is bundled.
 */
export function electronExternals(packageJson: { dependencies?: Record<string, string> }): string[] {
  return ['electron', ...Object.keys(packageJson.dependencies ?? {})];
}

async function main(): Promise<void> {
  const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  await build({
    entryPoints: {
      main: path.join(root, 'electron/main.ts'),
      preload: path.join(root, 'electron/preload.ts'),
      'snapshot-worker': path.join(root, 'electron/core/sync/snapshot-worker.ts'),
    },
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    external: electronExternals(packageJson),
    logLevel: 'warning',
    logOverride: { 'empty-import-meta': 'silent' },
  });
  console.log(`electron bundles written to ${path.relative(root, outdir)}`);
  await buildBrowserShell(packageJson);
}

/**
 * The browser shell's host (electron/browser-shell/cli.ts) bundled into dist/browser-shell/,
 * with the snapshot worker beside it as `snapshot-worker.js` (where the core looks for it).
 * ES modules (the core finds the worker through `import.meta.url`), with `require` for the
 * native SQLite module. `bench:memory` runs this, as shipped code runs bundled: under tsx the
 * host also carries the TypeScript compiler's loader, about 50 MB more.
 */
async function buildBrowserShell(packageJson: { dependencies?: Record<string, string> }): Promise<void> {
  const shellDir = path.join(root, 'dist', 'browser-shell');
  await build({
    entryPoints: {
      cli: path.join(root, 'electron/browser-shell/cli.ts'),
      'snapshot-worker': path.join(root, 'electron/core/sync/snapshot-worker.ts'),
    },
    outdir: shellDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: electronExternals(packageJson),
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  console.log(`browser shell bundle written to ${path.relative(root, shellDir)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main();
