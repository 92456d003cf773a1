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
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main();
