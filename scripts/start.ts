/**
 * `npm start`: the whole product on this machine, on loopback.
 *   1. the backend on its embedded SQLite file, seeded with a demo tenant the first time;
 *   2. the dev PBX (Kamailio + rtpengine from pbx/) when Kamailio is installed, and a local
 *      mail catcher as the SMTP relay (approved replies land in .data/mail-out/, listed on the
 *      backend's /dev/mail-out page) unless TSUNAGU_SMTP_RELAY_URL names a real relay;
 *   3. the agent app: the Electron shell where the Electron binary exists, otherwise the
 *      browser shell (same core, same renderer) in a Chromium app window.
 * Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ctiTokenSha256 } from '../backend/src/telephony/cti-access.js';
import { DEMO_TENANT, DEMO_USERS, OTHER_TENANT, OTHER_USERS } from '../backend/src/seed/seed-backend.js';
import { DEMO_PORTAL_ACCOUNT } from '../backend/src/portal/seed.js';
import { RENDERER_JS_FLAGS } from '../electron/renderer-v8-flags.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dataHome = path.resolve(root, process.env.TSUNAGU_HOME ?? '.data');
const backendPort = process.env.TSUNAGU_BACKEND_PORT ?? '8740';
const backendUrl = process.env.TSUNAGU_BACKEND_URL ?? `http://127.0.0.1:${backendPort}`;
const dbPath = path.resolve(root, process.env.TSUNAGU_DB_PATH ?? path.join(dataHome, 'backend.db'));
const demoCustomers = process.env.TSUNAGU_DEMO_CUSTOMERS ?? '3000';
// One secret per start, shared by the backend (which issues SIP credentials) and the PBX
// (which checks them); it is never written to disk or printed.
const sipSecret = process.env.TSUNAGU_SIP_SECRET ?? randomBytes(32).toString('base64url');
// Likewise the dev PBX's CTI token, bound to the demo tenants: the backend gets only its
// SHA-256, the PBX gets the token in its rendered config (mode 0600), never in an argument or
// on the terminal. TSUNAGU_CTI_PBXES in the environment replaces it; the PBX then routes by
// the dialled SIP user only, since it does not know that configuration's token.
const devPbxCti = { id: 'dev-pbx', tenants: ['demo', 'other'], token: randomBytes(32).toString('base64url') };

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
const say = (line: string) => process.stdout.write(`tsunagu: ${line}\n`);

function tsNode(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child;
}

function waitForLine(child: ChildProcess, pattern: RegExp, name: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      // A launch link opens one window; it is shown once, where it is meant to be opened.
      process.stdout.write(`  [${name}] ${line.replace(/#launch=\S+/, '#launch=…')}\n`);
      const match = line.match(pattern);
      if (match) resolve(match);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before it was ready`)));
  });
}

function runToEnd(script: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} failed with code ${code}`))));
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name === 'node_modules') continue;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds a Vite entry when its build is missing or older than its sources (or shared/). */
async function ensureBuilt(what: string, sourceDir: string, config: string, outDir: string): Promise<string> {
  const index = path.join(outDir, 'index.html');
  const sourcesChanged =
    !fs.existsSync(index) ||
    Math.max(newestMtime(path.join(root, sourceDir)), newestMtime(path.join(root, 'shared'))) > fs.statSync(index).mtimeMs;
  if (sourcesChanged) {
    say(`building the ${what}…`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', config, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} build failed`))));
    });
  }
  return outDir;
}

const ensureRendererBuilt = () => ensureBuilt('renderer', 'renderer', 'vite.renderer.config.ts', path.join(root, 'dist', 'renderer'));
/** The customer portal's page, which the backend serves from dist/portal. */
const ensurePortalBuilt = () => ensureBuilt('customer portal', 'portal', 'vite.portal.config.ts', path.join(root, 'dist', 'portal'));

/**
 * The Electron binary, when this machine has one. Important: do not `require('electron')` to
 * find out: it starts a download where the binary is missing, and this network has none.
 */
function electronBinary(): string | null {
  const packageDir = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(packageDir, 'path.txt');
  if (!fs.existsSync(pathFile)) return null;
  const binary = path.join(packageDir, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
  return fs.existsSync(binary) ? binary : null;
}

function chromiumBinary(): string | null {
  for (const candidate of [process.env.TSUNAGU_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function commandExists(file: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'].some((dir) => fs.existsSync(path.join(dir, file)));
}

async function startPbxIfInstalled(): Promise<string | null> {
  if (!commandExists('kamailio') || !commandExists('rtpengine')) {
    say('Kamailio or rtpengine is not installed: the softphone will stay offline (npm run setup installs them).');
    return null;
  }
  const { startPbx } = await import('../pbx/pbx.js');
  const runtimeDir = path.join(dataHome, 'pbx');
  fs.mkdirSync(runtimeDir, { recursive: true });
  const { devQueues } = await import('../pbx/dev-queues.js');
  // Only while the dev PBX's token is the backend's: with TSUNAGU_CTI_PBXES set the PBX routes by
  // the dialled SIP user and has no IVR. The IVR (pbx/media-ua/) asks demo-tenant callers who
  // withhold their number for their customer number.
  const cti = process.env.TSUNAGU_CTI_PBXES
    ? undefined
    : { backendUrl, token: devPbxCti.token, tenants: devPbxCti.tenants, queues: devQueues() };
  // The IVR (pbx/media-ua/) also asks demo-tenant callers who withhold their number and call an
  // operator's own SIP user (npm run call -- --anonymous) for their customer number.
  const mediaUa = cti ? { backendUrl, ctiToken: cti.token, ivrTenant: 'demo' } : undefined;
  // Calls are recorded (pbx/recorder/); the demo tenant's policy keeps every one (scripts/seed.ts).
  const recording = cti ? { backendUrl, ctiToken: cti.token, tenant: 'demo' } : undefined;
  const pbx = await startPbx({ runtimeDir, secret: sipSecret, ...(cti ? { cti } : {}), ...(mediaUa ? { mediaUa } : {}), ...(recording ? { recording } : {}) });
  cleanups.push(() => pbx.stop());
  say(`dev PBX ready: ${pbx.wsUrl} (SIP over WebSocket), UDP trunk on 127.0.0.1:${pbx.udpPort}`);
  if (cti) {
    for (const queue of cti.queues) {
      say(`queue number ${queue.number} (tenant ${queue.tenant}): the backend picks whom it rings; try npm run call -- 03-1234-5678 --queue${queue.tenant === 'demo' ? '' : ` --tenant ${queue.tenant}`}`);
    }
    // A live call for the supervisor's live panel is a real one: nothing fake is seeded (README).
    say('live monitoring demo: npm run call -- 03-1234-5678 --agent agent1 --seconds 600, answer as agent1, then "New window" as super1 → Live view → Listen');
  }
  return pbx.wsUrl;
}

/**
 * Without a real relay, approved replies would wait for one that never answers: a catcher on
 * loopback takes them and keeps them as .eml files, listed by the backend's dev page.
 */
async function startMailCatcherUnlessRelaySet(backendEnv: Record<string, string>): Promise<string | null> {
  if (process.env.TSUNAGU_SMTP_RELAY_URL) return null;
  const { startMailCatcher } = await import('../backend/src/mail/dev-mail-out.js');
  const dir = path.join(dataHome, 'mail-out');
  const catcher = await startMailCatcher({ dir });
  cleanups.push(() => catcher.close());
  backendEnv.TSUNAGU_SMTP_RELAY_URL = catcher.url;
  backendEnv.TSUNAGU_DEV_MAIL_OUT_DIR = dir;
  return dir;
}

async function main(): Promise<void> {
  fs.mkdirSync(dataHome, { recursive: true });
  const backendEnv: Record<string, string> = {
    TSUNAGU_BACKEND_PORT: backendPort,
    TSUNAGU_SIP_SECRET: sipSecret,
    TSUNAGU_CTI_PBXES:
      process.env.TSUNAGU_CTI_PBXES ??
      JSON.stringify([{ id: devPbxCti.id, tenants: devPbxCti.tenants, tokenSha256: ctiTokenSha256(devPbxCti.token) }]),
  };
  if (!process.env.DATABASE_URL) {
    backendEnv.TSUNAGU_DB_PATH = dbPath;
    if (!fs.existsSync(dbPath)) {
      say(`first start: creating the demo tenant with ${demoCustomers} customers in ${path.relative(root, dbPath)}`);
      await runToEnd('scripts/seed.ts', ['--customers', demoCustomers, '--db', dbPath], {});
    }
  }

  const pbxWsUrl = await startPbxIfInstalled();
  if (pbxWsUrl) backendEnv.TSUNAGU_SIP_WS_URL = pbxWsUrl;
  const mailOutDir = await startMailCatcherUnlessRelaySet(backendEnv);

  const backend = tsNode('backend/src/main.ts', [], backendEnv);
  await waitForLine(backend, /listening on (http\S+)/, 'backend');
  if (mailOutDir) {
    say(`approved replies go to the local mail catcher, not to anyone: read them at ${backendUrl}/dev/mail-out (files in ${path.relative(root, mailOutDir)}/)`);
  }

  await ensurePortalBuilt();
  say(`customer portal: ${backendUrl}/portal/${DEMO_TENANT.slug}/ (customer ${DEMO_PORTAL_ACCOUNT.customerCode}, password ${DEMO_PORTAL_ACCOUNT.password})`);
  const rendererDir = await ensureRendererBuilt();
  const appEnv: Record<string, string> = { TSUNAGU_BACKEND_URL: backendUrl, TSUNAGU_DATA_DIR: path.join(dataHome, 'app'), TSUNAGU_RENDERER_DIR: rendererDir };
  // The page's CSP admits only this PBX WebSocket (electron/csp.ts).
  if (pbxWsUrl) appEnv.TSUNAGU_PBX_WS_URL = pbxWsUrl;

  const electron = electronBinary();
  if (electron && process.env.TSUNAGU_SHELL !== 'browser') {
    await runToEnd('scripts/build-electron.ts', [], {});
    say('opening the Electron app');
    const child = spawn(electron, [path.join(root, 'dist', 'electron', 'main.cjs')], { cwd: root, env: { ...process.env, ...appEnv }, stdio: 'inherit' });
    children.push(child);
    child.once('exit', () => void shutdown(0));
    return;
  }

  say('the Electron binary is not available here: using the browser shell (same core, same UI)');
  const shell = tsNode('electron/browser-shell/cli.ts', [], appEnv);
  const [, url] = await waitForLine(shell, /tsunagu shell: ready (\S+)/, 'app');
  const chromium = chromiumBinary();
  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!chromium || !hasDisplay || process.env.TSUNAGU_NO_WINDOW) {
    say(`no window can be opened here (${chromium ? 'no display' : 'Chromium not installed'}). The app is served at:`);
    process.stdout.write(`\n  ${url}\n\n`);
  } else {
    const profile = path.join(dataHome, 'chromium-profile');
    const args = [
      `--app=${url}`,
      `--user-data-dir=${profile}`,
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      // The page's heap sized for memory (electron/renderer-v8-flags.ts; Electron sets the same).
      `--js-flags=${RENDERER_JS_FLAGS}`,
      // A one-page app never navigates to another site: no spare renderer kept warm for one
      // (about 20 MB; bench:memory passes the same flag).
      '--disable-features=SpareRendererForSitePerProcess',
    ];
    // Chromium refuses to run as root with its sandbox; a normal user keeps it.
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    const window = spawn(chromium, args, { stdio: 'ignore' });
    children.push(window);
    window.once('exit', () => void shutdown(0));
    say('the app window is open; closing it or Ctrl-C stops everything');
  }
  say('one window per user: "New window" (新しいウィンドウ) in the app opens another with its own session, e.g. a supervisor beside an operator');
  printDemoLogins();
}

/** Straight from the seed's account list, so what is printed is what can sign in. */
function printDemoLogins(): void {
  for (const [tenant, users, purpose] of [
    [DEMO_TENANT, DEMO_USERS, 'demo'],
    [OTHER_TENANT, OTHER_USERS, 'a second tenant, to show isolation'],
  ] as const) {
    say(`logins of tenant "${tenant.slug}" (${purpose}):`);
    for (const user of users) {
      const what = [user.role, user.branch, user.role === 'agent' ? `customer limit ${user.customerLimitAuthority}` : null, user.partnerOrg ?? null].filter(Boolean).join(', ');
      process.stdout.write(`    ${user.login.padEnd(12)} ${user.password.padEnd(18)} ${what}\n`);
    }
  }
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  process.exit(code);
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
main().catch((error: unknown) => {
  process.stderr.write(`tsunagu: ${error instanceof Error ? error.message : String(error)}\n`);
  void shutdown(1);
});
