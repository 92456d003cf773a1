/**
 * `npm run bench:memory`: the memory of the core's host process (the browser shell's Node
 * process: core, cache, sync) and of the app's renderer (Chromium's renderer processes of the
 * signed-in window), idle; after BENCH_CALLS (default 500) calls through Kamailio, placed in
 * batches of BENCH_BATCH (default 100) with a reading after garbage collection after each batch
 * (the trend in MB per 100 calls, leaving out the first batch as warm-up, says whether calls
 * leave something behind); once more after BENCH_SETTLE_S (default 60) seconds; and during one
 * call answered in the app and kept up BENCH_LONG_CALL_S (default 600; 0 skips it) with audio
 * both ways, read every BENCH_SAMPLE_S (default 30): the slope in MB/min after the first fifth
 * stands for the one-hour call (time compressed). Target: host + renderer ≤ 250 MB, no growth trend.
 *
 * Garbage is collected in the page (DevTools protocol) and in the core host (its inspector,
 * opened with SIGUSR1 on 127.0.0.1:9229, hence the network namespace) before each settled
 * reading, so what a reading counts is what is kept. BENCH_HEAP=1 also prints what grew in
 * both JS heaps by constructor (heap snapshots, bench/support/heap-census.ts) and the host's
 * memory by mapping: the way to find what calls leave behind.
 *
 * Real parts as in bench/screenpop.ts: Kamailio and rtpengine from pbx/, the backend and the
 * browser-shell core from the e2e harness, the built renderer in Debian's Chromium, SIPp
 * placing trunk calls (bench/sipp/screenpop-call.xml: each rings BENCH_RING_MS, default 600,
 * and the caller gives up; bench/sipp/memory-long-call.xml for the long call) from customers'
 * numbers. Memory is the processes' PSS from /proc (resident, shared pages counted by share),
 * recorded as `*_rss_mb`; the page's JS heap from Chromium's `performance.memory`, the host's from
 * process.memoryUsage(). Records `memory-idle`, `memory-after-calls`, `memory-after-calls-settled`
 * and `memory-long-call` in bench/results.json, with `host`: `bundled` (default, the browser
 * shell as `npm run build` bundles it) or `tsx` (BENCH_SHELL=tsx). Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { removeStackDir, root, startStack, type Stack } from '../e2e/support/stack.js';
import { stopAll } from '../e2e/support/processes.js';
import { RENDERER_JS_FLAGS } from '../electron/renderer-v8-flags.js';
import { freeUdpPort } from '../pbx/test-support/free-port.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { BENCH_DIR, envInteger, mergeResults } from './cache-file.js';
import { machine } from './support/backend.js';
import { procStatFields, processCpuMs } from './support/proc.js';
import { startCpuProfile, stopCpuProfile, timeGrowth, type FunctionTime } from './support/cpu-profile.js';
import { observeScreenPopMarks, screenPopMarkCounts } from './support/screenpop-marks.js';

import {
  censusGrowth,
  countsOf,
  openNodeInspector,
  startAllocationSampling,
  stopAllocationSampling,
  takeCensus,
  type AllocationSite,
  type Census,
  type ProtocolClient,
} from './support/heap-census.js';

const TARGET_TOTAL_MB = 250;
const AGENT = { login: 'super1', password: 'super1-pass' };
const CHROMIUM = process.env.TSUNAGU_CHROMIUM ?? '/usr/bin/chromium';
const RING_SCENARIO = path.join(BENCH_DIR, 'sipp', 'screenpop-call.xml');
const LONG_CALL_SCENARIO = path.join(BENCH_DIR, 'sipp', 'memory-long-call.xml');
/**
 * BENCH_V8_DEFAULTS=1 runs the page with V8's own heap sizing instead of the app's flags, to
 * compare the two back to back.
 */
const V8_DEFAULTS = process.env.BENCH_V8_DEFAULTS === '1';
/**
 * Flags the app window gets from the browser shell's launcher too (scripts/start.ts): no spare
 * renderer process kept warm for a next site (about 20 MB), which a one-page app never visits;
 * the page's V8 flags (electron/renderer-v8-flags.ts, Electron sets the same).
 */
const APP_WINDOW_FLAGS = ['--disable-features=SpareRendererForSitePerProcess', ...(V8_DEFAULTS ? [] : [`--js-flags=${RENDERER_JS_FLAGS}`])];
const CALLS_PER_SECOND = 2;
/**
 * The host runs the bundled browser shell by default, as shipped code runs bundled;
 * BENCH_SHELL=tsx runs the TypeScript sources under tsx (about 50 MB more for tsx's loader).
 */
const SHELL = process.env.BENCH_SHELL === 'tsx' ? 'tsx' : 'bundled';
/** BENCH_HEAP=1 (heap census), BENCH_ALLOC=1 (allocation sampling) and BENCH_PROFILE=1 (CPU profiles) perturb the figures: such runs record nothing. */
const DIAGNOSIS = process.env.BENCH_HEAP === '1' || process.env.BENCH_ALLOC === '1' || process.env.BENCH_PROFILE === '1';

/**
 * A process's resident memory with the pages it shares counted by share (PSS): Chromium's
 * processes share much of their code, and plain RSS summed over them would count it twice.
 */
function rssMb(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  return kib / 1024;
}

/**
 * A process's memory no other process shares (USS: its private pages). Important: the PSS of a
 * Chromium renderer counts a share of Chromium's code, and that share falls whenever another
 * Chromium runs on the machine (other tests, other benches): the trend of what calls leave
 * behind is read on private memory, which only the process itself changes.
 */
function privateMb(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  return (kib('Private_Clean') + kib('Private_Dirty')) / 1024;
}

/** CPU ms of a process so far; throws once it is gone, as the reading it belongs to is then void. */
function cpuMs(pid: number): number {
  const ms = processCpuMs(pid);
  if (ms === null) throw new Error(`process ${pid} is gone`);
  return ms;
}

/**
 * Chromium's renderer processes started (through Playwright) by this process: the app's (its
 * page and any frames in processes of their own), and the renderer of Chromium's own browser UI
 * (`--top-chrome-webui`), which is not the app's and is reported on its own, never hidden.
 */
function rendererPids(): { app: number[]; browserUi: number[] } {
  const parentOf = new Map<number, number>();
  const renderers: { pid: number; browserUi: boolean }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      parentOf.set(pid, Number(procStatFields(pid)?.[1]));
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('--type=renderer')) renderers.push({ pid, browserUi: cmdline.includes('--top-chrome-webui') });
    } catch {
      // Gone while we looked.
    }
  }
  const descends = (pid: number): boolean => {
    for (let at: number | undefined = pid, hops = 0; at && hops < 64; at = parentOf.get(at), hops++) if (at === process.pid) return true;
    return false;
  };
  const ours = renderers.filter((r) => descends(r.pid));
  return { app: ours.filter((r) => !r.browserUi).map((r) => r.pid), browserUi: ours.filter((r) => r.browserUi).map((r) => r.pid) };
}

/** A process's mappings grouped by what they are (the main heap, anonymous, each file), PSS in MB. */
function mappingsOf(pid: number): Map<string, number> {
  const groups = new Map<string, number>();
  let current = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) current = header[1] ? path.basename(header[1]) : '(anonymous)';
    const pss = /^Pss:\s+(\d+)/.exec(line);
    if (pss) groups.set(current, (groups.get(current) ?? 0) + Number(pss[1]) / 1024);
  }
  return groups;
}

function printMappingGrowth(label: string, before: Map<string, number>, after: Map<string, number>): void {
  const total = (groups: Map<string, number>) => [...groups.values()].reduce((sum, mb) => sum + mb, 0).toFixed(1);
  console.log(`  ${label}: PSS by mapping (MB, before → after; in all ${total(before)} → ${total(after)})`);
  const rows = [...after].map(([name, mb]) => ({ name, before: before.get(name) ?? 0, after: mb })).sort((a, b) => b.after - b.before - (a.after - a.before));
  for (const row of rows.slice(0, 8)) console.log(`    ${row.name.slice(0, 50).padEnd(50)} ${row.before.toFixed(1).padStart(7)} → ${row.after.toFixed(1).padStart(7)}`);
}

/** The SQLite files (databases and their WALs) under the stack's folder, in MB: the app's cache grows with what calls add. */
function sqliteFilesMb(dir: string): string {
  const sizes: string[] = [];
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.db(-wal)?$/.test(entry.name)) sizes.push(`${entry.name} ${(fs.statSync(full).size / 1048576).toFixed(2)}`);
    }
  };
  const start = path.join(dir, 'app');
  if (fs.existsSync(start)) walk(start);
  return sizes.join(', ');
}

function hostThreads(pid: number): number {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

interface Reading {
  host_rss_mb: number;
  renderer_rss_mb: number;
  renderer_processes: number;
  rss_mb: number;
  js_heap_mb: number;
  /** Each renderer process's PSS, largest first (the page's own process is the largest). */
  renderer_process_mb: string;
  /** The host's V8 heap in use and its memory outside V8 (Buffers, native addons' allocations counted by V8). */
  host_js_heap_mb: number;
  host_external_mb: number;
  /** Chromium's own browser-UI renderer (not the app's; none in Electron), not in rss_mb. */
  browser_ui_renderer_mb: number;
  /** Private memory (USS) of the host and of the app's renderers: what the trend is read on. */
  host_private_mb: number;
  renderer_private_mb: number;
  private_mb: number;
  /** The page's live DOM nodes and JS event listeners (Blink's counters after the last GC): what the UI keeps. */
  dom_nodes: number;
  js_event_listeners: number;
}

/** The core host's inspector, opened once the stack runs: readings ask it for process.memoryUsage(). */
let hostInspector: ProtocolClient | null = null;

async function hostMemoryUsage(): Promise<{ heapUsed: number; external: number }> {
  if (!hostInspector) return { heapUsed: 0, external: 0 };
  const answer = (await hostInspector.send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
  return JSON.parse(answer.result.value) as { heapUsed: number; external: number };
}

/** The page's DevTools session, opened once signed in: readings ask it for Blink's DOM counters. */
let pageDevTools: { send(method: 'Memory.getDOMCounters'): Promise<{ nodes: number; jsEventListeners: number }> } | null = null;

async function read(stack: Stack, page: Page): Promise<Reading> {
  const host = rssMb(stack.shell.child.pid!);
  const { app: renderers, browserUi } = rendererPids();
  const each = renderers.map(rssMb).sort((a, b) => b - a);
  const browserUiMb = browserUi.reduce((sum, pid) => sum + rssMb(pid), 0);
  const renderer = each.reduce((sum, mb) => sum + mb, 0);
  const hostPrivate = privateMb(stack.shell.child.pid!);
  const rendererPrivate = renderers.reduce((sum, pid) => sum + privateMb(pid), 0);
  const heap = await page.evaluate(() => ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 1048576);
  const usage = await hostMemoryUsage();
  const dom = (await pageDevTools?.send('Memory.getDOMCounters')) ?? { nodes: 0, jsEventListeners: 0 };
  const r = (mb: number) => Math.round(mb * 10) / 10;
  return {
    host_js_heap_mb: r(usage.heapUsed / 1048576),
    host_external_mb: r(usage.external / 1048576),
    browser_ui_renderer_mb: r(browserUiMb),
    host_rss_mb: r(host), renderer_rss_mb: r(renderer), renderer_processes: renderers.length, rss_mb: r(host + renderer), js_heap_mb: r(heap), renderer_process_mb: each.map((mb) => r(mb)).join(' + '),
    host_private_mb: r(hostPrivate), renderer_private_mb: r(rendererPrivate), private_mb: r(hostPrivate + rendererPrivate),
    dom_nodes: dom.nodes, js_event_listeners: dom.jsEventListeners };
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

interface SippRun {
  scenario: string;
  numbers: string[];
  calls: number;
  /** The scenario's pause: how long a call rings (screen-pop calls) or talks (the long call). */
  pauseMs: number;
  logDir: string;
  extraArgs?: string[];
}

async function runSipp(pbx: TestPbx, run: SippRun): Promise<number | null> {
  const injection = path.join(run.logDir, 'callers.csv');
  fs.writeFileSync(injection, `SEQUENTIAL\n${run.numbers.map((n) => `${n};`).join('\n')}\n`);
  const localPort = await freeUdpPort();
  const mediaPort = await freeUdpPort();
  const child = spawn(
    'sipp',
    [
      `127.0.0.1:${pbx.udpPort}`,
      '-sf', run.scenario,
      '-s', tenantSipUser(AGENT.login, 'demo')!,
      '-inf', injection,
      '-d', String(run.pauseMs),
      '-m', String(run.calls),
      '-l', '1',
      '-r', String(CALLS_PER_SECOND),
      '-i', '127.0.0.1',
      '-p', String(localPort),
      '-mi', '127.0.0.1',
      '-mp', String(mediaPort),
      '-nostdin',
      ...(run.extraArgs ?? []),
    ],
    { stdio: 'ignore' },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), (Math.ceil((run.calls * (run.pauseMs + 1000)) / 1000) + 180) * 1000);
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
      `(private ${reading.host_private_mb.toFixed(1)} + ${reading.renderer_private_mb.toFixed(1)} MB; page JS heap ${reading.js_heap_mb.toFixed(1)} MB, ${reading.dom_nodes} DOM nodes; Chromium's browser-UI renderer ${reading.browser_ui_renderer_mb.toFixed(1)} MB not counted)   target ≤ ${TARGET_TOTAL_MB} MB: ${reading.rss_mb <= TARGET_TOTAL_MB ? 'met' : 'MISSED'}   (load ${m.load_average_1m})`,
  );
  // Important: heap snapshots cost the snapshotted process memory it keeps (the host's heap grew
  // by about 90 MB after one): a BENCH_HEAP run is a diagnosis, its figures are not recorded.
  if (!DIAGNOSIS) mergeResults(name, { ...reading, target_rss_mb: TARGET_TOTAL_MB, host: SHELL, page_js_flags: V8_DEFAULTS ? 'V8 defaults' : RENDERER_JS_FLAGS, ...extra, ...m, measured_at: new Date().toISOString() });
}

/** Least-squares slope of y over x (0 with fewer than two points). */
export function slope(points: readonly { x: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const mx = points.reduce((sum, p) => sum + p.x, 0) / points.length;
  const my = points.reduce((sum, p) => sum + p.y, 0) / points.length;
  const sxx = points.reduce((sum, p) => sum + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((sum, p) => sum + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const round2 = (value: number) => Math.round(value * 100) / 100;

/** The objects a call could leave behind, counted in the page's heap census (BENCH_HEAP=1). */
const RENDERER_WATCH = ['RTCPeerConnection', 'MediaStream', 'MediaStreamTrack', 'HTMLAudioElement', 'AudioContext', 'MediaStreamAudioDestinationNode', 'AudioBufferSourceNode', 'PerformanceMark', 'Notification', 'Detached HTMLDivElement'];

function printAllocations(label: string, sites: AllocationSite[], calls: number): void {
  const total = sites.reduce((sum, site) => sum + site.bytes, 0);
  console.log(`  ${label}: where ${calls} calls allocated (the top sites: ${(total / 1048576).toFixed(1)} MB, ${(total / 1024 / calls).toFixed(0)} KiB per call)`);
  for (const site of sites) console.log(`    ${site.site.slice(0, 80).padEnd(80)} ${(site.bytes / 1048576).toFixed(2).padStart(7)} MB ${(site.bytes / 1024 / calls).toFixed(1).padStart(7)} KiB/call`);
}

function printTimeGrowth(label: string, early: Map<string, FunctionTime>, earlyCalls: number, late: Map<string, FunctionTime>, lateCalls: number): void {
  console.log(`  ${label}: CPU per call by function (total ms with callees, early → late), largest growth first`);
  for (const row of timeGrowth(early, earlyCalls, late, lateCalls, 30)) {
    console.log(`    ${row.site.slice(0, 90).padEnd(90)} ${row.earlyMs.toFixed(2).padStart(8)} → ${row.lateMs.toFixed(2).padStart(8)}`);
  }
  const self = [...late.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, 15);
  console.log(`  ${label}: the late batch's self time per call, largest first`);
  for (const row of self) console.log(`    ${row.site.slice(0, 90).padEnd(90)} ${(row.selfMs / lateCalls).toFixed(2).padStart(8)}`);
}

function printGrowth(label: string, before: Census, after: Census): void {
  console.log(`  ${label}: what grew in the JS heap (count before → after, bytes added)`);
  for (const change of censusGrowth(before, after, 20)) {
    console.log(`    ${change.name.slice(0, 60).padEnd(60)} ${String(change.before).padStart(7)} → ${String(change.after).padStart(7)}  ${(change.bytes / 1024).toFixed(1).padStart(9)} KiB`);
  }
}

async function main(): Promise<void> {
  const calls = envInteger('BENCH_CALLS', 500, 1, 100_000);
  const batch = envInteger('BENCH_BATCH', 100, 1, 100_000);
  const ringMs = envInteger('BENCH_RING_MS', 600, 100, 60_000);
  const settleSeconds = envInteger('BENCH_SETTLE_S', 60, 0, 3600);
  const longCallSeconds = envInteger('BENCH_LONG_CALL_S', 600, 0, 4 * 3600);
  const sampleSeconds = envInteger('BENCH_SAMPLE_S', 30, 5, 3600);
  const heapCensus = process.env.BENCH_HEAP === '1';
  // The memory by mapping per batch (cheap, no snapshot): with the census, or alone with BENCH_MAPS=1.
  const mappingGrowth = heapCensus || process.env.BENCH_MAPS === '1';
  // What the calls allocate in all (garbage included), sampled over the second batch (after warm-up).
  const allocationSampling = process.env.BENCH_ALLOC === '1';
  // CPU profiles of the page and the host over the first and the last batch: the functions whose
  // time per call grew are the work that scales with past calls.
  const cpuProfiles = process.env.BENCH_PROFILE === '1';
  // Kept after the run (printed at the end): .cpuprofile files for DevTools.
  const profileDir = cpuProfiles ? fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-bench-memory-profiles-')) : '';
  if (!fs.existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) throw new Error('dist/renderer is missing: run npm run build first');
  if (SHELL === 'bundled' && !fs.existsSync(path.join(root, 'dist', 'browser-shell', 'cli.js'))) {
    throw new Error('dist/browser-shell is missing: run npm run build first (or BENCH_SHELL=tsx)');
  }
  if (process.env.TSUNAGU_IN_NETNS !== '1') {
    console.warn('Not in a network namespace: the core host\'s inspector takes 127.0.0.1:9229 (run as the README says, under unshare -n)');
  }
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-bench-memory-'));
  let pbx: TestPbx | undefined;
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let host: (ProtocolClient & { close(): void }) | undefined;
  try {
    pbx = await startTestPbx();
    stack = await startStack({ customers: 200, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl }, bundledShell: SHELL === 'bundled' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required',
        '--enable-precise-memory-info',
        ...APP_WINDOW_FLAGS,
      ],
    });
    const page = await signIn(browser, stack.shellUrl);
    // Counted only: the page measured keeps nothing per call for the benchmark.
    await observeScreenPopMarks(page, 'counts');
    // Kept by the page per call outside its JS heap when it grows: the performance timeline's
    // entries and the console messages DevTools stores (both printed per batch).
    let consoleMessages = 0;
    page.on('console', () => {
      consoleMessages += 1;
    });
    const pageProtocol = await page.context().newCDPSession(page);
    pageDevTools = pageProtocol;
    const hostPid = stack.shell.child.pid!;
    host = await openNodeInspector(hostPid);
    hostInspector = host;
    const hostClient = host;
    /** Garbage collected in the page and in the core host, so a reading counts what is kept. */
    const settle = async () => {
      await pageProtocol.send('HeapProfiler.collectGarbage');
      await hostClient.send('HeapProfiler.collectGarbage');
    };
    const numbers = stack
      .query<{ e164: string }>(`select e164 from customer_phones where e164 like '+81%' limit 100`)
      .map((row) => nationalDigits(row.e164));
    if (numbers.length === 0) throw new Error('the seeded backend has no Japanese numbers to call from');
    console.log(`Signed in as ${AGENT.login}; memory of the core's host process and the renderer (${os.cpus().length} cores):`);

    await settle();
    const idle = await read(stack, page);
    report('memory-idle', idle, {});
    const hostMappingsIdle = mappingsOf(hostPid);
    const pagePid = () => rendererPids().app.map((pid) => ({ pid, mb: rssMb(pid) })).sort((a, b) => b.mb - a.mb)[0]?.pid;
    const idlePagePid = pagePid();
    const pageMappingsIdle = idlePagePid ? mappingsOf(idlePagePid) : new Map<string, number>();
    let pageCensusWarm: Census | null = null;
    let hostCensusWarm: Census | null = null;

    // The calls in batches, each followed by a reading after garbage collection: the trend
    // over the batches says whether calls leave something behind.
    const trend: { calls: number; reading: Reading }[] = [{ calls: 0, reading: idle }];
    const cpuPerCall: { host: number; page: number }[] = [];
    let after: Reading = idle;
    let exit: number | null = 0;
    const profiles: { calls: number; label: string; page: Map<string, FunctionTime>; host: Map<string, FunctionTime> }[] = [];
    for (let done = 0; done < calls; ) {
      const size = Math.min(batch, calls - done);
      const sampled = allocationSampling && (done === batch || calls <= batch);
      if (sampled) {
        await startAllocationSampling(pageProtocol as unknown as ProtocolClient);
        await startAllocationSampling(hostClient);
      }
      const profiled = cpuProfiles && (done === 0 || done + size >= calls);
      if (profiled) {
        await startCpuProfile(pageProtocol as unknown as ProtocolClient);
        await startCpuProfile(hostClient);
      }
      const pageAtStart = pagePid();
      const cpuAtStart = { host: cpuMs(hostPid), page: pageAtStart ? cpuMs(pageAtStart) : 0 };
      const code = await runSipp(pbx, { scenario: RING_SCENARIO, numbers, calls: size, pauseMs: ringMs, logDir });
      // CPU per call (garbage collection included): what a smaller or larger heap costs in work.
      const hostCpuMs = (cpuMs(hostPid) - cpuAtStart.host) / size;
      const pageCpuMs = pageAtStart && pagePid() === pageAtStart ? (cpuMs(pageAtStart) - cpuAtStart.page) / size : NaN;
      cpuPerCall.push({ host: hostCpuMs, page: pageCpuMs });
      if (sampled) {
        printAllocations(`page's JS heap, calls ${done + 1}-${done + size}`, await stopAllocationSampling(pageProtocol as unknown as ProtocolClient, 25), size);
        printAllocations(`core host's JS heap, calls ${done + 1}-${done + size}`, await stopAllocationSampling(hostClient, 25), size);
      }
      if (profiled) {
        const saveAs = (process: string) => path.join(profileDir, `${process}-calls-${done + 1}-${done + size}.cpuprofile`);
        const page = await stopCpuProfile(pageProtocol as unknown as ProtocolClient, saveAs('page'));
        profiles.push({ calls: size, label: `calls ${done + 1}-${done + size}`, page, host: await stopCpuProfile(hostClient, saveAs('host')) });
      }
      if (code !== 0) exit = code;
      done += size;
      after = await read(stack, page);
      await settle();
      const settledBatch = await read(stack, page);
      trend.push({ calls: done, reading: settledBatch });
      if (mappingGrowth) {
        printMappingGrowth(`core host after ${done} calls`, hostMappingsIdle, mappingsOf(hostPid));
        const nowPagePid = pagePid();
        if (nowPagePid) printMappingGrowth(`page's renderer after ${done} calls`, pageMappingsIdle, mappingsOf(nowPagePid));
        console.log(`  the app's SQLite files (MB): ${sqliteFilesMb(stack.dir)}`);
      }
      if (heapCensus) {
        // The baseline after the first batch (warm-up), so that the growth is what later calls keep.
        if (!pageCensusWarm) {
          pageCensusWarm = await takeCensus(pageProtocol as unknown as ProtocolClient);
          hostCensusWarm = await takeCensus(hostClient);
        }
      }
      const timelineEntries = await page.evaluate(() => performance.getEntries().length);
      console.log(`    after ${String(done).padStart(5)} calls: ${after.rss_mb.toFixed(1)} MB (host ${after.host_rss_mb.toFixed(1)} + renderer ${after.renderer_rss_mb.toFixed(1)}), after GC ${settledBatch.rss_mb.toFixed(1)} MB (host ${settledBatch.host_rss_mb.toFixed(1)} [JS heap ${settledBatch.host_js_heap_mb.toFixed(1)}, external ${settledBatch.host_external_mb.toFixed(1)}, ${hostThreads(hostPid)} threads] + renderer ${settledBatch.renderer_rss_mb.toFixed(1)}; CPU per call host ${cpuPerCall.at(-1)!.host.toFixed(1)} ms + page ${cpuPerCall.at(-1)!.page.toFixed(1)} ms; private ${settledBatch.host_private_mb.toFixed(1)} + ${settledBatch.renderer_private_mb.toFixed(1)}; page JS heap ${settledBatch.js_heap_mb.toFixed(1)} MB, ${settledBatch.dom_nodes} DOM nodes, ${settledBatch.js_event_listeners} listeners, ${timelineEntries} performance entries, ${consoleMessages} console messages)`);
    }
    if (profiles.length === 2) {
      const [early, late] = profiles as [(typeof profiles)[0], (typeof profiles)[0]];
      printTimeGrowth(`page, ${early.label} → ${late.label}`, early.page, early.calls, late.page, late.calls);
      printTimeGrowth(`core host, ${early.label} → ${late.label}`, early.host, early.calls, late.host, late.calls);
      console.log(`  the profiles (.cpuprofile, for DevTools): ${profileDir}`);
    }
    const pops = (await screenPopMarkCounts(page)).painted ?? 0;
    const warmCpu = cpuPerCall.slice(cpuPerCall.length > 1 ? 1 : 0);
    const meanCpu = (pick: (c: { host: number; page: number }) => number) => round1(warmCpu.reduce((sum, c) => sum + pick(c), 0) / warmCpu.length);
    report('memory-after-calls', after, {
      calls,
      screen_pops: pops,
      growth_mb: round1(after.rss_mb - idle.rss_mb),
      sipp_exit: exit,
      host_cpu_ms_per_call: meanCpu((c) => c.host),
      page_cpu_ms_per_call: meanCpu((c) => c.page),
    });

    // The trend leaves out the first batch (warm-up: code compiled, pools and caches filled).
    const perHundred = (pick: (r: Reading) => number) =>
      round2(slope(trend.slice(trend.length > 2 ? 1 : 0).map((t) => ({ x: t.calls / 100, y: pick(t.reading) }))));
    const callTrend = {
      trend_mb_per_100_calls: perHundred((r) => r.rss_mb),
      host_trend_mb_per_100_calls: perHundred((r) => r.host_rss_mb),
      renderer_trend_mb_per_100_calls: perHundred((r) => r.renderer_rss_mb),
      js_heap_trend_mb_per_100_calls: perHundred((r) => r.js_heap_mb),
      private_trend_mb_per_100_calls: perHundred((r) => r.private_mb),
      host_private_trend_mb_per_100_calls: perHundred((r) => r.host_private_mb),
      renderer_private_trend_mb_per_100_calls: perHundred((r) => r.renderer_private_mb),
      trend_samples_mb: trend.map((t) => t.reading.rss_mb).join(' '),
      private_trend_samples_mb: trend.map((t) => t.reading.private_mb).join(' '),
    };
    console.log(
      `    trend after the first ${Math.min(batch, calls)} calls: ${callTrend.trend_mb_per_100_calls} MB per 100 calls ` +
        `(host ${callTrend.host_trend_mb_per_100_calls}, renderer ${callTrend.renderer_trend_mb_per_100_calls}, page JS heap ${callTrend.js_heap_trend_mb_per_100_calls}); ` +
        `private memory ${callTrend.private_trend_mb_per_100_calls} MB per 100 calls (host ${callTrend.host_private_trend_mb_per_100_calls}, renderer ${callTrend.renderer_private_trend_mb_per_100_calls}); ` +
        `private after each batch: ${callTrend.private_trend_samples_mb}`,
    );

    if (settleSeconds > 0) await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
    // What the idle time alone gave back (V8's and Blink's own collections, no forced one): the
    // figure an operator's machine sees after a busy spell, beside the settled one after a GC.
    const unforced = await read(stack, page);
    console.log(
      `    ${settleSeconds} s after the calls, before a forced GC: ${unforced.rss_mb.toFixed(1)} MB (host ${unforced.host_rss_mb.toFixed(1)} + renderer ${unforced.renderer_rss_mb.toFixed(1)}; ` +
        `private ${unforced.host_private_mb.toFixed(1)} + ${unforced.renderer_private_mb.toFixed(1)}; page JS heap ${unforced.js_heap_mb.toFixed(1)} MB)`,
    );
    await settle();
    const settled = await read(stack, page);
    report('memory-after-calls-settled', settled, {
      calls,
      settle_seconds: settleSeconds,
      unforced_rss_mb: unforced.rss_mb,
      unforced_host_rss_mb: unforced.host_rss_mb,
      unforced_renderer_rss_mb: unforced.renderer_rss_mb,
      growth_mb: round1(settled.rss_mb - idle.rss_mb),
      js_heap_growth_mb: round1(settled.js_heap_mb - idle.js_heap_mb),
      ...callTrend,
    });
    if (pageCensusWarm && hostCensusWarm) {
      const pageCensus = await takeCensus(pageProtocol as unknown as ProtocolClient);
      const hostCensus = await takeCensus(hostClient);
      printGrowth(`renderer from the first batch to ${calls} calls`, pageCensusWarm, pageCensus);
      console.log(`    watched: first batch ${JSON.stringify(countsOf(pageCensusWarm, RENDERER_WATCH))}`);
      console.log(`    watched: now         ${JSON.stringify(countsOf(pageCensus, RENDERER_WATCH))}`);
      printGrowth(`core host from the first batch to ${calls} calls`, hostCensusWarm, hostCensus);
      printMappingGrowth(`core host after ${calls} calls`, hostMappingsIdle, mappingsOf(hostPid));
    }

    if (longCallSeconds > 0) await longCall(pbx, page, stack, settle, { numbers, longCallSeconds, sampleSeconds, logDir });
    console.log(DIAGNOSIS ? 'BENCH_HEAP=1 or BENCH_ALLOC=1: figures not recorded (snapshots and sampling perturb them)' : 'Wrote bench/results.json');
  } finally {
    host?.close();
    await browser?.close();
    await stopAll();
    await pbx?.stop();
    removeStackDir(stack);
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/**
 * One call answered in the app and kept up with audio both ways and the call timer ticking,
 * read every `sampleSeconds` after garbage collection. The slope after the first fifth (warm-up:
 * jitter buffers, codecs, the timer's first renders) is the growth per minute a long call has.
 */
async function longCall(
  pbx: TestPbx,
  page: Page,
  stack: Stack,
  settle: () => Promise<void>,
  options: { numbers: string[]; longCallSeconds: number; sampleSeconds: number; logDir: string },
): Promise<void> {
  const ringing = page.locator('[data-testid="call-card"][data-state="ringing"]');
  const sipp = runSipp(pbx, {
    scenario: LONG_CALL_SCENARIO,
    numbers: options.numbers.slice(0, 1),
    calls: 1,
    pauseMs: options.longCallSeconds * 1000,
    logDir: options.logDir,
    extraArgs: ['-rtp_echo'],
  });
  await ringing.getByRole('button', { name: 'Answer' }).click({ timeout: 60_000 });
  await page.locator('[data-testid="call-card"][data-state="connected"]').waitFor({ timeout: 30_000 });
  const startedAt = Date.now();
  const samples: { minutes: number; reading: Reading }[] = [];
  let peak = 0;
  console.log(`  memory-long-call: one call answered, up for ${options.longCallSeconds} s with audio both ways; a reading every ${options.sampleSeconds} s`);
  for (let n = 1; n * options.sampleSeconds < options.longCallSeconds; n++) {
    const due = startedAt + n * options.sampleSeconds * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    peak = Math.max(peak, (await read(stack, page)).rss_mb);
    await settle();
    const reading = await read(stack, page);
    samples.push({ minutes: (Date.now() - startedAt) / 60_000, reading });
    console.log(`    ${((Date.now() - startedAt) / 60_000).toFixed(1).padStart(5)} min: ${reading.rss_mb.toFixed(1)} MB (host ${reading.host_rss_mb.toFixed(1)} + renderer ${reading.renderer_rss_mb.toFixed(1)}; private ${reading.host_private_mb.toFixed(1)} + ${reading.renderer_private_mb.toFixed(1)}; page JS heap ${reading.js_heap_mb.toFixed(1)} MB)`);
  }
  const exit = await sipp;
  const connected = await page.locator('[data-testid="call-card"][data-state="connected"]').count();
  const warm = samples.slice(Math.floor(samples.length / 5));
  const perMinute = (pick: (r: Reading) => number) => round2(slope(warm.map((s) => ({ x: s.minutes, y: pick(s.reading) }))));
  const last = samples.at(-1)?.reading ?? (await read(stack, page));
  const figures = {
    call_seconds: options.longCallSeconds,
    samples: samples.length,
    peak_rss_mb: round1(Math.max(peak, ...samples.map((s) => s.reading.rss_mb))),
    slope_mb_per_min: perMinute((r) => r.rss_mb),
    host_slope_mb_per_min: perMinute((r) => r.host_rss_mb),
    renderer_slope_mb_per_min: perMinute((r) => r.renderer_rss_mb),
    js_heap_slope_mb_per_min: perMinute((r) => r.js_heap_mb),
    // The renderer's PSS jumps by its share of Chromium's code whenever another Chromium starts or
    // stops on the machine: the slope of private memory is the one to read for growth.
    private_slope_mb_per_min: perMinute((r) => r.private_mb),
    host_private_slope_mb_per_min: perMinute((r) => r.host_private_mb),
    renderer_private_slope_mb_per_min: perMinute((r) => r.renderer_private_mb),
    projected_hour_growth_mb: round1(perMinute((r) => r.rss_mb) * 60),
    sipp_exit: exit,
    still_connected_after_bye: connected,
  };
  console.log(
    `    slope after warm-up: ${figures.slope_mb_per_min} MB/min (host ${figures.host_slope_mb_per_min}, renderer ${figures.renderer_slope_mb_per_min}, page JS heap ${figures.js_heap_slope_mb_per_min}); over an hour ≈ ${figures.projected_hour_growth_mb} MB; ` +
      `private ${figures.private_slope_mb_per_min} MB/min (host ${figures.host_private_slope_mb_per_min}, renderer ${figures.renderer_private_slope_mb_per_min})`,
  );
  report('memory-long-call', last, figures);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
