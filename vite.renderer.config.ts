import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { sipGrammarPlugin } from './scripts/sip-grammar-plugin.js';

// Kept beside package.json, not in renderer/: it runs in Node, and renderer/ imports nothing from Node.
const rendererRoot = fileURLToPath(new URL('./renderer/', import.meta.url));

/**
 * The renderer is served from the privileged tsunagu://app/ scheme by Electron and from the
 * core host over loopback HTTP by the browser shell, so every asset URL is relative (`base: './'`). `shared/` is reached
 * by relative imports; nothing else outside this folder is bundled.
 */
export default defineConfig({
  root: rendererRoot,
  base: './',
  plugins: [react(), sipGrammarPlugin()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Loaded from disk or loopback, never over a network: one bundle is fine, and most of its
    // size is libphonenumber's metadata and sip.js, which the phone and the screen pop need
    // the moment the operator is signed in anyway.
    chunkSizeWarningLimit: 1536,
  },
  server: { host: '127.0.0.1' },
});
