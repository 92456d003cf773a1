import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resolveSessionByHash } from '../auth/sessions.js';
import type { DatabaseHandle } from '../db/database.js';

const PING_INTERVAL_MS = 25_000;
/**
 * A comment line this often, without a database read: the app takes a stream silent for 5 s
 * as a lost backend (issue 13 item 5), so a dead backend is noticed within seconds. A stream
 * that carried anything in the last half interval skips it (a busy tenant's streams carry a
 * poke about every second: a thousand streams' heartbeats were 500 socket writes a second for
 * nothing), so a stream is never silent for more than one and a half intervals.
 */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** One open Server-Sent Events response. */
export interface EventStream<Event extends string> {
  /** Writes one event; does nothing once the stream has ended. */
  send(event: Event, data: object): void;
  /**
   * Writes one event already framed (`event: …\ndata: …\n\n`, see `frameEvent`): the same
   * bytes go to many streams (sync/delta-pokes.ts), encoded once. Does nothing once ended.
   */
  sendFramed(framed: Buffer): void;
  isOpen(): boolean;
  /** Runs `cleanup` once when the stream ends, whoever ends it (at once if it already has). */
  onEnd(cleanup: () => void): void;
  end(): void;
}

/**
 * Opens the Server-Sent Events responses of one route. Each stream gets a `ping` every 25 s,
 * which keeps proxies from closing an idle stream and ends the stream once its session has
 * ended; every stream ends when the server closes, so a close never waits on a client.
 */
export function eventStreams(app: FastifyInstance, handle: DatabaseHandle) {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  return function openEventStream<Event extends string>(request: FastifyRequest, reply: FastifyReply): EventStream<Event> {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Important: nginx would otherwise buffer the stream and hold every event back.
      'x-accel-buffering': 'no',
    });
    const cleanups: (() => void)[] = [];
    let wroteAt = performance.now();
    const write = (event: string, data: object) => writeFramed(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const writeFramed = (framed: string | Buffer) => {
      if (!open.has(end)) return;
      wroteAt = performance.now();
      res.write(framed);
    };
    const ping = setInterval(() => {
      resolveSessionByHash(handle, request.auth.tokenHash)
        .then((session) => (session ? write('ping', {}) : end()))
        .catch(() => end());
    }, PING_INTERVAL_MS);
    const heartbeat = setInterval(() => {
      if (!open.has(end) || performance.now() - wroteAt < HEARTBEAT_INTERVAL_MS / 2) return;
      wroteAt = performance.now();
      res.write(': heartbeat\n\n');
    }, HEARTBEAT_INTERVAL_MS);
    const end = () => {
      if (!open.delete(end)) return;
      clearInterval(ping);
      clearInterval(heartbeat);
      for (const cleanup of cleanups) cleanup();
      res.end();
    };
    open.add(end);
    request.raw.on('close', end);
    res.write('retry: 3000\n\n');
    return {
      send: write,
      sendFramed: writeFramed,
      isOpen: () => open.has(end),
      onEnd(cleanup) {
        if (open.has(end)) cleanups.push(cleanup);
        else cleanup();
      },
      end,
    };
  };
}

/** One event framed for `sendFramed`; `json` must be one line (JSON.stringify writes no newline). */
export function frameEvent(event: string, json: string): Buffer {
  return Buffer.from(`event: ${event}\ndata: ${json}\n\n`, 'utf8');
}
