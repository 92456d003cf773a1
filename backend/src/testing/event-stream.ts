import http from 'node:http';

export interface ServerSentEvent {
  event: string;
  /** The event's `data` line, parsed as JSON (null when the event has none). */
  data: unknown;
}

/**
 * Reads a Server-Sent Events stream over a real HTTP connection; tests wait on its events,
 * never on time. With a token it authenticates with `Authorization: Bearer`; without one the
 * URL must carry it (or the test expects a refusal).
 */
export class EventStreamReader {
  readonly events: ServerSentEvent[] = [];
  readonly status: Promise<number>;
  #waiters: { match: (event: ServerSentEvent) => boolean; resolve: (event: ServerSentEvent) => void }[] = [];
  readonly #request: http.ClientRequest;

  constructor(url: string, token?: string) {
    let buffer = '';
    let settle: (status: number) => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    this.status = new Promise<number>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    this.#request = http.get(url, { headers }, (response) => {
      settle(response.statusCode ?? 0);
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.#dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
    });
    this.#request.on('error', (error) => fail(error));
  }

  #dispatch(block: string): void {
    let event = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (!event) return;
    const received = { event, data: data ? (JSON.parse(data) as unknown) : null };
    this.events.push(received);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(received)) return true;
      waiter.resolve(received);
      return false;
    });
  }

  /** The first event (already received or still to come) that matches. */
  next(match: (event: ServerSentEvent) => boolean): Promise<ServerSentEvent> {
    const earlier = this.events.find(match);
    if (earlier) return Promise.resolve(earlier);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** The first matching event that arrives from now on. */
  upcoming(match: (event: ServerSentEvent) => boolean): Promise<ServerSentEvent> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  close(): void {
    this.#request.destroy();
  }
}
