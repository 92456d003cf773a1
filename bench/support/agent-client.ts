/**
 * The simulated agents of `bench:agents` (bench/agents.ts), run in worker threads so that the
 * client's own event loop is not what is measured: one thread with a thousand event streams,
 * their pulls' JSON and their timers delayed its own requests by up to 385 ms under load.
 *
 * Each agent behaves as the app's sync engine does (electron/core/sync/sync-engine.ts): it keeps
 * the event stream open; a delta poke (`{ seq, from, changes }`) that starts at or before its
 * cursor moves the cursor without a request, one that arrives during a pull is held and applied
 * after it, one after a gap makes it pull; a bare `{ seq }` poke newer than the cursor, or a
 * rights poke, makes it pull (one pull at a time; a poke during a pull asks for one more). It
 * pushes one note every interval, the first at a random moment of the first interval, and
 * pulls after the push only while no delta has come on its stream, as the app's pass does. Deltas are not parsed: the
 * position is read from the head of the event (`{"seq":N,"from":M,…`), since a thousand
 * agents' deltas are tens of megabytes a second that the operators' own machines parse in the
 * real world, while here it would take the CPU the backend being measured needs.
 *
 * Messages: the main thread sends a `ClientStart`; the worker answers `{ ready: true }` once its
 * agents have pulled and opened their streams, then measures from `measure` until `stop` and
 * answers with a `ClientFigures`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { API } from '../../shared/api.js';

export interface ClientStart {
  base: string;
  tokens: string[];
  incidentIds: string[];
  intervalMs: number;
}

export interface ClientFigures {
  /** Latency of each request of the window, by kind (`pull`, `push`). */
  latencies: Record<string, number[]>;
  errors: Record<string, number>;
  /** Pulls by what caused them: `after push`, `gap`, `bare poke`, `rights`, `again` (a poke during a pull). */
  pullsBy: Record<string, number>;
  writes: number;
  /** Delta pokes that moved the cursor, that it had already passed, and their bytes. */
  deltasApplied: number;
  deltasAlreadyHeld: number;
  deltaBytes: number;
  loopDelayP99Ms: number;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

interface Answer {
  status: number;
  body: string;
}

function request(base: string, method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = http.request(`${base}${path}`, { method, headers, agent: keepAlive }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** What went wrong, by kind: `pull 503`, `push ECONNRESET`, `event stream closed`… */
function failureKind(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * A page's cursor and hasMore, read from the end of its JSON without parsing the changes: a
 * thousand agents' pages are tens of megabytes a second, which the operators' own machines
 * parse in the real world, while here it would take the CPU the backend being measured needs.
 * The page ends `"cursor":N,"hasMore":B,…` after its changes (sync/changes-json.ts); a quote
 * inside a change's text is escaped, so the last unescaped `"cursor":` is the page's own.
 */
function pagePosition(body: string): { cursor: number; hasMore: boolean } {
  const match = /^"cursor":(\d+),"hasMore":(true|false)/.exec(body.slice(body.lastIndexOf('"cursor":')));
  if (!match) {
    const page = JSON.parse(body) as { cursor: number; hasMore: boolean };
    return { cursor: page.cursor, hasMore: page.hasMore };
  }
  return { cursor: Number(match[1]), hasMore: match[2] === 'true' };
}

/** The position a `changed` event names, read from its head (see the file comment). */
function changedHead(data: string): { seq: number; from: number | null; rights: boolean } | null {
  const match = /^\{"seq":(\d+)(?:,"from":(\d+))?/.exec(data);
  if (!match) return null;
  return { seq: Number(match[1]), from: match[2] === undefined ? null : Number(match[2]), rights: data.startsWith(',"rights":true', match[0].length) };
}

class Recorder {
  measuring = false;
  readonly latencies: Record<string, number[]> = { pull: [], push: [] };
  readonly errors: Record<string, number> = {};
  readonly pullsBy: Record<string, number> = {};
  writes = 0;
  deltasApplied = 0;
  deltasAlreadyHeld = 0;
  deltaBytes = 0;

  pulled(reason: string): void {
    if (this.measuring) this.pullsBy[reason] = (this.pullsBy[reason] ?? 0) + 1;
  }

  error(kind: string): void {
    if (this.measuring) this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  /** One timed API request; a non-2xx answer or a failure counts as an error. */
  async timed(kind: 'pull' | 'push', run: () => Promise<Answer>): Promise<Answer | null> {
    const started = performance.now();
    try {
      const answer = await run();
      if (this.measuring) this.latencies[kind]!.push(performance.now() - started);
      if (answer.status < 200 || answer.status >= 300) {
        this.error(`${kind} ${answer.status}`);
        return null;
      }
      return answer;
    } catch (error) {
      this.error(`${kind} ${failureKind(error)}`);
      return null;
    }
  }
}

class SimulatedAgent {
  cursor = 0;
  #pulling = false;
  #again = false;
  /** Delta pokes that arrived during a pull (the app holds them until its pass ends). */
  readonly #held: { seq: number; from: number }[] = [];
  /** The stream has brought a delta: a push is not followed by a pull (the delta brings the note). */
  #deltasLive = false;
  #stream: http.ClientRequest | null = null;
  #writer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly incidentIds: readonly string[],
    private readonly recorder: Recorder,
  ) {}

  /** The first pull (before the window), then the event stream; resolves once it is open. */
  async start(): Promise<void> {
    await this.#pull('start');
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      this.#stream = http.get(`${this.base}${API.events}`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${this.token}` }, agent: false }, (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`event stream answered ${response.statusCode}`));
          return;
        }
        resolve();
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            this.#event(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        });
        response.on('close', () => {
          if (!this.#stopped) this.recorder.error('event stream closed');
        });
      });
      this.#stream.on('error', (error) => {
        if (!this.#stopped) this.recorder.error(`event stream ${failureKind(error)}`);
        reject(error);
      });
    });
  }

  startWriting(intervalMs: number): void {
    const write = () => void this.#write();
    this.#writer = setTimeout(() => {
      write();
      this.#writer = setInterval(write, intervalMs);
    }, Math.random() * intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#writer) clearTimeout(this.#writer);
    this.#stream?.destroy();
  }

  #event(block: string): void {
    if (!block.startsWith('event: changed\n')) return;
    const dataAt = block.indexOf('data: ');
    const data = dataAt < 0 ? '' : block.slice(dataAt + 6);
    const head = changedHead(data);
    // A poke without a readable sequence still means "something changed".
    if (!head) return void this.#pull('bare poke');
    if (head.rights) return void this.#pull('rights');
    if (head.from === null) {
      if (head.seq > this.cursor) void this.#pull('bare poke');
      return;
    }
    this.#deltasLive = true;
    if (this.recorder.measuring) this.recorder.deltaBytes += block.length;
    if (this.#pulling) {
      this.#held.push(head as { seq: number; from: number });
      return;
    }
    this.#applyDelta(head as { seq: number; from: number });
  }

  /** As the app: a delta from at or before the cursor moves it; after a gap, a pull. */
  #applyDelta(delta: { seq: number; from: number }): boolean {
    if (delta.from > this.cursor) {
      void this.#pull('gap');
      return false;
    }
    if (delta.seq <= this.cursor) {
      if (this.recorder.measuring) this.recorder.deltasAlreadyHeld++;
      return true;
    }
    this.cursor = delta.seq;
    if (this.recorder.measuring) this.recorder.deltasApplied++;
    return true;
  }

  async #pull(reason: string): Promise<void> {
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    try {
      let why = reason;
      do {
        this.#again = false;
        let more = true;
        while (more && !this.#stopped) {
          this.recorder.pulled(why);
          const answer = await this.recorder.timed('pull', () => request(this.base, 'GET', `${API.syncChanges}?after=${this.cursor}`, this.token));
          if (!answer) return;
          const page = pagePosition(answer.body);
          this.cursor = page.cursor;
          more = page.hasMore;
        }
        why = 'again';
      } while (this.#again && !this.#stopped);
    } finally {
      this.#pulling = false;
      const held = this.#held.splice(0);
      for (const delta of held) if (!this.#applyDelta(delta)) break;
    }
  }

  async #write(): Promise<void> {
    if (this.#stopped) return;
    const incidentId = this.incidentIds[Math.floor(Math.random() * this.incidentIds.length)]!;
    const entry = { type: 'add_note', clientId: randomUUID(), incidentId, body: `bench note ${Date.now()}`, createdAt: new Date().toISOString() };
    const answer = await this.recorder.timed('push', () => request(this.base, 'POST', API.syncPush, this.token, { entries: [entry] }));
    if (!answer) return;
    const { results } = JSON.parse(answer.body) as { results: { status: string; error: string | null }[] };
    if (results[0]?.status !== 'applied') this.recorder.error(`push ${results[0]?.status ?? 'no result'}: ${results[0]?.error ?? ''}`);
    else if (this.recorder.measuring) this.recorder.writes++;
    // The app's pass pulls after it pushed unless the deltas flow.
    if (!this.#deltasLive) await this.#pull('after push');
  }
}

async function run(port: NonNullable<typeof parentPort>, start: ClientStart): Promise<void> {
  const recorder = new Recorder();
  const agents = start.tokens.map((token) => new SimulatedAgent(start.base, token, start.incidentIds, recorder));
  for (const agent of agents) await agent.start();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  port.on('message', (message: string) => {
    if (message === 'measure') {
      loopDelay.enable();
      recorder.measuring = true;
      for (const agent of agents) agent.startWriting(start.intervalMs);
    } else if (message === 'stop') {
      recorder.measuring = false;
      loopDelay.disable();
      for (const agent of agents) agent.stop();
      keepAlive.destroy();
      const figures: ClientFigures = {
        latencies: recorder.latencies,
        errors: recorder.errors,
        pullsBy: recorder.pullsBy,
        writes: recorder.writes,
        deltasApplied: recorder.deltasApplied,
        deltasAlreadyHeld: recorder.deltasAlreadyHeld,
        deltaBytes: recorder.deltaBytes,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      };
      port.postMessage(figures);
      port.close();
    }
  });
  port.postMessage({ ready: true });
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as ClientStart).catch((error: unknown) => {
    port.postMessage({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
}
