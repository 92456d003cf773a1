/**
 * The PBX's half of `npm run bench:routing`: INVITE in on Kamailio's trunk side → the first
 * target's INVITE out on its WebSocket, through the whole CTI path (async worker, HTTP to the
 * backend, JSON, location lookup, rtpengine offer). One operator is available and registered,
 * so the backend's first target is the phone that measures; the caller then gives up (CANCEL)
 * and the next call starts once the backend has the call as ended, so the operator is free again.
 * Calls the backend queued instead (the operator still counted as taken) are counted as misses.
 * Its CPU figure is Kamailio's, rtpengine's and this process's per call, the whole call (setup,
 * cancel, the backend taking the events), not only the measured path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mailDb } from '../backend/src/mail/schema.js';
import { telephonyDb } from '../backend/src/telephony/schema.js';
import { issueSipCredentials } from '../pbx/credentials.js';
import { RawSipClient } from '../pbx/test-support/raw-sip-client.js';
import { headerValue } from '../pbx/sip-message.js';
import { startTestPbx } from '../pbx/test-support/test-pbx.js';
import { UdpTrunkCaller } from '../pbx/test-support/udp-caller.js';
import { waitFor } from '../pbx/test-support/wait.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import type { BenchBackend } from './routing.js';

export const PBX_ROUTING_TARGET_P99_MS = 50;
const QUEUE_NUMBER = '0120000000';
const OPERATOR = 'agent1';
const WARMUP_CALLS = 10;

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const TICKS_PER_SECOND = 100;

/** CPU milliseconds used so far by every process in a process group (Kamailio and its workers). */
function groupCpuMs(pgid: number | undefined): number {
  if (pgid === undefined) return 0;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which may hold spaces: state, ppid, pgrp, … utime (12th), stime (13th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

export async function measurePbxRouting(
  backend: BenchBackend,
  iterations: number,
): Promise<{ name: string; targetMs: number; samples: number[]; misses: number; cpuMsPerSample: number }> {
  const sipUser = tenantSipUser(OPERATOR, backend.tenant)!;
  const operator = backend.plan.users.find((user) => user.account.login === OPERATOR);
  if (!operator) throw new Error(`the seeded tenant has no ${OPERATOR}`);
  const runtimeDir = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-bench-pbx-'));
  const pbx = await startTestPbx({
    runtimeDir,
    kamailioLogLevel: -1,
    cti: { backendUrl: backend.url, token: backend.ctiToken, tenants: [backend.tenant], queues: [{ number: QUEUE_NUMBER, tenant: backend.tenant, fallback: [sipUser] }] },
  });
  const phone = await RawSipClient.connect(pbx.wsUrl, { user: sipUser });
  const samples: number[] = [];
  let misses = 0;
  // Kamailio, rtpengine, the CTI relay and this process (the backend, the phone, the caller), per sample.
  const cpuNow = (): number => {
    const own = process.cpuUsage();
    return groupCpuMs(pbx.pids().kamailio) + groupCpuMs(pbx.pids().rtpengine) + groupCpuMs(pbx.pids().ctiRelay) + (own.user + own.system) / 1000;
  };
  let cpuStart = 0;
  let cpuMs = 0;
  try {
    await phone.register({ credentials: issueSipCredentials({ secret: pbx.secret, user: sipUser, ttlSeconds: 3600, now: new Date() }) });
    for (let i = 0; i < iterations + WARMUP_CALLS; i++) {
      if (i % 50 === 0) {
        await backend.makeOperatorsAvailable();
        // Only the measuring phone's operator is free, so the backend names it first.
        await mailDb(backend.handle.db).updateTable('agent_presence').set({ status: 'offline' }).where('user_id', '!=', operator.id).execute();
      }
      if (i === WARMUP_CALLS) cpuStart = cpuNow();
      const caller = await UdpTrunkCaller.open(pbx.udpPort, `03${String(10_000_000 + i)}`);
      try {
        const started = performance.now();
        caller.invite(QUEUE_NUMBER);
        // The backend may still count the operator as taken by the previous call and queue this
        // one: it then rings after "please hold", which is a miss, not a sample.
        const invite = await phone.waitForRequest('INVITE', 20_000);
        const elapsed = performance.now() - started;
        const held = caller.responses.some((r) => r.status === 183);
        if (headerValue(invite, 'Call-ID') !== caller.callId || held) misses++;
        else if (i >= WARMUP_CALLS) samples.push(elapsed);
        // Kamailio cancels a branch only once it has answered provisionally.
        phone.reply(invite, 180, 'Ringing');
        await caller.waitForResponse((r) => r.status === 180, 5_000);
        caller.cancel();
        await phone.waitForRequest('CANCEL', 5_000);
        phone.reply(invite, 487, 'Request Terminated');
        await caller.finalResponse(5_000);
        await waitFor(
          () => telephonyDb(backend.handle.db).selectFrom('calls').select('status').where('external_id', '=', caller.callId).execute(),
          (rows) => rows.length > 0 && rows.every((row) => row.status === 'ended'),
          'the abandoned call in the backend',
        );
      } finally {
        caller.close();
      }
    }
    cpuMs = cpuNow() - cpuStart;
  } finally {
    await phone.close();
    await pbx.stop();
    await rm(runtimeDir, { recursive: true, force: true });
  }
  return { name: 'routing-pbx', targetMs: PBX_ROUTING_TARGET_P99_MS, samples, misses, cpuMsPerSample: samples.length > 0 ? cpuMs / samples.length : 0 };
}
