/**
 * `npm run bench:screenpop`: how long after an INVITE reaches the app the caller's panel is
 * painted, with a million customers in the app's local cache (ARCHITECTURE.md: well under
 * 50 ms). Real parts throughout: Kamailio and rtpengine from pbx/, the backend and the
 * browser-shell core from the e2e harness, the built renderer in Debian's Chromium, and SIPp
 * placing trunk calls (bench/sipp/screenpop-call.xml) from random customers' numbers. Each
 * call rings, the caller gives up, the next one comes.
 *
 * The app marks `screenpop:invite` when the INVITE arrives and `screenpop:painted` in the
 * animation frame after the screen pop rendered (renderer/src/phone/screen-pop-marks.ts),
 * observed as they are made (the app keeps none on the timeline; bench/support/screenpop-marks.ts);
 * the figures are the differences, paired by Call-ID. Prints p50/p99 and merges them into
 * bench/results.json under `screen-pop`. A benchmark reports figures; it never fails on one.
 *
 * Needs `npm run build` first (the shell serves dist/renderer). BENCH_CUSTOMERS (default
 * 1000000) and BENCH_SEED (default 1) choose the cache (bench/data/, shared with
 * bench/lookup.ts); BENCH_CALLS (default 200) the number of calls; BENCH_RING_MS (default
 * 600) how long each call rings. BENCH_TRACE=file.json records Chromium's trace of the
 * sequential calls (main-thread tasks, marks, frames, JS samples) for chrome://tracing;
 * BENCH_BURST_TRACE=file.json the same for the 30-call burst (where its long tasks come from).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { Prng } from '../backend/src/seed/prng.js';
import { removeStackDir, root, startStack, type Stack } from '../e2e/support/stack.js';
import { stopAll } from '../e2e/support/processes.js';
import { FileCacheKeyStore } from '../electron/core/cache/cache-keys.js';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import { createStderrLogger } from '../electron/core/logger.js';
import { META } from '../electron/core/sync/snapshot.js';
import { freeUdpPort } from '../pbx/test-support/free-port.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { BENCH_DIR, ensureBenchCache, ensureEncryptedBenchCache, envInteger, mergeResults, percentile } from './cache-file.js';
import { processCpuMs } from './support/proc.js';
import { forgetScreenPopMarks, observeScreenPopMarks, observedScreenPopMarks, waitForScreenPopsPaired } from './support/screenpop-marks.js';

const TARGET_P99_MS = 25;
const AGENT = { login: 'super1', password: 'super1-pass' };
const CHROMIUM = process.env.TSUNAGU_CHROMIUM ?? '/usr/bin/chromium';
const SCENARIO = path.join(BENCH_DIR, 'sipp', 'screenpop-call.xml');
/** SIPp starts at most this many calls a second (one rings at a time anyway). */
const CALLS_PER_SECOND = 2;
const BURST_SCENARIO = path.join(BENCH_DIR, 'sipp', 'screenpop-burst.xml');
const BURST_CALLS = 30;
/** What BENCH_TRACE records: the main thread's tasks, the user-timing marks, frames, JS samples. */
const TRACE_CATEGORIES = ['devtools.timeline', 'blink.user_timing', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'toplevel', 'v8.execute', 'disabled-by-default-v8.cpu_profiler'];

/** The screen pop's marks in the order a call passes them (renderer/src/phone/screen-pop-marks.ts). */
const MARKS = ['received', 'invite', 'asked', 'answered', 'stored'] as const;
type MarkName = (typeof MARKS)[number];

/**
 * The path to the painted card, stage by stage (from one mark, or React's commit, to the next).
 * The lookup is asked on the INVITE's text; sip.js builds the session while the core answers,
 * so `sipjs` runs beside `answer` and is printed apart.
 */
const STAGES: Array<{ key: string; label: string; from: MarkName | 'committed'; to: MarkName | 'committed' | 'painted' }> = [
  { key: 'ask', label: 'INVITE text → lookup sent (parse, app)', from: 'received', to: 'asked' },
  { key: 'answer', label: 'lookup sent → answer back (IPC + core)', from: 'asked', to: 'answered' },
  { key: 'store', label: 'answer → in the store', from: 'answered', to: 'stored' },
  { key: 'render', label: 'store → card committed (React)', from: 'stored', to: 'committed' },
  { key: 'frame', label: 'committed → next frame (paint)', from: 'committed', to: 'painted' },
  { key: 'sipjs', label: 'meanwhile: INVITE text → sip.js session', from: 'received', to: 'invite' },
];

interface Sample {
  callId: string;
  /** INVITE text reaching the phone → panel painted (the headline), and from sip.js's session on. */
  ms: number;
  fromSessionMs: number;
  /** When each mark was passed (performance.now() of the page), null when it was not. */
  at: Record<MarkName | 'committed' | 'painted', number | null>;
  phase: string;
  /** The caller's user part as the INVITE carried it, and whose panel popped (null: none). */
  from: string;
  customerId: string | null;
}

/** A call SIPp places: the number the trunk presents and every customer that number is on. */
interface Caller {
  number: string;
  customerIds: Set<string>;
}

/**
 * Puts the benchmark cache where the core opens this user's cache, as a copy (the core writes
 * to it), marked as fully synced up to the backend's current change-log position so that the
 * app does not take a snapshot over it.
 */
async function installCache(source: string, key: Buffer, stack: Stack): Promise<{ tenantId: string; userId: string }> {
  const [user] = stack.query<{ id: string; tenant_id: string }>(
    `select u.id, u.tenant_id from users u join tenants t on t.id = u.tenant_id where t.slug = 'demo' and u.login = ?`,
    AGENT.login,
  );
  if (!user) throw new Error(`the seeded backend has no user ${AGENT.login}`);
  const [{ seq } = { seq: 0 }] = stack.query<{ seq: number | null }>(`select coalesce(max(seq), 0) as seq from change_log where tenant_id = ?`, user.tenant_id);
  const target = path.join(stack.dir, 'app', user.tenant_id, user.id, 'cache.db');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const started = performance.now();
  fs.copyFileSync(source, target, fs.constants.COPYFILE_FICLONE);
  console.log(`Copied the cache for ${AGENT.login} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // The encrypted cache with its key where the browser shell keeps it, as the app leaves them.
  await new FileCacheKeyStore().save(path.dirname(target), key);
  const db = openCache(target, { key });
  try {
    const store = new CacheStore(db, { logger: createStderrLogger('warn') });
    store.setMeta(META.snapshotState, 'complete');
    store.setMeta(META.cursor, String(seq ?? 0));
    store.setMeta(META.lastSyncedAt, new Date().toISOString());
  } finally {
    db.close();
  }
  return { tenantId: user.tenant_id, userId: user.id };
}

async function signIn(browser: Browser, shellUrl: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[app] ${message.text()}\n`);
  });
  await page.goto(shellUrl);
  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill(AGENT.login);
  await page.getByLabel('Password').fill(AGENT.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid="sync-status"][data-phase="idle"]').waitFor({ timeout: 180_000 });
  await page.locator('[data-testid="registration-status"][data-state="registered"]').waitFor({ timeout: 60_000 });
  return page;
}

/**
 * Random customers' numbers, as the trunk presents them (national digits), each with the
 * customers the cache holds that number for: the popped panel must be one of those.
 */
function callers(plan: ReturnType<typeof ensureBenchCache>['plan'], seed: number, count: number, cacheFile: string, key: Buffer): Caller[] {
  const rng = new Prng(seed, 0x5c3e39);
  const db = openCache(cacheFile, { key });
  try {
    const store = new CacheStore(db, { logger: createStderrLogger('warn') });
    const result: Caller[] = [];
    while (result.length < count) {
      const customer = plan.generator.recordAt(rng.int(0, plan.generator.count - 1)).customer;
      const phone = customer.phones[0];
      if (!phone?.e164.startsWith('+81')) continue;
      const customerIds = new Set([customer.id, ...store.findByPhone(phone.e164).map((c) => c.id)]);
      result.push({ number: nationalDigits(phone.e164), customerIds });
    }
    return result;
  } finally {
    db.close();
  }
}

interface CallPlan {
  scenario: string;
  /** Calls started per second, and how many may be under way at once. */
  rate: number;
  limit: number;
}

function runCalls(pbx: TestPbx, numbers: string[], ringMs: number, logDir: string, plan: CallPlan): Promise<{ exitCode: number | null; stderr: string }> {
  const injection = path.join(logDir, `callers-${path.basename(plan.scenario, '.xml')}.csv`);
  fs.writeFileSync(injection, `SEQUENTIAL\n${numbers.map((n) => `${n};`).join('\n')}\n`);
  return freeUdpPort().then(async (localPort) => {
    const mediaPort = await freeUdpPort();
    const budgetSeconds = Math.ceil((numbers.length * (ringMs + 1000)) / 1000) + 60;
    const child = spawn(
      'sipp',
      [
        `127.0.0.1:${pbx.udpPort}`,
        '-sf', plan.scenario,
        '-s', tenantSipUser(AGENT.login, 'demo')!,
        '-inf', injection,
        '-d', String(ringMs),
        '-m', String(numbers.length),
        '-l', String(plan.limit),
        '-r', String(plan.rate),
        '-i', '127.0.0.1',
        '-p', String(localPort),
        '-mi', '127.0.0.1',
        '-mp', String(mediaPort),
        '-nostdin',
        '-trace_err', '-error_file', path.join(logDir, `sipp-errors-${path.basename(plan.scenario, '.xml')}.log`),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), budgetSeconds * 1000);
    return new Promise((resolve) => {
      child.once('close', (exitCode) => {
        clearTimeout(killer);
        resolve({ exitCode, stderr });
      });
    });
  });
}

async function readSamples(page: Page): Promise<{ samples: Sample[]; invites: number; refused: number }> {
  const marks = await observedScreenPopMarks(page);
  const invites = marks.invite ?? [];
  const byCall = (name: string) => new Map((marks[name] ?? []).map((mark) => [mark.detail?.callId ?? '', mark.at]));
  const seen = Object.fromEntries(MARKS.map((name) => [name, byCall(name)])) as Record<MarkName, Map<string, number>>;
  const fromOf = new Map(invites.map((mark) => [mark.detail?.callId ?? '', mark.detail?.from ?? '']));
  const samples: Sample[] = [];
  for (const mark of marks.painted ?? []) {
    const callId = mark.detail?.callId ?? '';
    const invite = seen.invite.get(callId);
    if (invite === undefined) continue;
    const at = Object.fromEntries(MARKS.map((name) => [name, seen[name].get(callId) ?? null])) as Sample['at'];
    at.committed = mark.detail?.committedAt ?? null;
    at.painted = mark.at;
    samples.push({
      callId,
      ms: mark.at - (at.received ?? invite),
      fromSessionMs: mark.at - invite,
      at,
      phase: mark.detail?.phase ?? 'unknown',
      from: fromOf.get(callId) ?? '',
      customerId: mark.detail?.customerId ?? null,
    });
  }
  return { samples, invites: invites.length, refused: (marks.refused ?? []).length };
}

/** p50 and p99 of one stage over the samples that have it. */
function stage(samples: Sample[], pick: (sample: Sample) => number | null): { p50: number; p99: number } {
  const values = samples.map(pick).filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN };
  return { p50: percentile(values, 0.5), p99: percentile(values, 0.99) };
}

function stageMs(sample: Sample, from: keyof Sample['at'], to: keyof Sample['at']): number | null {
  const start = sample.at[from];
  const end = sample.at[to];
  return start === null || end === null ? null : end - start;
}

/**
 * Starts recording the page's main-thread long tasks (over 50 ms) and forgets the screen pop
 * marks so far: what follows is measured on its own.
 */
async function startBurstRecording(page: Page): Promise<void> {
  await forgetScreenPopMarks(page);
  await page.evaluate(() => {
    const record = window as unknown as { __benchLongTasks: number[] };
    record.__benchLongTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) record.__benchLongTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  });
}

async function longTasks(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __benchLongTasks?: number[] }).__benchLongTasks ?? []);
}

/**
 * 30 calls started within one second to the one idle operator: each must be handled, popped
 * or refused as busy once the app's limit of live calls is reached (SIPp fails a call that
 * gets anything else or nothing), and the main thread should have no task over 50 ms.
 */
async function runBurst(page: Page, pbx: TestPbx, placed: Caller[], ringMs: number, logDir: string) {
  const burst = placed.slice(0, BURST_CALLS);
  await startBurstRecording(page);
  const sipp = await runCalls(pbx, burst.map((caller) => caller.number), ringMs, logDir, { scenario: BURST_SCENARIO, rate: BURST_CALLS, limit: BURST_CALLS });
  await waitForScreenPopsPaired(page, { refused: true, timeoutMs: 10_000 });
  const { samples, invites, refused } = await readSamples(page);
  const tasks = await longTasks(page);
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    calls: burst.length,
    invites,
    popped: samples.length,
    refused,
    unhandled: Math.max(0, burst.length - samples.length - refused),
    popP50: sorted.length > 0 ? percentile(sorted, 0.5) : Number.NaN,
    popMax: sorted.at(-1) ?? Number.NaN,
    longTasks: tasks.length,
    longestTaskMs: tasks.length > 0 ? Math.max(...tasks) : 0,
    sippExit: sipp.exitCode,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */

/**
 * What the sequential calls cost in CPU, which the load of the machine does not inflate as it
 * does wall-clock latencies: the renderer's main-thread busy time (Chromium's own task
 * accounting) and the CPU time of the core's host process and of the backend.
 */
interface CpuMeter {
  stop(calls: number): Promise<{ rendererTaskMs: number; rendererScriptMs: number; hostMs: number | null; backendMs: number | null }>;
}

async function startCpuMeter(page: Page, stack: Stack): Promise<CpuMeter> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => {
    const { metrics: list } = await cdp.send('Performance.getMetrics');
    const value = (name: string) => (list.find((metric) => metric.name === name)?.value ?? 0) * 1000;
    return { task: value('TaskDuration'), script: value('ScriptDuration') };
  };
  const before = { page: await metrics(), host: processCpuMs(stack.shell.child.pid), backend: processCpuMs(stack.backend?.child.pid) };
  return {
    async stop(calls) {
      const after = { page: await metrics(), host: processCpuMs(stack.shell.child.pid), backend: processCpuMs(stack.backend?.child.pid) };
      await cdp.detach();
      const perCall = (from: number | null, to: number | null) => (from === null || to === null ? null : (to - from) / calls);
      return {
        rendererTaskMs: (after.page.task - before.page.task) / calls,
        rendererScriptMs: (after.page.script - before.page.script) / calls,
        hostMs: perCall(before.host, after.host),
        backendMs: perCall(before.backend, after.backend),
      };
    },
  };
}

async function main(): Promise<void> {
  const customers = envInteger('BENCH_CUSTOMERS', 1_000_000, 1000, 9_999_999);
  const seed = envInteger('BENCH_SEED', 1, 0, 0xffffffff);
  const calls = envInteger('BENCH_CALLS', 200, 1, 100_000);
  const ringMs = envInteger('BENCH_RING_MS', 600, 100, 60_000);
  const traceFile = process.env.BENCH_TRACE ? path.resolve(process.env.BENCH_TRACE) : null;
  const burstTraceFile = process.env.BENCH_BURST_TRACE ? path.resolve(process.env.BENCH_BURST_TRACE) : null;
  if (!fs.existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) throw new Error('dist/renderer is missing: run npm run build first');

  const encrypted = ensureEncryptedBenchCache(customers, seed);
  const cache = encrypted.plain;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-bench-screenpop-'));
  let pbx: TestPbx | undefined;
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  try {
    pbx = await startTestPbx();
    stack = await startStack({ customers: 200, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl } });
    await installCache(encrypted.file, encrypted.key, stack);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
    });
    const page = await signIn(browser, stack.shellUrl);
    await observeScreenPopMarks(page, 'marks');
    console.log(`Signed in as ${AGENT.login} with ${cache.manifest.customers.toLocaleString('en')} customers cached; placing ${calls} calls through Kamailio`);

    const placed = callers(cache.plan, seed, calls, encrypted.file, encrypted.key);
    if (traceFile) await browser.startTracing(page, { path: traceFile, categories: TRACE_CATEGORIES });
    const cpuMeter = await startCpuMeter(page, stack);
    const sipp = await runCalls(pbx, placed.map((caller) => caller.number), ringMs, logDir, { scenario: SCENARIO, rate: CALLS_PER_SECOND, limit: 1 });
    // A call given up before its pop was painted never gets a `painted` mark: wait for the
    // marks to pair up, but only so long.
    await waitForScreenPopsPaired(page, { refused: false, timeoutMs: 10_000 });
    const cpu = await cpuMeter.stop(calls);
    if (traceFile) {
      await browser.stopTracing();
      console.log(`Wrote the renderer's trace of the calls to ${traceFile} (open it in chrome://tracing or Perfetto)`);
    }
    const { samples, invites } = await readSamples(page);
    if (samples.length === 0) throw new Error(`no screen pop was measured (SIPp exit ${sipp.exitCode}): ${sipp.stderr.slice(-2000)}`);

    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const max = sorted[sorted.length - 1] as number;
    const found = samples.filter((s) => s.phase === 'found').length;
    // Identity: the panel must show a customer on file for the number that called.
    const expected = new Map(placed.map((caller) => [caller.number, caller.customerIds]));
    const right = samples.filter((s) => s.phase === 'found' && s.customerId !== null && expected.get(s.from)?.has(s.customerId) === true).length;
    const wrong = samples.filter((s) => s.phase === 'found' && !(s.customerId !== null && expected.get(s.from)?.has(s.customerId) === true)).length;
    const cores = os.cpus().length;
    console.log(`\nScreen pop, INVITE text reaching the phone → panel painted (${samples.length} calls, ${cores} cores):`);
    console.log(`  p50 ${p50.toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   max ${max.toFixed(1)} ms   target p99 ≤ ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'MISSED'}`);
    console.log(`  a customer popped for ${found} of ${samples.length} calls: the caller's own customer for ${right}, a wrong one for ${wrong}`);
    console.log(`  ${invites} INVITEs reached the app; SIPp exit code ${sipp.exitCode}`);
    const fromSession = stage(samples, (s) => s.fromSessionMs);
    console.log(`  from sip.js's session on (the figure before the transport mark): p50 ${fromSession.p50.toFixed(1)} ms   p99 ${fromSession.p99.toFixed(1)} ms`);
    console.log('  where the time goes (p50 / p99 ms):');
    const stages = STAGES.map((step) => ({ ...step, ...stage(samples, (s) => stageMs(s, step.from, step.to)) }));
    for (const step of stages) console.log(`    ${step.label.padEnd(42)} ${step.p50.toFixed(1)} / ${step.p99.toFixed(1)}`);
    console.log('  the slowest calls, stage by stage (ms):');
    for (const sample of [...samples].sort((a, b) => b.ms - a.ms).slice(0, 3)) {
      const parts = STAGES.map((step) => `${step.key} ${stageMs(sample, step.from, step.to)?.toFixed(1) ?? '-'}`);
      console.log(`    ${sample.ms.toFixed(1)}: ${parts.join(', ')}`);
    }
    const cpuText = (ms: number | null) => (ms === null ? 'unknown' : `${ms.toFixed(1)} ms`);
    console.log(
      `  CPU per call (not inflated by the load as wall time is): renderer main thread busy ${cpu.rendererTaskMs.toFixed(1)} ms (script ${cpu.rendererScriptMs.toFixed(1)} ms), core host process ${cpuText(cpu.hostMs)}, backend ${cpuText(cpu.backendMs)}`,
    );
    console.log(`  load average (1 min) ${os.loadavg()[0]?.toFixed(2)}`);

    // Let the last sequential call end before the burst.
    await page.locator('[data-testid="screen-pop"]').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
    if (burstTraceFile) await browser.startTracing(page, { path: burstTraceFile, categories: TRACE_CATEGORIES });
    const burst = await runBurst(page, pbx, placed, ringMs, logDir);
    if (burstTraceFile) {
      await browser.stopTracing();
      console.log(`Wrote the renderer's trace of the burst to ${burstTraceFile}`);
    }
    console.log(`\nBurst: ${burst.calls} calls within one second to one idle operator:`);
    console.log(`  ${burst.popped} popped, ${burst.refused} refused as busy, ${burst.unhandled} unhandled (SIPp exit code ${burst.sippExit}: 0 means every call got its expected answer)`);
    console.log(`  pop p50 ${burst.popP50.toFixed(1)} ms, max ${burst.popMax.toFixed(1)} ms; main-thread long tasks (> 50 ms): ${burst.longTasks}, longest ${burst.longestTaskMs.toFixed(0)} ms`);
    mergeResults('screen-pop', {
      p50_ms: round(p50),
      p99_ms: round(p99),
      calls: samples.length,
      max_ms: round(max),
      target_p99_ms: TARGET_P99_MS,
      found,
      right_customer: right,
      wrong_customer: wrong,
      invites,
      from_session_p50_ms: round(fromSession.p50),
      from_session_p99_ms: round(fromSession.p99),
      ...Object.fromEntries(stages.flatMap((step) => [[`${step.key}_p50_ms`, round(step.p50)], [`${step.key}_p99_ms`, round(step.p99)]])),
      renderer_task_ms_per_call: round(cpu.rendererTaskMs),
      renderer_script_ms_per_call: round(cpu.rendererScriptMs),
      host_cpu_ms_per_call: cpu.hostMs === null ? null : round(cpu.hostMs),
      backend_cpu_ms_per_call: cpu.backendMs === null ? null : round(cpu.backendMs),
      ring_ms: ringMs,
      customers: cache.manifest.customers,
      contacts: cache.manifest.contacts,
      cores,
      load_average_1m: round(os.loadavg()[0] ?? 0),
      measured_at: new Date().toISOString(),
    });
    mergeResults('screen-pop-burst', {
      calls: burst.calls,
      popped: burst.popped,
      refused: burst.refused,
      unhandled: burst.unhandled,
      p50_ms: round(burst.popP50),
      max_ms: round(burst.popMax),
      long_tasks: burst.longTasks,
      longest_task_ms: round(burst.longestTaskMs),
      target_unhandled: 0,
      target_longest_task_ms: 50,
      sipp_exit: burst.sippExit,
      cores,
      load_average_1m: round(os.loadavg()[0] ?? 0),
      measured_at: new Date().toISOString(),
    });
    console.log('Wrote bench/results.json (screen-pop, screen-pop-burst)');
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
