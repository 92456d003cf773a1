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
import { IPC_CHANNELS, toExternalUrl, type IpcChannel, type IpcEvent, type OpenExternalResult, type PHONE_HOTKEY_ACTIONS } from '../shared/ipc.js';
import { describeZodError } from '../shared/validation.js';
import { fail, ok, type Result } from '../shared/result.js';
import { createSafeStorageCacheKeyStore, osKeychainIsReal } from './cache-key.js';
import { createCore, type Core } from './core/core.js';
import { createStderrLogger, type Logger } from './core/logger.js';
import type { TokenStore } from './core/token-store.js';
import { parsePbxUrls, rendererCsp } from './csp.js';
import { RENDERER_JS_FLAGS } from './renderer-v8-flags.js';
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
const backendUrl = process.env.TSUNAGU_BACKEND_URL ?? DEFAULT_BACKEND_URL;
/** Throws on a bad TSUNAGU_BACKEND_URL / TSUNAGU_PBX_WS_URL, naming it, before anything starts. */
const RENDERER_CSP = rendererCsp({ backendUrl, pbxUrls: parsePbxUrls(process.env.TSUNAGU_PBX_WS_URL) });

// Before `ready`, so that the renderers start with them (electron/renderer-v8-flags.ts).
app.commandLine.appendSwitch('js-flags', RENDERER_JS_FLAGS);

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

/**
 * IPC is the app page's alone: the top-level frame showing our page. A subframe never is, even
 * one that loads our own origin (the mail frame is a sandboxed srcdoc frame; nothing else is framed).
 */
function isOurTopFrame(frame: WebFrameMain | null | undefined): boolean {
  return frame !== null && frame !== undefined && frame.parent === null && isOurPage(frame.url);
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
 * What the softphone needs, and only for our own page: the microphone (no camera: `media` is
 * granted only when every requested media type is audio), the output-device choice (setSinkId
 * for headset and ring device) and the incoming-call notification. Everything else is refused.
 */
const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['media', 'speaker-selection', 'notifications']);

/**
 * Important: decided on the frame that asks, never on the window's top-level URL, so a frame
 * inside our page (the mail frame) gets nothing. Only our top-level page is ever granted.
 */
function mayGrant(permission: string, frame: { url: string | undefined; isMainFrame: boolean }, mediaTypes: readonly string[] | undefined): boolean {
  if (!GRANTED_PERMISSIONS.has(permission) || !frame.isMainFrame || !isOurPage(frame.url)) return false;
  if (permission !== 'media') return true;
  return mediaTypes !== undefined && mediaTypes.length > 0 && mediaTypes.every((type) => type === 'audio');
}

function restrictPermissions(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details ? details.mediaTypes : undefined;
    const granted = mayGrant(permission, { url: details.requestingUrl, isMainFrame: details.isMainFrame }, mediaTypes);
    if (!granted) logger.info('permission refused', { permission, mediaTypes: mediaTypes?.join(',') ?? '', mainFrame: details.isMainFrame });
    callback(granted);
  });
  session.defaultSession.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) => {
    if (requestingOrigin !== APP_ORIGIN) return false;
    const mediaTypes = details.mediaType === undefined ? undefined : [details.mediaType];
    return mayGrant(permission, { url: details.requestingUrl ?? `${requestingOrigin}/`, isMainFrame: details.isMainFrame }, mediaTypes);
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

/**
 * The window never leaves our page and never opens another one. Links are not followed here
 * at all: the only way out is `shell:openExternal`, after the user confirmed the full URL.
 */
function guardNavigation(contents: WebContents): void {
  const keepOnOurPage = (event: { preventDefault(): void }, url: string) => {
    if (isOurPage(url)) return;
    event.preventDefault();
    logger.warn('navigation away from the app refused', { scheme: schemeOf(url) });
  };
  contents.on('will-navigate', (event) => keepOnOurPage(event, event.url));
  contents.on('will-redirect', (event) => keepOnOurPage(event, event.url));
  contents.setWindowOpenHandler(({ url }) => {
    logger.warn('a new window refused', { scheme: schemeOf(url) });
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/**
 * Files the app saves (a call recording, a partner export) are blob: URLs made by our own page:
 * they go through the system's save dialog under the name the page gave. Any other download
 * (a link that would fetch from elsewhere) is cancelled.
 */
function guardDownloads(): void {
  session.defaultSession.on('will-download', (_event, item) => {
    const url = item.getURL();
    if (!url.startsWith(`blob:${APP_ORIGIN}/`)) {
      item.cancel();
      logger.warn('a download not made by the app refused', { scheme: schemeOf(url) });
      return;
    }
    item.setSaveDialogOptions({ defaultPath: item.getFilename() });
  });
}

function schemeOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return 'invalid';
  }
}

/**
 * A link the user chose in content (an e-mail) after the app asked them to confirm: the core
 * has checked it is http(s) or mailto; the system browser or mail program opens it. Checked
 * again here with the same shared rule, because this is where it leaves the app.
 */
async function openFromContent(checked: OpenExternalResult): Promise<Result<OpenExternalResult>> {
  if (toExternalUrl(checked.url) !== checked.url) return fail('invalid_input', 'url: must be an absolute http(s) or mailto URL');
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
      if (!isOurTopFrame(event.senderFrame)) {
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
      webviewTag: false,
      allowRunningInsecureContent: false,
      navigateOnDragDrop: false,
      // A middle click on a link would otherwise open it in a new window, past will-navigate.
      disableBlinkFeatures: 'Auxclick',
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

/** Beside main.cjs when bundled; unbundled (main.ts run from source in its test) the core finds its own. */
function bundledSnapshotWorker(): string | undefined {
  const file = path.join(__dirname, 'snapshot-worker.cjs');
  return fs.existsSync(file) ? file : undefined;
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
    backendUrl,
    tokenStore: new SafeStorageTokenStore(path.join(userData, 'session-token.bin'), logger),
    cacheKeys: createSafeStorageCacheKeyStore(logger),
    logger,
    app: { version: app.getVersion(), shell: 'electron', locale: app.getLocale() },
    snapshotWorkerFile: bundledSnapshotWorker(),
  });
  serveRenderer();
  restrictPermissions();
  guardDownloads();
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
