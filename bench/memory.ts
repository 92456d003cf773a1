/**
 * `npm run bench:memory`: the memory of the core's host process (the browser shell's Node
 * process: core, cache, sync) and of the app's renderer (Chromium's renderer processes of the
 * signed-in window), idle and after BENCH_CALLS (default 500) calls through Kamailio, and once
 * more after BENCH_SETTLE_S (default 60) seconds with a garbage collection forced in the page,
 * so that what stays is what the calls left behind rather than garbage not yet collected.
 * Target: host + renderer ≤ 250 MB, and no growth from idle to after the calls.
 *
 * Real parts as in bench/screenpop.ts: Kamailio and rtpengine from pbx/, the backend and the
 * browser-shell core from the e2e harness, the built renderer in Debian's Chromium, SIPp
 * placing trunk calls (bench/sipp/screenpop-call.xml: each rings BENCH_RING_MS, default 600,
 * and the caller gives up) from customers' numbers. Memory is the processes' PSS from /proc (resident, shared pages counted by share), recorded as `*_rss_mb`; the page's JS heap
 * from Chromium's `performance.memory`. Records `memory-idle`, `memory-after-calls` and
 * `memory-after-calls-settled` in bench/results.json, with `host`: `bundled` (default, the
 * browser shell as `npm run build` bundles it) or `tsx` (BENCH_SHELL=tsx). Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { removeStackDir, root, startStack, type Stack } from '../e2e/support/stack.js';
import { stopAll } from '../e2e/support/processes.js';
import { freeUdpPort } from '../pbx/test-support/free-port.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { BENCH_DIR, envInteger, mergeResults } from './cache-file.js';
import { machine } from './support/backend.js';

const TARGET_TOTAL_MB = 250;
const AGENT = { login: 'super1', password: 'super1-pass' };
const CHROMIUM = process.env.TSUNAGU_CHROMIUM ?? '/usr/bin/chromium';
const SCENARIO = path.join(BENCH_DIR, 'sipp', 'screenpop-call.xml');
const CALLS_PER_SECOND = 2;
/**
 * The host runs the bundled browser shell by default, as shipped code runs bundled;
 * BENCH_SHELL=tsx runs the TypeScript sources under tsx (about 50 MB more for tsx's loader).
 */
const SHELL = process.env.BENCH_SHELL === 'tsx' ? 'tsx' : 'bundled';

/**
 * A process's resident memory with the pages it shares counted by share (PSS): Chromium's
 * processes share much of their code, and plain RSS summed over them would count it twice.
 */
function rssMb(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  return kib / 1024;
}

/** Chromium's renderer processes started (through Playwright) by this process. */
function rendererPids(): number[] {
  const parentOf = new Map<number, number>();
  const renderers: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) renderers.push(pid);
    } catch {
      // Gone while we looked.
    }
  }
  const descends = (pid: number): boolean => {
    for (let at: number | undefined = pid, hops = 0; at && hops < 64; at = parentOf.get(at), hops++) if (at === process.pid) return true;
    return false;
  };
  return renderers.filter(descends);
}

interface Reading {
  host_rss_mb: number;
  renderer_rss_mb: number;
  renderer_processes: number;
  rss_mb: number;
  js_heap_mb: number;
}

async function read(stack: Stack, page: Page): Promise<Reading> {
  const host = rssMb(stack.shell.child.pid!);
  const renderers = rendererPids();
  const renderer = renderers.reduce((sum, pid) => sum + rssMb(pid), 0);
  const heap = await page.evaluate(() => ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 1048576);
  const r = (mb: number) => Math.round(mb * 10) / 10;
  return { host_rss_mb: r(host), renderer_rss_mb: r(renderer), renderer_processes: renderers.length, rss_mb: r(host + renderer), js_heap_mb: r(heap) };
}

async function collectGarbage(page: Page): Promise<void> {
  const session = await page.context().newCDPSession(page);
  await session.send('HeapProfiler.collectGarbage');
  await session.detach();
}

async function signIn(browser: Browser, shellUrl: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(shellUrl);
  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill(AGENT.login);
  await page.getByLabel('Password').fill(AGENT.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid="sync-status"][data-phase="idle"]').waitFor({ timeout: 180_000 });
  await page.locator('[data-testid="registration-status"][data-state="registered"]').waitFor({ timeout: 60_000 });
  return page;
}

async function placeCalls(pbx: TestPbx, numbers: string[], calls: number, ringMs: number, logDir: string): Promise<number | null> {
  const injection = path.join(logDir, 'callers.csv');
  fs.writeFileSync(injection, `SEQUENTIAL\n${numbers.map((n) => `${n};`).join('\n')}\n`);
  const localPort = await freeUdpPort();
  const mediaPort = await freeUdpPort();
  const child = spawn(
    'sipp',
    [
      `127.0.0.1:${pbx.udpPort}`,
      '-sf', SCENARIO,
      '-s', tenantSipUser(AGENT.login, 'demo')!,
      '-inf', injection,
      '-d', String(ringMs),
      '-m', String(calls),
      '-l', '1',
      '-r', String(CALLS_PER_SECOND),
      '-i', '127.0.0.1',
      '-p', String(localPort),
      '-mi', '127.0.0.1',
      '-mp', String(mediaPort),
      '-nostdin',
    ],
    { stdio: 'ignore' },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), (Math.ceil((calls * (ringMs + 1000)) / 1000) + 60) * 1000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve(code);
    });
  });
}

function report(name: string, reading: Reading, extra: Record<string, unknown>): void {
  const m = machine();
  console.log(
    `  ${name.padEnd(26)} host ${reading.host_rss_mb.toFixed(1)} MB + renderer ${reading.renderer_rss_mb.toFixed(1)} MB (${reading.renderer_processes} processes) = ${reading.rss_mb.toFixed(1)} MB ` +
      `(page JS heap ${reading.js_heap_mb.toFixed(1)} MB)   target ≤ ${TARGET_TOTAL_MB} MB: ${reading.rss_mb <= TARGET_TOTAL_MB ? 'met' : 'MISSED'}   (load ${m.load_average_1m})`,
  );
  mergeResults(name, { ...reading, target_rss_mb: TARGET_TOTAL_MB, host: SHELL, ...extra, ...m, measured_at: new Date().toISOString() });
}

async function main(): Promise<void> {
  const calls = envInteger('BENCH_CALLS', 500, 1, 100_000);
  const ringMs = envInteger('BENCH_RING_MS', 600, 100, 60_000);
  const settleSeconds = envInteger('BENCH_SETTLE_S', 60, 0, 3600);
  if (!fs.existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) throw new Error('dist/renderer is missing: run npm run build first');
  if (SHELL === 'bundled' && !fs.existsSync(path.join(root, 'dist', 'browser-shell', 'cli.js'))) {
    throw new Error('dist/browser-shell is missing: run npm run build first (or BENCH_SHELL=tsx)');
  }
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-bench-memory-'));
  let pbx: TestPbx | undefined;
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  try {
    pbx = await startTestPbx();
    stack = await startStack({ customers: 200, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl }, bundledShell: SHELL === 'bundled' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required', '--enable-precise-memory-info'],
    });
    const page = await signIn(browser, stack.shellUrl);
    const numbers = stack
      .query<{ e164: string }>(`select e164 from customer_phones where e164 like '+81%' limit 100`)
      .map((row) => nationalDigits(row.e164));
    if (numbers.length === 0) throw new Error('the seeded backend has no Japanese numbers to call from');
    console.log(`Signed in as ${AGENT.login}; memory of the core's host process and the renderer (${os.cpus().length} cores):`);

    await collectGarbage(page);
    const idle = await read(stack, page);
    report('memory-idle', idle, {});

    const popsBefore = await page.evaluate(() => performance.getEntriesByName('screenpop:painted').length);
    const exit = await placeCalls(pbx, numbers, calls, ringMs, logDir);
    const pops = (await page.evaluate(() => performance.getEntriesByName('screenpop:painted').length)) - popsBefore;
    const after = await read(stack, page);
    report('memory-after-calls', after, { calls, screen_pops: pops, growth_mb: Math.round((after.rss_mb - idle.rss_mb) * 10) / 10, sipp_exit: exit });

    if (settleSeconds > 0) await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
    await collectGarbage(page);
    const settled = await read(stack, page);
    report('memory-after-calls-settled', settled, {
      calls,
      settle_seconds: settleSeconds,
      growth_mb: Math.round((settled.rss_mb - idle.rss_mb) * 10) / 10,
      js_heap_growth_mb: Math.round((settled.js_heap_mb - idle.js_heap_mb) * 10) / 10,
    });
    console.log('Wrote bench/results.json');
  } finally {
    await browser?.close();
    await stopAll();
    await pbx?.stop();
    removeStackDir(stack);
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
