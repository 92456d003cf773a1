import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ctiTokenSha256 } from '../../backend/src/telephony/cti-access.js';
import { run, startProcess, type Started } from './processes.js';

/**
 * One isolated Tsunagu installation for an e2e test: its own data directory, a backend on
 * its own SQLite file seeded with demo data, and the desktop core behind the browser shell.
 */
export interface Stack {
  dir: string;
  dbPath: string;
  backendUrl: string;
  backendPort: number;
  shellUrl: string;
  backend: Started | null;
  shell: Started;
  /**
   * The dev PBX's access to the CTI routes: a token made for this stack (the backend knows only
   * its SHA-256), serving the seeded tenants. Important: never print it.
   */
  cti: { pbxId: string; token: string; tenants: readonly string[] };
  startBackend(): Promise<void>;
  /**
   * Another browser shell (its own core, data directory and session) on the same backend, for a
   * second user at the same time, e.g. a supervisor beside an operator. Returns its URL.
   */
  startShell(name: string): Promise<string>;
  stopBackend(): Promise<void>;
  /** Read-only queries on the backend's database, as the assertions' source of truth. */
  query<T>(sql: string, ...params: unknown[]): T[];
}

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const node = process.execPath;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The PBX the backend issues SIP credentials for (e.g. a startTestPbx() from pbx/test-support). */
export interface StackSipOptions {
  /** The autheph secret shared with the PBX. */
  secret: string;
  /** The PBX's SIP WebSocket as the app reaches it. */
  wsUrl: string;
  /** Domain of the agents' addresses of record; the backend's default when omitted. */
  domain?: string;
}

export interface StackOptions {
  customers: number;
  extraBackendEnv?: Record<string, string>;
  /** Issue SIP credentials for this PBX (TSUNAGU_SIP_SECRET / TSUNAGU_SIP_WS_URL / TSUNAGU_SIP_DOMAIN). */
  sip?: StackSipOptions;
  /**
   * The backend's port and the PBX's CTI token, for a PBX started before the stack that
   * consults this backend (startTestPbx({ cti: { backendUrl, token, … } })); chosen here when omitted.
   */
  backendPort?: number;
  ctiToken?: string;
  /** Run the bundled browser shell (dist/browser-shell/cli.js, `npm run build`) instead of the sources under tsx. */
  bundledShell?: boolean;
}

/** A CTI token for a PBX and the stack whose backend it consults. */
export function newCtiToken(): string {
  return randomBytes(32).toString('base64url');
}

function sipEnv(sip: StackSipOptions | undefined): Record<string, string> {
  if (!sip) return {};
  return {
    TSUNAGU_SIP_SECRET: sip.secret,
    TSUNAGU_SIP_WS_URL: sip.wsUrl,
    ...(sip.domain ? { TSUNAGU_SIP_DOMAIN: sip.domain } : {}),
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-e2e-'));
  const dbPath = path.join(dir, 'backend.db');
  await run(node, ['--import', 'tsx', path.join(root, 'scripts/seed.ts'), '--customers', String(options.customers), '--db', dbPath]);
  const backendPort = options.backendPort ?? (await freePort());
  const backendUrl = `http://127.0.0.1:${backendPort}`;
  const cti = { pbxId: 'dev-pbx', token: options.ctiToken ?? newCtiToken(), tenants: ['demo', 'other'] };
  const backendEnv = {
    TSUNAGU_DB_PATH: dbPath,
    TSUNAGU_BACKEND_PORT: String(backendPort),
    TSUNAGU_LOG_LEVEL: 'warn',
    TSUNAGU_SMTP_PORT: String(await freePort()),
    TSUNAGU_CTI_PBXES: JSON.stringify([{ id: cti.pbxId, tenants: cti.tenants, tokenSha256: ctiTokenSha256(cti.token) }]),
    ...sipEnv(options.sip),
    ...options.extraBackendEnv,
  };

  const stack: Stack = {
    dir,
    dbPath,
    backendUrl,
    backendPort,
    shellUrl: '',
    backend: null,
    shell: undefined as unknown as Started,
    cti,
    async startBackend() {
      const { started } = await startProcess({
        name: 'backend',
        command: node,
        args: ['--import', 'tsx', path.join(root, 'backend/src/main.ts')],
        env: backendEnv,
        readyWhen: /listening on http/,
      });
      stack.backend = started;
    },
    async startShell(name: string) {
      const extra = await startShell(backendUrl, path.join(dir, `app-${name}`), `shell-${name}`, options.sip?.wsUrl, options.bundledShell);
      return extra.url;
    },
    async stopBackend() {
      await stack.backend?.stop();
      stack.backend = null;
    },
    query<T>(sql: string, ...params: unknown[]): T[] {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
  };
  await stack.startBackend();
  const first = await startShell(backendUrl, path.join(dir, 'app'), 'shell', options.sip?.wsUrl, options.bundledShell);
  stack.shell = first.started;
  stack.shellUrl = first.url;
  return stack;
}

async function startShell(
  backendUrl: string,
  dataDir: string,
  name: string,
  pbxWsUrl: string | undefined,
  bundled = false,
): Promise<{ started: Started; url: string }> {
  const { started, match } = await startProcess({
    name,
    command: node,
    args: bundled ? [path.join(root, 'dist', 'browser-shell', 'cli.js')] : ['--import', 'tsx', path.join(root, 'electron/browser-shell/cli.ts')],
    env: {
      TSUNAGU_BACKEND_URL: backendUrl,
      TSUNAGU_DATA_DIR: dataDir,
      TSUNAGU_RENDERER_DIR: path.join(root, 'dist', 'renderer'),
      TSUNAGU_LOG_LEVEL: 'warn',
      // The page's CSP admits only the configured PBX WebSocket.
      ...(pbxWsUrl ? { TSUNAGU_PBX_WS_URL: pbxWsUrl } : {}),
    },
    readyWhen: /tsunagu shell: ready (\S+)/,
  });
  return { started, url: match[1]! };
}

export function removeStackDir(stack: Stack | undefined): void {
  if (stack && !process.env.TSUNAGU_KEEP_TEST_LOGS) fs.rmSync(stack.dir, { recursive: true, force: true });
}
