import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { headerValue, type SipMessage } from '../sip-message.js';
import { UdpSipCaller } from '../test-support/udp-sip-caller.js';
import { waitFor } from '../test-support/wait.js';
import { startMediaUa, type MediaUaOptions, type RunningMediaUa } from './index.js';

/**
 * The media UA alone, driven by a raw SIP/RTP caller over UDP. The backend's two CTI routes
 * are played by a small HTTP server that keeps what it was asked (the real routes have their
 * own tests; the IVR through Kamailio and the real backend is in pbx/media-ua/ivr-pbx.test.ts).
 */

const TOKEN = 'media-ua-test-token-0123456789';

interface FakeBackend {
  url: string;
  customerChecks: Array<{ tenant: string; code: string; callId: string; authorization: string | undefined }>;
  queuePolls: Array<{ tenant: string; callId: string }>;
  /** Customer codes the fake knows, by code. */
  customers: Map<string, string>;
  queue: { readyAfterPolls: number; failing: boolean };
  close(): Promise<void>;
}

async function startFakeBackend(): Promise<FakeBackend> {
  const state: Omit<FakeBackend, 'url' | 'close'> = {
    customerChecks: [],
    queuePolls: [],
    customers: new Map([['12345', 'cust-12345']]),
    queue: { readyAfterPolls: 3, failing: false },
  };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: { code: 'unauthenticated' } });
    const q = Object.fromEntries(url.searchParams) as Record<string, string>;
    if (url.pathname === '/api/cti/ivr/customer') {
      state.customerChecks.push({ tenant: q.tenant ?? '', code: q.code ?? '', callId: q.callId ?? '', authorization: request.headers.authorization });
      const tries = state.customerChecks.filter((c) => c.callId === q.callId).length;
      if (tries > 3) return send(429, { error: { code: 'rate_limited' } });
      const id = state.customers.get(q.code ?? '');
      return id ? send(200, { customerId: id }) : send(404, { error: { code: 'not_found', message: 'no such customer' } });
    }
    if (url.pathname === '/api/cti/queue') {
      state.queuePolls.push({ tenant: q.tenant ?? '', callId: q.callId ?? '' });
      if (state.queue.failing) return send(500, { error: { code: 'internal' } });
      const polls = state.queuePolls.filter((p) => p.callId === q.callId).length;
      return send(200, { ready: polls >= state.queue.readyAfterPolls, position: 1 });
    }
    send(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('media UA', () => {
  let dataDir: string;
  let backend: FakeBackend;
  const running: RunningMediaUa[] = [];
  const callers: UdpSipCaller[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-media-ua-'));
    backend = await startFakeBackend();
  });
  afterEach(async () => {
    for (const caller of callers.splice(0)) caller.close();
    for (const ua of running.splice(0)) await ua.stop();
    backend.customerChecks.length = 0;
    backend.queuePolls.length = 0;
    backend.queue.failing = false;
  });
  afterAll(async () => {
    await backend?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = async (limits: NonNullable<MediaUaOptions['limits']> | Record<string, number> = {}): Promise<RunningMediaUa> => {
    const ua = await startMediaUa({ port: 0, backendUrl: backend.url, ctiToken: TOKEN, dataDir, limits: limits as MediaUaOptions['limits'] });
    running.push(ua);
    return ua;
  };
  const caller = async (): Promise<UdpSipCaller> => {
    const c = await UdpSipCaller.open();
    callers.push(c);
    return c;
  };
  const ivrInvite = (c: UdpSipCaller, ua: RunningMediaUa, headers = [{ name: 'X-Tsunagu-Tenant', value: 'demo' }]) =>
    c.invite({ port: ua.port, requestUri: `sip:ivr@127.0.0.1:${ua.port}`, headers });
  const finalOf = async (c: UdpSipCaller): Promise<SipMessage> => {
    const final = await c.finalReply(15_000);
    c.ackFailure(final);
    return final;
  };

  it('names the option that is wrong, and stops once however often it is asked', async () => {
    const valid = { port: 0, backendUrl: backend.url, ctiToken: TOKEN, dataDir };
    await expect(startMediaUa({ ...valid, host: '0.0.0.0' })).rejects.toThrow(/host/);
    await expect(startMediaUa({ ...valid, backendUrl: 'not a url' })).rejects.toThrow(/backendUrl/);
    await expect(startMediaUa({ ...valid, ctiToken: 'short' })).rejects.toThrow(/ctiToken/);
    await expect(startMediaUa({ ...valid, limits: { maxCalls: 0 } as MediaUaOptions['limits'] })).rejects.toThrow(/limits\.maxCalls/);
    const ua = await startMediaUa(valid);
    await Promise.all([ua.stop(), ua.stop()]);
    await ua.stop();
  });

  it('answers the IVR with 183 early media, plays the prompt and routes the caller whose number is found', async () => {
    const ua = await start();
    const c = await caller();
    ivrInvite(c, ua);
    const progress = await c.earlyMedia();
    expect(progress.body).toMatch(/^m=audio \d+ RTP\/AVP 0 101\r$/m);
    expect(progress.body).toContain('a=rtpmap:101 telephone-event/8000');
    await waitFor(async () => c.audio.soundPackets, (n) => n >= 25, 'half a second of the prompt');
    expect([...c.audio.payloadTypes]).toEqual([0]);
    await c.pressKeys('12345#');
    const final = await finalOf(c);
    expect(final.status).toBe(480);
    expect(final.reason).toBe('IVR Done');
    expect(headerValue(final, 'X-Tsunagu-Customer-Id')).toBe('cust-12345');
    expect(headerValue(final, 'X-Tsunagu-Ivr')).toBeUndefined();
    expect(UdpSipCaller.toTag(final)).toBe(UdpSipCaller.toTag(progress));
    expect(backend.customerChecks).toEqual([{ tenant: 'demo', code: '12345', callId: c.callId, authorization: `Bearer ${TOKEN}` }]);
    expect(c.replies.some((r) => r.status === 200)).toBe(false);
    await waitFor(async () => ua.activeCalls(), (n) => n === 0, 'the call to be forgotten after the ACK');
  });

  it('ends an entry after a pause as well as with #', async () => {
    const ua = await start({ interDigitTimeoutMs: 300 });
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    await c.pressKeys('12345');
    const final = await finalOf(c);
    expect(headerValue(final, 'X-Tsunagu-Customer-Id')).toBe('cust-12345');
  });

  it('counts a repeated key as two presses and * as starting over', async () => {
    backend.customers.set('1122', 'cust-1122');
    const ua = await start();
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    await c.pressKeys('98*1122#');
    const final = await finalOf(c);
    expect(headerValue(final, 'X-Tsunagu-Customer-Id')).toBe('cust-1122');
    expect(backend.customerChecks.map((check) => check.code)).toEqual(['1122']);
  });

  it('gives the caller three tries, then hands the call back as failed', async () => {
    const ua = await start();
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await c.pressKeys('999#');
      await waitFor(async () => backend.customerChecks.length, (n) => n === attempt, `try ${attempt} checked`);
    }
    const final = await finalOf(c);
    expect(final.status).toBe(480);
    expect(headerValue(final, 'X-Tsunagu-Ivr')).toBe('failed');
    expect(headerValue(final, 'X-Tsunagu-Customer-Id')).toBeUndefined();
    expect(backend.customerChecks).toHaveLength(3);
  });

  it('treats an entry longer than the digit limit as a failed try without asking the backend', async () => {
    const ua = await start({ maxDigits: 4 });
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    await c.pressKeys('123456#');
    await c.pressKeys('12345#');
    await c.pressKeys('1234#');
    const final = await finalOf(c);
    expect(headerValue(final, 'X-Tsunagu-Ivr')).toBe('failed');
    expect(backend.customerChecks.map((check) => check.code)).toEqual(['1234']);
  });

  it('gives up on a caller who never finishes, after the IVR time limit', async () => {
    const ua = await start({ maxIvrMs: 1_000 });
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    const final = await finalOf(c);
    expect(headerValue(final, 'X-Tsunagu-Ivr')).toBe('failed');
  });

  it('answers CANCEL with 200 and the INVITE with 487, and stops the media', async () => {
    const ua = await start();
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    await waitFor(async () => c.audio.packets, (n) => n > 5, 'media');
    c.cancel();
    const cancelOk = await c.waitForReply((r) => r.method === 'CANCEL', 'the reply to CANCEL');
    expect(cancelOk.status).toBe(200);
    const final = await finalOf(c);
    expect(final.status).toBe(487);
    await waitFor(async () => ua.activeCalls(), (n) => n === 0, 'the call to be gone');
    const packetsAfterEnd = c.audio.packets;
    // A digit after the end reaches nobody and starts no check.
    await c.pressKeys('12345#');
    expect(backend.customerChecks).toHaveLength(0);
    expect(c.audio.packets - packetsAfterEnd).toBeLessThanOrEqual(1);
  });

  it('absorbs a retransmitted INVITE into the call it started', async () => {
    const ua = await start();
    const c = await caller();
    ivrInvite(c, ua);
    await c.earlyMedia();
    c.retransmitInvite();
    await waitFor(async () => c.replies.filter((r) => r.status === 183).length, (n) => n === 2, 'the 183 sent again');
    expect(ua.activeCalls()).toBe(1);
    await c.pressKeys('12345#');
    expect(headerValue(await finalOf(c), 'X-Tsunagu-Customer-Id')).toBe('cust-12345');
  });

  it('plays "please hold" and hands the caller back when the queue says ready', async () => {
    const ua = await start({ queuePollMs: 100 });
    const c = await caller();
    c.invite({
      port: ua.port,
      requestUri: `sip:hold@127.0.0.1:${ua.port}`,
      headers: [
        { name: 'X-Tsunagu-Tenant', value: 'demo' },
        { name: 'X-Tsunagu-Call-Id', value: 'caller-call-1@trunk' },
      ],
    });
    await c.earlyMedia();
    const final = await finalOf(c);
    expect(final.status).toBe(480);
    expect(final.reason).toBe('Queue Ready');
    expect(headerValue(final, 'X-Tsunagu-Queue')).toBe('ready');
    expect(backend.queuePolls.length).toBe(3);
    expect(backend.queuePolls[0]).toEqual({ tenant: 'demo', callId: 'caller-call-1@trunk' });
    expect(c.audio.soundPackets).toBeGreaterThan(0);
  });

  it('hands a held caller back as backend-down when the backend fails for the limit', async () => {
    backend.queue.failing = true;
    const ua = await start({ queuePollMs: 100, backendDownMs: 600 });
    const c = await caller();
    const startedAt = Date.now();
    c.invite({
      port: ua.port,
      requestUri: `sip:hold@127.0.0.1:${ua.port}`,
      headers: [
        { name: 'X-Tsunagu-Tenant', value: 'demo' },
        { name: 'X-Tsunagu-Call-Id', value: 'caller-call-2@trunk' },
      ],
    });
    const final = await finalOf(c);
    expect(headerValue(final, 'X-Tsunagu-Queue')).toBe('backend-down');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(600);
    expect(backend.queuePolls.length).toBeGreaterThan(1);
  });

  it('hands a caller held past the hold limit to the fallback, as backend-down', async () => {
    backend.queue.readyAfterPolls = 1_000;
    try {
      const ua = await start({ queuePollMs: 100, maxHoldMs: 1_000 });
      const c = await caller();
      c.invite({
        port: ua.port,
        requestUri: `sip:hold@127.0.0.1:${ua.port}`,
        headers: [
          { name: 'X-Tsunagu-Tenant', value: 'demo' },
          { name: 'X-Tsunagu-Call-Id', value: 'caller-call-3@trunk' },
        ],
      });
      const final = await finalOf(c);
      expect(final.reason).toBe('Queue Timeout');
      expect(headerValue(final, 'X-Tsunagu-Queue')).toBe('backend-down');
      expect(backend.queuePolls.length).toBeGreaterThan(2);
    } finally {
      backend.queue.readyAfterPolls = 3;
    }
  });

  it('refuses what it cannot serve with a clear status', async () => {
    const ua = await start({ maxCalls: 1 });
    const cases: Array<{ uri?: string; headers?: Array<{ name: string; value: string }>; sdp?: string; status: number }> = [
      { uri: 'sip:someone@127.0.0.1', status: 404 },
      { headers: [], status: 400 },
      { headers: [{ name: 'X-Tsunagu-Tenant', value: 'demo' }, { name: 'Require', value: '100rel' }], status: 420 },
      { headers: [{ name: 'X-Tsunagu-Tenant', value: 'de mo' }], status: 400 },
      { uri: 'sip:hold@127.0.0.1', status: 400 },
      { sdp: '', status: 488 },
      { sdp: 'v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\n', status: 488 },
      { sdp: 'v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/SAVP 0\r\n', status: 488 },
      { sdp: 'v=0\r\nc=IN IP4 example.com\r\nm=audio 4000 RTP/AVP 0\r\n', status: 400 },
    ];
    for (const testCase of cases) {
      const c = await caller();
      const options = {
        port: ua.port,
        requestUri: testCase.uri ?? `sip:ivr@127.0.0.1:${ua.port}`,
        headers: testCase.headers ?? [{ name: 'X-Tsunagu-Tenant', value: 'demo' }],
        ...(testCase.sdp !== undefined ? { sdp: testCase.sdp } : {}),
      };
      c.invite(options);
      const final = await c.finalReply();
      expect(final.status, JSON.stringify(testCase)).toBe(testCase.status);
    }
    expect(ua.activeCalls()).toBe(0);

    const first = await caller();
    ivrInvite(first, ua);
    await first.earlyMedia();
    const second = await caller();
    ivrInvite(second, ua);
    expect((await second.finalReply()).status).toBe(503);
  });

  it('survives hostile SIP and RTP and still serves the next caller', async () => {
    const ua = await start();
    const c = await caller();
    const hostile: Array<string | Buffer> = [
      Buffer.alloc(0),
      '\r\n\r\n',
      Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]),
      'INVITE\r\n\r\n',
      'INVITE sip:ivr@127.0.0.1 SIP/2.0\r\nVia SIP/2.0/UDP nowhere\r\n\r\n',
      'INVITE sip:ivr@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nCSeq: abc INVITE\r\n\r\n',
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n',
      `INVITE sip:ivr@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKy\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'ACK sip:ivr@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKz\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:ivr@127.0.0.1>\r\nCall-ID: nothing\r\nCSeq: 1 ACK\r\n\r\n',
      'BYE sip:ivr@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKw\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:ivr@127.0.0.1>;tag=2\r\nCall-ID: nothing\r\nCSeq: 2 BYE\r\n\r\n',
    ];
    for (const datagram of hostile) c.sendRaw(datagram, ua.port);
    c.sendRaw('OPTIONS sip:ivr@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKo\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:ivr@127.0.0.1>\r\nCall-ID: opt\r\nCSeq: 1 OPTIONS\r\n\r\n', ua.port);
    // Replies go to where a request came from (Via names port 1 here), so they reach this caller.
    ivrInvite(c, ua);
    await c.earlyMedia();
    for (const packet of [Buffer.alloc(3), Buffer.alloc(1400, 0x80), Buffer.from([0x80, 101, 0, 1]), Buffer.alloc(12, 0xff)]) c.sendRawRtp(packet);
    c.sendRtp(101, Buffer.from([200, 0x80, 0, 160]), { timestamp: 5 });
    c.sendRtp(101, Buffer.from([1]), { timestamp: 6 });
    await c.pressKeys('12345#');
    expect(headerValue(await finalOf(c), 'X-Tsunagu-Customer-Id')).toBe('cust-12345');
    const statuses = c.replies.map((r) => `${r.status} ${r.method}`);
    expect(statuses).toContain('200 OPTIONS');
    expect(statuses).toContain('481 BYE');
    expect(statuses).toContain('400 INVITE');
  });
});
