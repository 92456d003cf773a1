import { EventEmitter } from 'node:events';

/**
 * A stand-in for the parts of the `electron` module that electron/main.ts uses, for
 * electron/main.test.ts (which says why a stand-in is right there). It records what main.ts
 * registers (window options, protocol, session and IPC handlers) and lets the test play the
 * part of Chromium: fire navigation, window.open, <webview>, permission requests, IPC from a
 * chosen frame, power events, and choose what safeStorage has to offer.
 *
 * It behaves as Electron documents, no more: events carry the same arguments, handlers are
 * called with the same shapes (PermissionRequest details, IpcMainInvokeEvent.senderFrame).
 */

export interface StandInFrame {
  url: string;
  parent: StandInFrame | null;
  top: StandInFrame;
}

export function topFrame(url: string): StandInFrame {
  const frame = { url, parent: null } as StandInFrame;
  frame.top = frame;
  return frame;
}

export function childFrame(parent: StandInFrame, url: string): StandInFrame {
  return { url, parent, top: parent.top };
}

type WindowOpenHandler = (details: { url: string; frameName: string; features: string; disposition: string }) => { action: 'allow' | 'deny' };

export class StandInWebContents extends EventEmitter {
  url = '';
  readonly mainFrame: StandInFrame = topFrame('');
  readonly sent: Array<{ channel: string; message: unknown }> = [];
  windowOpenHandler: WindowOpenHandler | null = null;

  getURL(): string {
    return this.url;
  }

  isDestroyed(): boolean {
    return false;
  }

  send(channel: string, message: unknown): void {
    this.sent.push({ channel, message });
  }

  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }

  /** Fires a navigation event as Chromium would; true when main.ts let it happen. */
  navigate(event: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    const details = { url, isMainFrame: true, frame: this.mainFrame, preventDefault: () => (prevented = true) };
    this.emit(event, details, url);
    return !prevented;
  }

  /** window.open / target=_blank: what the window-open handler answered. */
  openWindow(url: string): 'allow' | 'deny' | 'no handler' {
    if (!this.windowOpenHandler) return 'no handler';
    return this.windowOpenHandler({ url, frameName: '', features: '', disposition: 'foreground-tab' }).action;
  }

  /** A <webview> about to be attached: true when main.ts let it attach. */
  attachWebview(src: string): boolean {
    let prevented = false;
    const webPreferences: Record<string, unknown> = {};
    this.emit('will-attach-webview', { preventDefault: () => (prevented = true) }, webPreferences, { src });
    return !prevented;
  }
}

export class StandInBrowserWindow extends EventEmitter {
  static readonly all: StandInBrowserWindow[] = [];
  static onCreated: ((window: StandInBrowserWindow) => void) | null = null;

  readonly webContents = new StandInWebContents();
  shown = false;

  constructor(readonly options: Record<string, unknown>) {
    super();
    StandInBrowserWindow.all.push(this);
    standIn.app.emit('web-contents-created', {}, this.webContents);
    StandInBrowserWindow.onCreated?.(this);
  }

  static getAllWindows(): StandInBrowserWindow[] {
    return [...StandInBrowserWindow.all];
  }

  async loadURL(url: string): Promise<void> {
    this.webContents.url = url;
    this.webContents.mainFrame.url = url;
  }

  show(): void {
    this.shown = true;
  }
  isDestroyed(): boolean {
    return false;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
}

type IpcHandler = (event: { sender: StandInWebContents; senderFrame: StandInFrame | null }, payload: unknown) => unknown;
type PermissionRequestHandler = (
  contents: StandInWebContents,
  permission: string,
  callback: (granted: boolean) => void,
  details: { requestingUrl: string; isMainFrame: boolean; mediaTypes?: Array<'audio' | 'video'>; securityOrigin?: string },
) => void;
type PermissionCheckHandler = (
  contents: StandInWebContents | null,
  permission: string,
  requestingOrigin: string,
  details: { requestingUrl?: string; isMainFrame: boolean; mediaType?: 'audio' | 'video' | 'unknown'; securityOrigin?: string },
) => boolean;
/** The parts of Electron's DownloadItem main.ts uses. */
export interface StandInDownloadItem {
  getURL(): string;
  getFilename(): string;
  cancel(): void;
  setSaveDialogOptions(options: { defaultPath?: string }): void;
}
type WillDownloadListener = (event: { preventDefault(): void }, item: StandInDownloadItem, contents: StandInWebContents) => void;
type HeadersListener = (
  details: { url: string; responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders?: Record<string, string[]> }) => void,
) => void;

/** What safeStorage offers on this pretend machine, and every secret handed to it. */
export interface SafeStorageState {
  available: boolean;
  /** Linux only: 'basic_text' means Chromium fell back to a hard-coded key. */
  backend: 'basic_text' | 'gnome_libsecret' | 'kwallet5' | 'unknown';
  encrypted: string[];
}

function createStandIn() {
  const app = Object.assign(new EventEmitter(), {
    userData: '',
    readyResolve: (() => {}) as () => void,
    ready: null as Promise<void> | null,
    quitCalls: 0,
    exitCodes: [] as number[],
    requestSingleInstanceLock: () => true,
    /** Chromium's command-line switches main.ts appended (name → value). */
    commandLine: Object.assign(new Map<string, string>(), {
      appendSwitch(this: Map<string, string>, name: string, value = '') {
        this.set(name, value);
      },
    }),
    whenReady(): Promise<void> {
      return (this.ready ??= new Promise<void>((resolve) => (this.readyResolve = resolve)));
    },
    getPath(name: string): string {
      if (name !== 'userData') throw new Error(`the stand-in has no path ${name}`);
      return this.userData;
    },
    getVersion: () => '0.0.0-test',
    getLocale: () => 'ja',
    quit() {
      this.quitCalls++;
      (this as unknown as EventEmitter).emit('stand-in:quit');
    },
    exit(code: number) {
      this.exitCodes.push(code);
    },
  });

  const ipcHandlers = new Map<string, IpcHandler>();
  const protocolHandlers = new Map<string, (request: Request) => Promise<Response> | Response>();
  const privilegedSchemes: Array<{ scheme: string; privileges: Record<string, boolean> }> = [];
  const openedExternally: string[] = [];
  const safeStorageState: SafeStorageState = { available: true, backend: 'gnome_libsecret', encrypted: [] };
  const sessionHandlers = {
    permissionRequest: null as PermissionRequestHandler | null,
    permissionCheck: null as PermissionCheckHandler | null,
    headers: null as HeadersListener | null,
    willDownload: null as WillDownloadListener | null,
  };
  const powerMonitor = new EventEmitter();
  const shortcuts = new Map<string, () => void>();

  /** Not real encryption: a marked, reversible scrambling, so a test can tell it went through safeStorage. */
  const MARK = Buffer.from('stand-in-safeStorage:');
  const scramble = (bytes: Buffer) => Buffer.from(bytes.map((byte) => byte ^ 0xa5));

  return {
    app,
    ipcHandlers,
    protocolHandlers,
    privilegedSchemes,
    openedExternally,
    safeStorageState,
    sessionHandlers,
    powerMonitorEmitter: powerMonitor,
    shortcuts,
    module: {
      app,
      BrowserWindow: StandInBrowserWindow,
      globalShortcut: {
        register(accelerator: string, callback: () => void) {
          shortcuts.set(accelerator, callback);
          return true;
        },
        unregisterAll() {
          shortcuts.clear();
        },
      },
      ipcMain: {
        handle(channel: string, handler: IpcHandler) {
          if (ipcHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
          ipcHandlers.set(channel, handler);
        },
      },
      powerMonitor,
      protocol: {
        registerSchemesAsPrivileged(schemes: Array<{ scheme: string; privileges: Record<string, boolean> }>) {
          if (app.ready) throw new Error('registerSchemesAsPrivileged must be called before the app is ready');
          privilegedSchemes.push(...schemes);
        },
        handle(scheme: string, handler: (request: Request) => Promise<Response> | Response) {
          protocolHandlers.set(scheme, handler);
        },
      },
      safeStorage: {
        isEncryptionAvailable: () => safeStorageState.available,
        getSelectedStorageBackend: () => safeStorageState.backend,
        encryptString(plain: string): Buffer {
          if (!safeStorageState.available) throw new Error('Error while encrypting the text provided to safeStorage.encryptString. Encryption is not available.');
          safeStorageState.encrypted.push(plain);
          return Buffer.concat([MARK, scramble(Buffer.from(plain, 'utf8'))]);
        },
        decryptString(encrypted: Buffer): string {
          if (!safeStorageState.available) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString. Decryption is not available.');
          if (!encrypted.subarray(0, MARK.length).equals(MARK)) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
          return scramble(encrypted.subarray(MARK.length)).toString('utf8');
        },
      },
      session: {
        defaultSession: {
          webRequest: {
            onHeadersReceived(listener: HeadersListener) {
              sessionHandlers.headers = listener;
            },
          },
          setPermissionRequestHandler(handler: PermissionRequestHandler) {
            sessionHandlers.permissionRequest = handler;
          },
          setPermissionCheckHandler(handler: PermissionCheckHandler) {
            sessionHandlers.permissionCheck = handler;
          },
          on(event: string, listener: WillDownloadListener) {
            if (event !== 'will-download') throw new Error(`the stand-in session has no '${event}' event`);
            sessionHandlers.willDownload = listener;
          },
        },
      },
      shell: {
        async openExternal(url: string) {
          openedExternally.push(url);
        },
      },
    },
  };
}

export type ElectronStandIn = ReturnType<typeof createStandIn>;

/** The current stand-in; `resetStandIn` gives each test a fresh one (main.ts is re-imported too). */
export let standIn: ElectronStandIn = createStandIn();

export function resetStandIn(): ElectronStandIn {
  StandInBrowserWindow.all.length = 0;
  StandInBrowserWindow.onCreated = null;
  standIn = createStandIn();
  return standIn;
}
