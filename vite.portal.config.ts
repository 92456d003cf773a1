import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The customer portal (portal/): a second, small React entry, served by the backend. Its page
 * is the same for every tenant (`/portal/<tenant>/`, which the page reads from its address), and
 * its assets are shared under `/portal/assets/` — hence the absolute base.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./portal/', import.meta.url)),
  base: '/portal/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/portal', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Inline assets would be data: URLs for scripts, which the portal's CSP refuses.
    assetsInlineLimit: 0,
  },
  server: { host: '127.0.0.1' },
});
