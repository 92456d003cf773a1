/**
 * The CTI relay: a small HTTP server on the loopback interface that Kamailio calls instead of
 * the backend (CTI-CONTRACT.md §1, §3).
 *
 * - `GET /route?…` forwards to the backend's `GET /api/cti/route` with the routing budget
 *   (500 ms by default). Kamailio's http_client counts whole seconds only, so the budget is
 *   kept here: a backend that is silent, slow, erring or gone gets the answer
 *   `{ "action": "fallback", "decidedBy": "relay", "reason" }` once the budget runs out.
 * - `POST /events` stores the call event in the spool (SQLite) and answers once it is on disk;
 *   a deliverer posts the spool to `POST /api/cti/events` in order, each event once, and keeps
 *   trying while the backend is down.
 *
 * Kamailio authenticates with the PBX's CTI token, which the relay also uses towards the backend.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { describeZodError } from '../../shared/validation.js';
import { EventSpool, defaultSpoolLimits, type SpoolLimits } from './spool.js';

export interface CtiRelayOptions {
  host?: string;
  /** 0 picks a free one. */
  port: number;
  backendUrl: string;
  /** Important: never log it. */
  token: string;
  routingBudgetMs: number;
  spoolFile: string;
  spoolLimits?: Partial<SpoolLimits>;
  log: (line: string) => void;
}

export interface RunningCtiRelay {
  port: number;
  /** Undelivered events in the spool. */
  pendingEvents(): number;
  stop(): Promise<void>;
}

/** The fields of a call event the relay needs (the backend validates the rest). */
const eventSchema = z.object({
  tenant: z.string().min(1).max(100),
  callId: z.string().min(1).max(500),
  event: z.string().min(1).max(40),
  agent: z.string().max(200).nullable(),
});

const MAX_EVENT_BYTES = 16 * 1024;
/** How long one delivery attempt may take before it counts as failed. */
const DELIVERY_TIMEOUT_MS = 5_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
const PRUNE_EVERY_MS = 60_000;

/** Backend answers to an event that say "not now" rather than "never": the event is kept. */
function worthRetrying(status: number): boolean {
  return status >= 500 || status === 401 || status === 403 || status === 404 || status === 408 || status === 429;
}

export async function startCtiRelay(options: CtiRelayOptions): Promise<RunningCtiRelay> {
  const { log } = options;
  const spool = new EventSpool(options.spoolFile, { ...defaultSpoolLimits, ...options.spoolLimits }, log);
  const expectedAuth = Buffer.from(`Bearer ${options.token}`);
  let stopping = false;

  const authorized = (request: http.IncomingMessage): boolean => {
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expectedAuth.length && timingSafeEqual(given, expectedAuth);
  };

  const route = async (search: string, response: http.ServerResponse): Promise<void> => {
    const callId = new URLSearchParams(search).get('callId') ?? '?';
    const started = performance.now();
    const fallback = (reason: string): void => {
      log(`route call ${callId}: fallback group, ${reason} (${Math.round(performance.now() - started)} ms)`);
      send(response, 200, { action: 'fallback', decidedBy: 'relay', reason });
    };
    try {
      const answer = await fetch(`${options.backendUrl}/api/cti/route${search}`, {
        headers: { authorization: `Bearer ${options.token}` },
        signal: AbortSignal.timeout(options.routingBudgetMs),
      });
      const body = await answer.text();
      if (answer.status !== 200) {
        fallback(`the backend answered HTTP ${answer.status}`);
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      fallback(name === 'TimeoutError' ? `no answer from the backend within ${options.routingBudgetMs} ms` : 'the backend is unreachable');
    }
  };

  const receiveEvent = (text: string, response: http.ServerResponse): void => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      send(response, 400, { error: { code: 'invalid_json', message: 'the body must be a JSON call event' } });
      return;
    }
    const parsed = eventSchema.safeParse(json);
    if (!parsed.success) {
      send(response, 400, { error: { code: 'invalid_event', message: describeZodError(parsed.error) } });
      return;
    }
    try {
      spool.add(parsed.data, text);
    } catch (error) {
      log(`could not store a call event: ${error instanceof Error ? error.message : String(error)}`);
      send(response, 503, { error: { code: 'spool_unavailable', message: 'the event spool cannot be written' } });
      return;
    }
    send(response, 200, {});
    wake();
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://relay');
    if (request.method === 'GET' && url.pathname === '/health') {
      send(response, 200, { ok: true });
      return;
    }
    if (!authorized(request)) {
      send(response, 401, { error: { code: 'unauthorized', message: 'a valid CTI token is required' } });
      return;
    }
    if (request.method === 'GET' && url.pathname === '/route') {
      void route(url.search, response);
      return;
    }
    if (request.method === 'POST' && url.pathname === '/events') {
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_EVENT_BYTES) chunks.push(chunk);
      });
      request.on('end', () => {
        if (size > MAX_EVENT_BYTES) send(response, 413, { error: { code: 'too_large', message: `a call event is at most ${MAX_EVENT_BYTES} bytes` } });
        else receiveEvent(Buffer.concat(chunks).toString('utf8'), response);
      });
      return;
    }
    send(response, 404, { error: { code: 'not_found', message: `no ${request.method} ${url.pathname}` } });
  });

  // The deliverer: one event at a time, oldest first; a failure waits and tries the same event again.
  let wakeUp: (() => void) | undefined;
  const wake = (): void => {
    wakeUp?.();
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  const deliver = async (): Promise<void> => {
    let retryMs = RETRY_MIN_MS;
    let lastPrune = 0;
    let failing = false;
    while (!stopping) {
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        spool.prune();
        lastPrune = Date.now();
      }
      const next = spool.next();
      if (!next) {
        await sleep(PRUNE_EVERY_MS);
        continue;
      }
      let outcome: 'delivered' | 'refused' | 'retry';
      let detail = '';
      try {
        const answer = await fetch(`${options.backendUrl}/api/cti/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
          body: next.body,
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        detail = `HTTP ${answer.status}`;
        const text = await answer.text();
        if (answer.ok) outcome = 'delivered';
        else if (worthRetrying(answer.status)) outcome = 'retry';
        else {
          outcome = 'refused';
          detail += `: ${text.slice(0, 300)}`;
        }
      } catch (error) {
        outcome = 'retry';
        detail = error instanceof Error && error.name === 'TimeoutError' ? 'no answer' : 'unreachable';
      }
      if (outcome === 'retry') {
        if (!failing) log(`the backend does not take call events (${detail}); keeping them (${spool.pending()} waiting) and trying again`);
        failing = true;
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        continue;
      }
      if (outcome === 'refused') log(`the backend refused a call event (call ${next.callId}, ${next.event}; ${detail}): not sent again`);
      if (failing) log(`the backend takes call events again (${spool.pending() - 1} still waiting)`);
      failing = false;
      retryMs = RETRY_MIN_MS;
      spool.delivered(next.seq);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const delivering = deliver().catch((error: unknown) => {
    log(`the event deliverer stopped: ${error instanceof Error ? error.message : String(error)}`);
  });
  const port = (server.address() as AddressInfo).port;
  log(`listening on 127.0.0.1:${port}; routing budget ${options.routingBudgetMs} ms; ${spool.pending()} event(s) waiting in the spool`);

  return {
    port,
    pendingEvents: () => spool.pending(),
    async stop() {
      stopping = true;
      wake();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await delivering;
      spool.close();
    },
  };
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
