/**
 * `npm run bench:cti-fallback`: how long a caller to a queue number waits for the fallback group
 * when the backend cannot decide. INVITE in on Kamailio's trunk side → the first fallback
 * target's INVITE out on its WebSocket, through the async worker, the CTI relay (which keeps
 * the 500 ms routing budget) and the location lookup. Two cases:
 * - silent: the backend takes the request and never answers (the relay's budget runs out);
 * - down: nothing listens on the backend's port (the relay answers at once).
 * Prints p50/p99 per case and merges `cti-fallback` into bench/results.json. Reports figures;
 * never fails on a timing. TSUNAGU_BENCH_CALLS sets the calls per case (default 100).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { issueSipCredentials } from '../pbx/credentials.js';
import { startCtiBackendStub } from '../pbx/test-support/cti-backend-stub.js';
import { RawSipClient } from '../pbx/test-support/raw-sip-client.js';
import { headerValue } from '../pbx/sip-message.js';
import { startTestPbx } from '../pbx/test-support/test-pbx.js';
import { UdpTrunkCaller } from '../pbx/test-support/udp-caller.js';
import { envInteger, mergeResults, percentile } from './cache-file.js';

const QUEUE_NUMBER = '0120999000';
const FALLBACK_USER = 'fallback1.demo';
const BUDGET_MS = 500;
const WARMUP_CALLS = 5;

async function main(): Promise<void> {
  const calls = envInteger('TSUNAGU_BENCH_CALLS', 100, 1, 10_000);
  const token = randomBytes(24).toString('base64url');
  const backend = await startCtiBackendStub(token);
  backend.answerRoutesWith(() => ({ delayMs: Number.POSITIVE_INFINITY }));
  const pbx = await startTestPbx({
    kamailioLogLevel: -1,
    cti: {
      backendUrl: backend.url,
      token,
      tenants: ['demo'],
      routingBudgetMs: BUDGET_MS,
      queues: [{ number: QUEUE_NUMBER, tenant: 'demo', fallback: [FALLBACK_USER] }],
    },
  });
  const phone = await RawSipClient.connect(pbx.wsUrl, { user: FALLBACK_USER });
  const figures: Record<string, unknown> = {};
  try {
    await phone.register({ credentials: issueSipCredentials({ secret: pbx.secret, user: FALLBACK_USER, ttlSeconds: 3600, now: new Date() }) });
    console.log(`\nCTI fallback: INVITE in → first fallback INVITE out; routing budget ${BUDGET_MS} ms; ${calls} calls per case after ${WARMUP_CALLS} warm-up\n`);
    console.log(`${'case'.padEnd(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'n'.padStart(6)}  misses`);
    for (const scenario of ['silent', 'down'] as const) {
      if (scenario === 'down') await backend.close();
      const samples: number[] = [];
      let misses = 0;
      for (let i = 0; i < calls + WARMUP_CALLS; i++) {
        const caller = await UdpTrunkCaller.open(pbx.udpPort, `03${String(20_000_000 + i)}`);
        try {
          const started = performance.now();
          caller.invite(QUEUE_NUMBER);
          const invite = await phone.waitForRequest('INVITE', 5_000);
          const elapsed = performance.now() - started;
          if (headerValue(invite, 'Call-ID') !== caller.callId) misses++;
          else if (i >= WARMUP_CALLS) samples.push(elapsed);
          phone.reply(invite, 486, 'Busy Here');
          await caller.finalResponse(5_000);
        } finally {
          caller.close();
        }
      }
      const sorted = [...samples].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      const max = sorted.at(-1) ?? 0;
      console.log(`${scenario.padEnd(10)}${p50.toFixed(1).padStart(9)}${p99.toFixed(1).padStart(9)}${max.toFixed(1).padStart(9)}${String(samples.length).padStart(6)}  ${misses}`);
      figures[scenario] = { p50_ms: round(p50), p99_ms: round(p99), max_ms: round(max), n: samples.length, misses };
    }
  } finally {
    await phone.close();
    await pbx.stop();
    await backend.close().catch(() => undefined);
  }
  mergeResults('cti-fallback', {
    ...figures,
    routing_budget_ms: BUDGET_MS,
    cores: os.cpus().length,
    // Other work on the machine inflates the tail; the load says how much there was.
    load_average_1m: round(os.loadavg()[0] ?? 0),
    measured_at: new Date().toISOString(),
  });
  console.log(`\nLoad average (1 min): ${os.loadavg()[0]?.toFixed(1)}. Wrote bench/results.json`);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

await main();
