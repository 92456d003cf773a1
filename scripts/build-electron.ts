/**
 * Bundles the Electron shell into dist/electron/: main.cjs (main process hosting the core),
 * preload.cjs (sandboxed preload: only `electron` may be required there) and
 * snapshot-worker.cjs (the first-sync worker thread). electron-builder packages these with
 * dist/renderer/.
 */
import { build } from 'esbuild';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outdir = path.join(root, 'dist', 'electron');

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
  // Native and Electron-provided modules are loaded at run time, not bundled.
  external: ['electron', 'better-sqlite3-multiple-ciphers'],
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});
console.log(`electron bundles written to ${path.relative(root, outdir)}`);
