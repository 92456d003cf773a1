import { backoffDelay, type BackoffPolicy } from './backoff.js';

export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * Reads a text/event-stream body (the subset of the SSE format the backend speaks: `event`,
 * `data`, comments and `retry`) and yields each event when its blank line arrives.
 * `onActivity` is called for every chunk, pings included, so a caller can notice a stream
 * that went silent.
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
  onActivity: () => void = () => {},
): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onActivity();
      buffer += decoder.decode(value, { stream: true });
      let lineEnd: number;
      while ((lineEnd = buffer.search(/\r\n|\r|\n/)) !== -1) {
        // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (buffer[lineEnd] === '\r' && lineEnd === buffer.length - 1) break;
        const line = buffer.slice(0, lineEnd);
        buffer = buffer.slice(lineEnd + (buffer.startsWith('\r\n', lineEnd) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
      }
    }
  } finally {
    // Closes the connection when the consumer stops early; a failed stream has nothing to close.
    await reader.cancel().catch(() => {});
  }
}

export interface FollowEventsOptions {
  /** Aborting it ends the loop for good. */
  signal: AbortSignal;
  backoff: BackoffPolicy;
  /** A connection that stays silent this long (no event, no ping) is dropped and reopened. */
  silenceMs: number;
  open(signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** Called once per (re)connection, before its first event. */
  onOpen?(): void;
  onEvent(event: ServerSentEvent): void;
  /** Called with whatever ended a connection; `'stop'` ends the loop instead of reconnecting. */
  onError(error: unknown): 'stop' | void;
  /**
   * Subscribes to "the backend is reachable again" (returns the unsubscribe): a wait between
   * reconnection attempts ends at once and the backoff starts over.
   */
  subscribeReachable?(reachable: () => void): () => void;
}

/**
 * Keeps an event stream open until `signal` aborts: reconnects after a failure with backoff
 * (reset by every successful connection) and after `silenceMs` without a byte, because a
 * half-open TCP connection can otherwise hang forever without an error.
 */
export async function followServerSentEvents(o: FollowEventsOptions): Promise<void> {
  const { signal } = o;
  for (let failures = 0; !signal.aborted; ) {
    const connection = new AbortController();
    const abortConnection = () => connection.abort();
    signal.addEventListener('abort', abortConnection, { once: true });
    let silence: NodeJS.Timeout | null = null;
    const heard = () => {
      if (silence) clearTimeout(silence);
      silence = setTimeout(abortConnection, o.silenceMs);
      silence.unref();
    };
    try {
      const body = await o.open(connection.signal);
      failures = 0;
      heard();
      o.onOpen?.();
      for await (const event of readServerSentEvents(body, heard)) o.onEvent(event);
    } catch (error) {
      if (o.onError(error) === 'stop') return;
    } finally {
      if (silence) clearTimeout(silence);
      signal.removeEventListener('abort', abortConnection);
    }
    if (signal.aborted) return;
    const wait = new AbortController();
    const endWait = () => wait.abort();
    signal.addEventListener('abort', endWait, { once: true });
    const unsubscribe = o.subscribeReachable?.(endWait) ?? (() => {});
    try {
      await sleep(backoffDelay(failures++, o.backoff), wait.signal);
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', endWait);
    }
    if (wait.signal.aborted) failures = 0;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
