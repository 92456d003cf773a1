/**
 * Runs the desktop core and the browser shell host in one process (what `npm start` uses where
 * the Electron binary cannot run, and what the e2e tests drive). Prints one line
 * `tsunagu shell: ready <url>` once the host listens. The URL carries a one-time launch code
 * (host.ts), not a secret: the first window that opens it spends it and gets its own window
 * secret over the socket, so the URL may sit in Chromium's command line without giving
 * anyone else a window. Every window gets its own core (session, cache, phone); more windows
 * are opened from the app itself ("New window").
 *
 * Settings: TSUNAGU_BACKEND_URL (default http://127.0.0.1:8740; a comma-separated list for
 * several backend instances on one database), TSUNAGU_DATA_DIR (the app's
 * data folder, default ./.data/app), TSUNAGU_RENDERER_DIR (default ./dist/renderer),
 * TSUNAGU_SHELL_PORT (default 0: a free port), TSUNAGU_PBX_WS_URL (the PBX WebSocket(s) the page may
 * connect to, comma-separated; default the dev PBX ws://127.0.0.1:5066), TSUNAGU_LOG_LEVEL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseBackendUrls } from '../../shared/backend-url.js';
import { describeZodError } from '../../shared/validation.js';
import { FileCacheKeyStore } from '../core/cache/cache-keys.js';
import { parsePbxUrls } from '../csp.js';
import { createCore } from '../core/core.js';
import { createStderrLogger, type LogLevel } from '../core/logger.js';
import { MemoryTokenStore } from '../core/token-store.js';
import { startBrowserShellHost } from './host.js';

const ShellConfig = z.object({
  // One URL or a comma-separated list of instances; checked by parseBackendUrls below.
  TSUNAGU_BACKEND_URL: z.string().default('http://127.0.0.1:8740'),
  TSUNAGU_DATA_DIR: z.string().min(1).default('.data/app'),
  TSUNAGU_RENDERER_DIR: z.string().min(1).default('dist/renderer'),
  TSUNAGU_SHELL_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  TSUNAGU_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  TSUNAGU_PBX_WS_URL: z.string().optional(),
  LANG: z.string().optional(),
});

async function main(): Promise<void> {
  const parsed = ShellConfig.safeParse(process.env);
  if (!parsed.success) throw new Error(`Invalid configuration: ${describeZodError(parsed.error)}`);
  const config = parsed.data;
  const backendUrls = parseBackendUrls(config.TSUNAGU_BACKEND_URL);
  if (!backendUrls.ok) throw new Error(`Invalid configuration: TSUNAGU_BACKEND_URL: ${backendUrls.message}`);
  const connectTo = { backendUrl: config.TSUNAGU_BACKEND_URL, pbxUrls: parsePbxUrls(config.TSUNAGU_PBX_WS_URL) };
  const staticDir = path.resolve(config.TSUNAGU_RENDERER_DIR);
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) {
    throw new Error(`TSUNAGU_RENDERER_DIR: no built renderer at ${staticDir} (run: npm run build)`);
  }
  const logger = createStderrLogger(config.TSUNAGU_LOG_LEVEL as LogLevel);
  const dataDir = path.resolve(config.TSUNAGU_DATA_DIR);
  const locale = (config.LANG ?? 'ja_JP').replace('_', '-').split('.')[0];
  const host = await startBrowserShellHost({
    staticDir,
    port: config.TSUNAGU_SHELL_PORT,
    logger,
    connectTo,
    openWindowCore: () =>
      createCore({
        dataDir,
        backendUrl: config.TSUNAGU_BACKEND_URL,
        // Important: the browser shell keeps the session token in memory only (ARCHITECTURE.md),
        // one store per window: a new window never inherits another window's sign-in.
        tokenStore: new MemoryTokenStore(),
        // Important: weaker than the Electron shell's keychain: a 0600 key file beside the cache.
        cacheKeys: new FileCacheKeyStore(),
        logger,
        app: { shell: 'browser', locale },
      }),
  });
  process.stdout.write(`tsunagu shell: ready ${host.newLaunchUrl()}\n`);

  const stop = async () => {
    await host.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`tsunagu shell: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
