/**
 * A stand-in for the backend's CTI routes in PBX-level tests, where the point is how
 * Kamailio behaves when the backend answers, answers late, errs or is gone. It checks the
 * bearer token like the backend does and records every request. The real backend is used
 * by the e2e specs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRouteAnswer {
  status?: number;
  body?: unknown;
  /** Infinity: the request is never answered. */
  delayMs?: number;
}

export interface RecordedRouteRequest {
  query: Record<string, string>;
  authorization: string | undefined;
}

export interface RecordedEvent {
  tenant: string;
  callId: string;
  event: string;
  direction: string;
  caller: string;
  called: string;
  agent: string | null;
  customerId?: string;
  at?: string;
}

export interface CtiBackendStub {
  url: string;
  port: number;
  routeRequests: RecordedRouteRequest[];
  events: RecordedEvent[];
  /** What GET /api/cti/route answers next (for every request until changed). */
  answerRoutesWith(answer: (query: Record<string, string>) => StubRouteAnswer): void;
  /** What GET /api/cti/queue (the media UA's poll) answers; not ready by default. */
  answerQueueWith(answer: (query: Record<string, string>) => StubRouteAnswer): void;
  queueRequests: Array<Record<string, string>>;
  /** Customer numbers the IVR check (GET /api/cti/ivr/customer) knows: code → customer id. */
  ivrCustomers: Map<string, string>;
  /** Refuses events with this status (e.g. 503) until set back to undefined. */
  failEventsWith(status: number | undefined): void;
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  reopen(): Promise<void>;
}

export async function startCtiBackendStub(token: string, fixedPort = 0): Promise<CtiBackendStub> {
  let answer: (query: Record<string, string>) => StubRouteAnswer = () => ({ status: 503, body: { error: { code: 'unavailable' } } });
  let eventFailure: number | undefined;
  let queueAnswer: (query: Record<string, string>) => StubRouteAnswer = () => ({ body: { ready: false, position: 1 } });
  const queueRequests: Array<Record<string, string>> = [];
  const ivrCustomers = new Map<string, string>();
  const routeRequests: RecordedRouteRequest[] = [];
  const events: RecordedEvent[] = [];

  const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://stub');
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${token}`) {
      send(401, { error: { code: 'unauthorized' } });
      return;
    }
    if (request.method === 'GET' && url.pathname === '/api/cti/route') {
      const query = Object.fromEntries(url.searchParams);
      routeRequests.push({ query, authorization: request.headers.authorization });
      const { status = 200, body = {}, delayMs = 0 } = answer(query);
      // A backend that takes the request and never answers.
      if (delayMs === Number.POSITIVE_INFINITY) return;
      setTimeout(() => {
        if (!response.destroyed) send(status, body);
      }, delayMs);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/api/cti/queue') {
      const query = Object.fromEntries(url.searchParams);
      queueRequests.push(query);
      const { status = 200, body = {} } = queueAnswer(query);
      send(status, body);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/api/cti/ivr/customer') {
      const customerId = ivrCustomers.get(url.searchParams.get('code') ?? '');
      if (customerId) send(200, { customerId });
      else send(404, { error: { code: 'not_found', message: 'no such customer' } });
      return;
    }
    if (request.method === 'POST' && url.pathname === '/api/cti/events') {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      request.on('end', () => {
        if (eventFailure !== undefined) {
          send(eventFailure, { error: { code: 'unavailable' } });
          return;
        }
        if (!String(request.headers['content-type']).startsWith('application/json')) {
          send(415, { error: { code: 'unsupported_media_type' } });
          return;
        }
        events.push(JSON.parse(text) as RecordedEvent);
        send(200, {});
      });
      return;
    }
    send(404, { error: { code: 'not_found' } });
  };

  let server = http.createServer(handler);
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(fixedPort);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    routeRequests,
    events,
    answerRoutesWith(next) {
      answer = next;
    },
    answerQueueWith(next) {
      queueAnswer = next;
    },
    queueRequests,
    ivrCustomers,
    failEventsWith(status) {
      eventFailure = status;
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
    async reopen() {
      server = http.createServer(handler);
      await listen(port);
    },
  };
}

/** A routing answer in the backend's shape (CTI-CONTRACT.md §1). */
export function routeAnswer(targets: string[], extra: { ringSeconds?: number; customerId?: string | null; action?: 'ring' | 'queue' } = {}): unknown {
  return {
    customerId: extra.customerId ?? null,
    agent: null,
    reason: targets.length > 0 ? 'last_handler' : 'none',
    action: extra.action ?? 'ring',
    targets: targets.map((sipUser, i) => ({ sipUser, userId: `user-${i}`, reason: 'available_agent' })),
    ringSeconds: extra.ringSeconds ?? 20,
    queue: null,
  };
}
