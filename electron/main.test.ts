import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API } from '../shared/api.js';
import { DEMO_PASSWORD } from '../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../backend/src/testing/harness.js';
import { rendererCsp } from './csp.js';
import { RENDERER_JS_FLAGS } from './renderer-v8-flags.js';
import {
  childFrame,
  resetStandIn,
  StandInBrowserWindow,
  topFrame,
  type ElectronStandIn,
  type SafeStorageState,
  type StandInFrame,
} from './testing/electron-stand-in.js';

/**
 * electron/main.ts, the Electron main process, run for real: its own code, the real desktop
 * core, a real backend on loopback and real files under a temporary userData folder.
 *
 * Important: only the `electron` module is a stand-in (electron/testing/electron-stand-in.ts).
 * This is the one place in the project where a stand-in is right, because the real thing
 * cannot exist here: no Electron binary can be downloaded or run on this machine (no display,
 * no network for the binary), so the only way to test the main process's security decisions
 * is to hand it an API that records what it registers and lets the test play Chromium's part.
 * Everything the stand-in does follows Electron's documented contract; the decisions under
 * test (what is granted, refused, opened, stored) are all main.ts's own.
 */

const current = vi.hoisted(() => ({ standIn: null as ElectronStandIn | null }));
vi.mock('electron', () => {
  const get = () => {
    if (!current.standIn) throw new Error('no Electron stand-in for this test');
    return current.standIn.module;
  };
  return {
    get app() {
      return get().app;
    },
    get BrowserWindow() {
      return get().BrowserWindow;
    },
    get globalShortcut() {
      return get().globalShortcut;
    },
    get ipcMain() {
      return get().ipcMain;
    },
    get powerMonitor() {
      return get().powerMonitor;
    },
    get protocol() {
      return get().protocol;
    },
    get safeStorage() {
      return get().safeStorage;
    },
    get session() {
      return get().session;
    },
    get shell() {
      return get().shell;
    },
  };
});

const APP_PAGE = 'tsunagu://app/index.html';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-main-test-'));
const rendererDir = path.join(scratch, 'renderer');
let backend: TestBackend;
let backendUrl: string;

interface Running {
  electron: ElectronStandIn;
  window: StandInBrowserWindow;
  userData: string;
  invoke(channel: string, payload?: unknown, frame?: StandInFrame | null): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }>;
  quit(): Promise<void>;
}
const running: Running[] = [];

/** Loads main.ts afresh against a fresh stand-in, makes the app ready and waits for its window. */
async function startMain(options: { safeStorage?: Partial<Omit<SafeStorageState, 'encrypted'>>; userData?: string } = {}): Promise<Running> {
  const electron = resetStandIn();
  current.standIn = electron;
  Object.assign(electron.safeStorageState, options.safeStorage);
  const userData = options.userData ?? fs.mkdtempSync(path.join(scratch, 'user-data-'));
  electron.app.userData = userData;
  vi.stubEnv('TSUNAGU_RENDERER_DIR', rendererDir);
  vi.stubEnv('TSUNAGU_BACKEND_URL', backendUrl);
  vi.resetModules();
  const windowCreated = new Promise<StandInBrowserWindow>((resolve) => (StandInBrowserWindow.onCreated = resolve));
  await import('./main.js');
  void electron.app.whenReady();
  electron.app.readyResolve();
  const window = await windowCreated;
  const handle: Running = {
    electron,
    window,
    userData,
    async invoke(channel, payload, frame = window.webContents.mainFrame) {
      const handler = electron.ipcHandlers.get(channel);
      if (!handler) throw new Error(`main.ts registered no IPC handler for ${channel}`);
      return (await handler({ sender: window.webContents, senderFrame: frame }, payload)) as Awaited<ReturnType<Running['invoke']>>;
    },
    async quit() {
      const quitting = once(electron.app, 'stand-in:quit');
      electron.app.emit('will-quit', { preventDefault: () => {} });
      await quitting;
      running.splice(running.indexOf(handle), 1);
    },
  };
  running.push(handle);
  return handle;
}

/** Every file main.ts and the core wrote under userData, with its bytes. */
function filesUnder(dir: string): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(file));
    else if (entry.isFile()) out.push({ file, bytes: fs.readFileSync(file) });
  }
  return out;
}

/** The session tokens the backend hands out, read off the wire as the core receives them. */
function recordIssuedTokens(): string[] {
  const tokens: string[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const response = await realFetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (new URL(url).pathname === API.login && response.ok) tokens.push(((await response.clone().json()) as { token: string }).token);
    return response;
  });
  return tokens;
}

const login = { tenant: 'demo', login: 'supervisor', password: DEMO_PASSWORD };

beforeAll(async () => {
  fs.mkdirSync(rendererDir, { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Tsunagu</title>');
  backend = await startTestBackend('sqlite');
  backendUrl = await backend.listen();
});

afterEach(async () => {
  for (const app of [...running].reverse()) await app.quit();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await backend?.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('the window', () => {
  it('is sandboxed and isolated, shows our page from the privileged app scheme, and has no <webview> or middle-click windows', async () => {
    const { window, electron } = await startMain();
    expect(window.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
      disableBlinkFeatures: 'Auxclick',
    });
    expect(String((window.options.webPreferences as { preload: string }).preload)).toMatch(/preload\.cjs$/);
    expect(window.webContents.getURL()).toBe(APP_PAGE);
    expect(electron.privilegedSchemes).toEqual([{ scheme: 'tsunagu', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  it('serves the renderer on tsunagu://app/ only, with the CSP built from the configured backend and PBX on every response', async () => {
    vi.stubEnv('TSUNAGU_PBX_WS_URL', 'wss://pbx.example.co.jp:7443/ws');
    const { electron } = await startMain();
    const serve = electron.protocolHandlers.get('tsunagu')!;
    const page = await serve(new Request(APP_PAGE));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(rendererCsp({ backendUrl, pbxUrls: ['wss://pbx.example.co.jp:7443/ws'] }));
    expect((await serve(new Request('tsunagu://elsewhere/index.html'))).status).toBe(404);
    expect((await serve(new Request('tsunagu://app/..%2f..%2f..%2fetc%2fpasswd'))).status).toBe(404);
    let headers: Record<string, string[]> | undefined;
    electron.sessionHandlers.headers!({ url: 'https://cti.example/x', responseHeaders: {} }, (response) => (headers = response.responseHeaders));
    expect(headers?.['Content-Security-Policy']?.[0]).toBe(page.headers.get('content-security-policy'));
  });

  it("starts its renderers with the app's V8 flags (a heap sized for memory, not speed)", async () => {
    const { electron } = await startMain();
    expect(electron.app.commandLine.get('js-flags')).toBe(RENDERER_JS_FLAGS);
    expect(RENDERER_JS_FLAGS).toContain('--optimize-for-size');
  });

  it('does not start with a PBX setting the CSP cannot pin, and says which setting is wrong', async () => {
    vi.stubEnv('TSUNAGU_PBX_WS_URL', 'https://pbx.example.co.jp');
    await expect(startMain()).rejects.toThrow(/TSUNAGU_PBX_WS_URL: must be a ws: or wss: URL/);
  });
});

describe('navigation and new windows', () => {
  it('never leaves our page and opens nothing on its own: links go out only through shell:openExternal', async () => {
    const { window, electron } = await startMain();
    const contents = window.webContents;
    expect(contents.navigate('will-navigate', 'https://evil.example/phish')).toBe(false);
    expect(contents.navigate('will-navigate', 'file:///etc/passwd')).toBe(false);
    expect(contents.navigate('will-navigate', 'tsunagu://other/index.html')).toBe(false);
    expect(contents.navigate('will-redirect', 'http://127.0.0.1:9/')).toBe(false);
    expect(contents.navigate('will-navigate', 'tsunagu://app/index.html#/mail')).toBe(true);
    expect(contents.openWindow('https://evil.example/popup')).toBe('deny');
    expect(contents.openWindow('tsunagu://app/index.html')).toBe('deny');
    expect(contents.openWindow('mailto:someone@example.com')).toBe('deny');
    expect(contents.attachWebview('https://evil.example/')).toBe(false);
    expect(electron.openedExternally).toEqual([]);
  });

  it('guards every web contents the app creates, not only the first window', async () => {
    const { electron } = await startMain();
    const second = new StandInBrowserWindow({});
    expect(second.webContents.navigate('will-navigate', 'https://evil.example/')).toBe(false);
    expect(second.webContents.openWindow('https://evil.example/')).toBe('deny');
    expect(electron.openedExternally).toEqual([]);
  });
});

describe('downloads', () => {
  function download(app: Running, url: string, filename: string) {
    const outcome = { cancelled: false, dialog: null as { defaultPath?: string } | null };
    app.electron.sessionHandlers.willDownload!(
      { preventDefault: () => undefined },
      {
        getURL: () => url,
        getFilename: () => filename,
        cancel: () => (outcome.cancelled = true),
        setSaveDialogOptions: (options) => (outcome.dialog = options),
      },
      app.window.webContents,
    );
    return outcome;
  }

  it('saves what our page made (a recording, an export) through the save dialog, and nothing from elsewhere', async () => {
    const app = await startMain();
    expect(download(app, 'blob:tsunagu://app/6f1c2b9e-0000-4000-8000-000000000001', 'recording-1.mp3')).toEqual({
      cancelled: false,
      dialog: { defaultPath: 'recording-1.mp3' },
    });
    expect(download(app, 'https://evil.example/payload.exe', 'payload.exe')).toEqual({ cancelled: true, dialog: null });
    expect(download(app, 'blob:https://evil.example/6f1c2b9e', 'x.mp3')).toEqual({ cancelled: true, dialog: null });
    expect(download(app, `${backendUrl}/api/recording-audio/x?ticket=abc`, 'recording.mp3')).toEqual({ cancelled: true, dialog: null });
  });
});

describe('permissions', () => {
  async function request(app: Running, permission: string, details: { requestingUrl: string; isMainFrame: boolean; mediaTypes?: Array<'audio' | 'video'> }) {
    let answer: boolean | undefined;
    app.electron.sessionHandlers.permissionRequest!(app.window.webContents, permission, (granted) => (answer = granted), details);
    expect(answer, `${permission} must be answered at once`).toBeDefined();
    return answer;
  }

  it('grants the microphone, speaker selection and notifications to our top-level page, and nothing else', async () => {
    const app = await startMain();
    const ours = { requestingUrl: APP_PAGE, isMainFrame: true };
    expect(await request(app, 'media', { ...ours, mediaTypes: ['audio'] })).toBe(true);
    expect(await request(app, 'speaker-selection', ours)).toBe(true);
    expect(await request(app, 'notifications', ours)).toBe(true);
    expect(await request(app, 'media', { ...ours, mediaTypes: ['audio', 'video'] })).toBe(false);
    expect(await request(app, 'media', { ...ours, mediaTypes: ['video'] })).toBe(false);
    expect(await request(app, 'media', ours)).toBe(false);
    for (const permission of ['geolocation', 'display-capture', 'clipboard-read', 'midiSysex', 'openExternal', 'fileSystem', 'pointerLock', 'hid']) {
      expect(await request(app, permission, ours), permission).toBe(false);
    }
  });

  it('decides on the requesting frame: a frame inside our page (the mail frame) gets nothing', async () => {
    const app = await startMain();
    expect(app.window.webContents.getURL()).toBe(APP_PAGE);
    expect(await request(app, 'media', { requestingUrl: 'about:srcdoc', isMainFrame: false, mediaTypes: ['audio'] })).toBe(false);
    expect(await request(app, 'notifications', { requestingUrl: 'https://tracker.example/', isMainFrame: false })).toBe(false);
    expect(await request(app, 'media', { requestingUrl: APP_PAGE, isMainFrame: false, mediaTypes: ['audio'] })).toBe(false);
    expect(await request(app, 'media', { requestingUrl: 'https://evil.example/', isMainFrame: true, mediaTypes: ['audio'] })).toBe(false);
  });

  it('answers permission checks the same way: audio for our top-level origin only', async () => {
    const app = await startMain();
    const check = app.electron.sessionHandlers.permissionCheck!;
    const contents = app.window.webContents;
    expect(check(contents, 'media', 'tsunagu://app', { isMainFrame: true, mediaType: 'audio', requestingUrl: APP_PAGE })).toBe(true);
    expect(check(contents, 'speaker-selection', 'tsunagu://app', { isMainFrame: true, requestingUrl: APP_PAGE })).toBe(true);
    expect(check(contents, 'media', 'tsunagu://app', { isMainFrame: true, mediaType: 'video', requestingUrl: APP_PAGE })).toBe(false);
    expect(check(contents, 'media', 'tsunagu://app', { isMainFrame: false, mediaType: 'audio', requestingUrl: APP_PAGE })).toBe(false);
    expect(check(contents, 'media', 'null', { isMainFrame: false, mediaType: 'audio', requestingUrl: 'about:srcdoc' })).toBe(false);
    expect(check(contents, 'notifications', 'https://evil.example', { isMainFrame: true, requestingUrl: 'https://evil.example/' })).toBe(false);
    expect(check(contents, 'geolocation', 'tsunagu://app', { isMainFrame: true, requestingUrl: APP_PAGE })).toBe(false);
  });
});

describe('IPC', () => {
  it('answers our top-level page and refuses every other frame, even one showing our own origin', async () => {
    const app = await startMain();
    const top = app.window.webContents.mainFrame;
    expect(await app.invoke('app:info', undefined, top)).toMatchObject({ ok: true, value: { shell: 'electron', backendUrl } });
    for (const frame of [childFrame(top, 'about:srcdoc'), childFrame(top, APP_PAGE), topFrame('https://evil.example/'), null]) {
      expect(await app.invoke('app:info', undefined, frame), frame?.url ?? 'no frame').toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(await app.invoke('shell:openExternal', { url: 'https://example.com/' }, childFrame(top, APP_PAGE))).toMatchObject({ ok: false });
    expect(app.electron.openedExternally).toEqual([]);
  });

  it('opens only http(s) and mailto links in the system browser or mail program', async () => {
    const app = await startMain();
    for (const url of ['https://example.com/invoice?id=1', 'http://example.com/', 'mailto:support@example.com']) {
      expect(await app.invoke('shell:openExternal', { url }), url).toMatchObject({ ok: true, value: { opened: true } });
    }
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://fileserver/share', 'tsunagu://app/index.html', 'ms-msdt:/id', 'data:text/html,hi', '//example.com/']) {
      expect(await app.invoke('shell:openExternal', { url }), url).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    }
    expect(app.electron.openedExternally).toEqual(['https://example.com/invoice?id=1', 'http://example.com/', 'mailto:support@example.com']);
  });
});

describe('power events', () => {
  it('tells our page after sleep or a screen lock, so the softphone re-registers', async () => {
    const app = await startMain();
    app.electron.powerMonitorEmitter.emit('resume');
    app.electron.powerMonitorEmitter.emit('unlock-screen');
    expect(app.window.webContents.sent).toEqual([
      { channel: 'tsunagu:event', message: { event: 'system:resumed', payload: { reason: 'resume' } } },
      { channel: 'tsunagu:event', message: { event: 'system:resumed', payload: { reason: 'unlock-screen' } } },
    ]);
  });
});

describe('secrets on disk', () => {
  /**
   * Generic on purpose: every secret the app holds (the session token, the password typed in,
   * and whatever the app handed to safeStorage, such as the cache key) must not appear in any
   * file under userData; only safeStorage's output may hold it.
   */
  function expectNoSecretInFiles(userData: string, secrets: readonly string[]) {
    expect(secrets.length).toBeGreaterThan(0);
    for (const { file, bytes } of filesUnder(userData)) {
      for (const secret of secrets) {
        expect(bytes.includes(Buffer.from(secret, 'utf8')), `${path.relative(userData, file)} holds a secret in plain text`).toBe(false);
      }
    }
  }

  it('keeps the session token only through safeStorage, so a restart restores the session', async () => {
    const tokens = recordIssuedTokens();
    const first = await startMain();
    expect(await first.invoke('session:login', login)).toMatchObject({ ok: true });
    expect(tokens).toHaveLength(1);
    const [token] = tokens as [string];
    expect(first.electron.safeStorageState.encrypted).toContain(token);
    await first.quit();
    expectNoSecretInFiles(first.userData, [token, DEMO_PASSWORD, ...first.electron.safeStorageState.encrypted]);

    const second = await startMain({ userData: first.userData });
    expect(await second.invoke('session:current')).toMatchObject({ ok: true, value: { user: { id: backend.demo.users.supervisor.id } } });
  });

  for (const [what, safeStorage] of [
    ['safeStorage is unavailable', { available: false }],
    ["Linux's safeStorage has only the hard-coded basic_text key", { available: true, backend: 'basic_text' }],
  ] as const) {
    it(`writes no token when ${what}: the session lasts until the app quits`, async () => {
      const tokens = recordIssuedTokens();
      const first = await startMain({ safeStorage });
      expect(await first.invoke('session:login', login)).toMatchObject({ ok: true });
      expect(tokens).toHaveLength(1);
      expect(first.electron.safeStorageState.encrypted).not.toContain(tokens[0]);
      expect(await first.invoke('session:current')).toMatchObject({ ok: true, value: { user: { id: backend.demo.users.supervisor.id } } });
      await first.quit();
      expectNoSecretInFiles(first.userData, [tokens[0]!, DEMO_PASSWORD]);

      const second = await startMain({ userData: first.userData, safeStorage });
      expect(await second.invoke('session:current')).toMatchObject({ ok: true, value: null });
    });
  }
});
