import fs from 'node:fs';
import path from 'node:path';
import {
  app,
  BrowserWindow,
  globalShortcut,
  ipcMain,
  powerMonitor,
  protocol,
  safeStorage,
  session,
  shell,
  type WebContents,
  type WebFrameMain,
} from 'electron';
import { toElectronAccelerator } from '../shared/accelerator.js';
import { IPC_CHANNELS, type IpcChannel, type IpcEvent, type OpenExternalResult, type PHONE_HOTKEY_ACTIONS } from '../shared/ipc.js';
import { describeZodError } from '../shared/validation.js';
import { fail, ok, type Result } from '../shared/result.js';
import { createSafeStorageCacheKeyStore, osKeychainIsReal } from './cache-key.js';
import { createCore, type Core } from './core/core.js';
import { createStderrLogger, type Logger } from './core/logger.js';
import type { TokenStore } from './core/token-store.js';
import { RENDERER_CSP } from './csp.js';
import { resolveStaticFile } from './static-files.js';

type PhoneHotkeyAction = (typeof PHONE_HOTKEY_ACTIONS)[number];

/**
 * The Electron shell: hosts the desktop core in the main process, serves the built renderer
 * from the privileged `tsunagu://app/` scheme, and carries the IPC contract with
 * `ipcMain.handle` (requests) and `tsunagu:event` messages (core → renderer events).
 *
 * Built by scripts/build-electron.ts into dist/electron/ as main.cjs, preload.cjs and
 * snapshot-worker.cjs side by side; the renderer is in dist/renderer/.
 */

const APP_SCHEME = 'tsunagu';
const APP_HOST = 'app';
const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** Channel of core → renderer events; the preload relays them to `window.tsunagu.on`. */
const EVENT_CHANNEL = 'tsunagu:event';
const DEFAULT_BACKEND_URL = 'http://127.0.0.1:8740';

const logger = createStderrLogger(process.env.TSUNAGU_LOG_LEVEL === 'debug' ? 'debug' : 'info');
const rendererDir = process.env.TSUNAGU_RENDERER_DIR ?? path.join(__dirname, '..', 'renderer');

// Must happen before `ready`: the app scheme behaves like https (secure context, fetch, CSP).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

function isOurPage(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

function isOurFrame(frame: WebFrameMain | null): boolean {
  return frame !== null && isOurPage(frame.url);
}

/** Links in content (e-mail, notes) open in the system browser, and only http(s) ones. */
function openExternally(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    logger.warn('refused to open a link with a non-web scheme', { scheme: parsed.protocol });
    return;
  }
  void shell.openExternal(parsed.toString());
}

/**
 * The session token, encrypted with the OS keychain through safeStorage, in a file under
 * userData. Important: where safeStorage has no real keychain (Linux without a secret service
 * falls back to a hard-coded key) the token is not written at all; the session then lasts
 * until the app quits.
 */
class SafeStorageTokenStore implements TokenStore {
  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  async get(): Promise<string | null> {
    if (!osKeychainIsReal()) return null;
    let encrypted: Buffer;
    try {
      encrypted = await fs.promises.readFile(this.file);
    } catch {
      return null;
    }
    try {
      return safeStorage.decryptString(encrypted);
    } catch (error) {
      this.log.warn('the stored session token could not be decrypted; logging in again', {
        error: error instanceof Error ? error.message : String(error),
      });
      await fs.promises.rm(this.file, { force: true });
      return null;
    }
  }

  async set(token: string | null): Promise<void> {
    if (token === null || !osKeychainIsReal()) {
      if (token !== null) this.log.warn('no OS keychain available: the session token is kept in memory only', {});
      await fs.promises.rm(this.file, { force: true });
      return;
    }
    const temporary = `${this.file}.tmp`;
    await fs.promises.writeFile(temporary, safeStorage.encryptString(token), { mode: 0o600 });
    await fs.promises.rename(temporary, this.file);
  }
}

function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return new Response('Not found', { status: 404 });
    const resolved = resolveStaticFile(rendererDir, url.pathname);
    if (!resolved.ok) return new Response(resolved.message, { status: resolved.status });
    const body = await fs.promises.readFile(resolved.file);
    return new Response(body, {
      headers: {
        'content-type': resolved.contentType,
        // Set here as well as in onHeadersReceived: responses of a custom protocol handler do not
        // pass through webRequest on every Electron version.
        'content-security-policy': RENDERER_CSP,
        'x-content-type-options': 'nosniff',
      },
    });
  });
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] },
    });
  });
}

/**
 * What the softphone needs, and only for our own page: the microphone, the output-device
 * choice (setSinkId for headset and ring device) and the incoming-call notification.
 * Everything else is refused.
 */
const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['media', 'speaker-selection', 'notifications']);

function restrictPermissions(): void {
  session.defaultSession.setPermissionRequestHandler((contents, permission, callback) => {
    callback(GRANTED_PERMISSIONS.has(permission) && isOurPage(contents.getURL()));
  });
  session.defaultSession.setPermissionCheckHandler((_contents, permission, requestingOrigin) => {
    return GRANTED_PERMISSIONS.has(permission) && requestingOrigin === APP_ORIGIN;
  });
}

function sendToOurWindows(message: { event: IpcEvent; payload: unknown }): void {
  for (const window of BrowserWindow.getAllWindows()) {
    if (!window.isDestroyed() && isOurPage(window.webContents.getURL())) window.webContents.send(EVENT_CHANNEL, message);
  }
}

/**
 * Registers the phone hotkeys system-wide, so an operator can answer from another program.
 * A combination another program already holds is left out and reported back, and the
 * renderer keeps its in-window hotkey for it.
 */
function registerGlobalShortcuts(request: unknown): Result<{ global: boolean; registered: PhoneHotkeyAction[] }> {
  const parsed = IPC_CHANNELS['system:globalShortcuts'].request.safeParse(request);
  if (!parsed.success) return fail('invalid_input', describeZodError(parsed.error, 'payload'));
  globalShortcut.unregisterAll();
  const registered: PhoneHotkeyAction[] = [];
  for (const { action, combo } of parsed.data.bindings) {
    const accelerator = toElectronAccelerator(combo);
    if (!accelerator) continue;
    const done = globalShortcut.register(accelerator, () => sendToOurWindows({ event: 'system:shortcut', payload: { action } }));
    if (done) registered.push(action);
    else logger.warn('a phone hotkey is taken by another program', { action, accelerator });
  }
  return ok({ global: true, registered });
}

/** After sleep or a screen lock the SIP WebSocket is usually dead without having closed. */
function relayPowerEvents(): void {
  powerMonitor.on('resume', () => sendToOurWindows({ event: 'system:resumed', payload: { reason: 'resume' } }));
  powerMonitor.on('unlock-screen', () => sendToOurWindows({ event: 'system:resumed', payload: { reason: 'unlock-screen' } }));
}

function guardNavigation(contents: WebContents): void {
  const keepOnOurPage = (event: { preventDefault(): void }, url: string) => {
    if (isOurPage(url)) return;
    event.preventDefault();
    openExternally(url);
  };
  contents.on('will-navigate', (event) => keepOnOurPage(event, event.url));
  contents.on('will-redirect', (event) => keepOnOurPage(event, event.url));
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/**
 * A link the user chose in content (an e-mail) after the app asked them to confirm: the core
 * has checked it is http(s) or mailto; the system browser or mail program opens it.
 */
async function openFromContent(checked: OpenExternalResult): Promise<Result<OpenExternalResult>> {
  try {
    await shell.openExternal(checked.url);
    return ok({ url: checked.url, opened: true });
  } catch (error) {
    logger.warn('the system could not open a link', { error: error instanceof Error ? error.message : String(error) });
    return fail('internal', 'The system could not open the link');
  }
}

function registerIpc(core: Core): void {
  for (const channel of Object.keys(IPC_CHANNELS) as IpcChannel[]) {
    ipcMain.handle(channel, async (event, payload: unknown) => {
      if (!isOurFrame(event.senderFrame)) {
        logger.warn('IPC from a frame that is not the app refused', { channel });
        return fail('forbidden', 'This page may not talk to Tsunagu');
      }
      if (channel === 'system:globalShortcuts') return registerGlobalShortcuts(payload);
      const result = await core.invoke(channel, payload);
      if (channel === 'shell:openExternal' && result.ok) return openFromContent(result.value as OpenExternalResult);
      return result;
    });
  }
  core.onEvent((event, payload) => sendToOurWindows({ event, payload }));
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Tsunagu',
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    // A second instance would open the same cache and run a second sync engine on it.
    app.quit();
    return;
  }
  app.on('web-contents-created', (_event, contents) => guardNavigation(contents));
  await app.whenReady();

  const userData = app.getPath('userData');
  const core = createCore({
    dataDir: path.join(userData, 'cache'),
    backendUrl: process.env.TSUNAGU_BACKEND_URL ?? DEFAULT_BACKEND_URL,
    tokenStore: new SafeStorageTokenStore(path.join(userData, 'session-token.bin'), logger),
    cacheKeys: createSafeStorageCacheKeyStore(logger),
    logger,
    app: { version: app.getVersion(), shell: 'electron', locale: app.getLocale() },
    snapshotWorkerFile: path.join(__dirname, 'snapshot-worker.cjs'),
  });
  serveRenderer();
  restrictPermissions();
  registerIpc(core);
  relayPowerEvents();
  let window = createWindow();

  app.on('second-instance', () => {
    if (window.isDestroyed()) window = createWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let disposed = false;
  app.on('will-quit', (event) => {
    globalShortcut.unregisterAll();
    if (disposed) return;
    // Stop the sync engine and close the cache cleanly before the process goes.
    event.preventDefault();
    void core.dispose().finally(() => {
      disposed = true;
      app.quit();
    });
  });
}

main().catch((error: unknown) => {
  logger.error('Tsunagu failed to start', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  app.exit(1);
});
