/**
 * The simulated agents of `bench:agents` (bench/agents.ts), run in worker threads so that the
 * client's own event loop is not what is measured: one thread with a thousand event streams,
 * their pulls' JSON and their timers delayed its own requests by up to 385 ms under load.
 *
 * Each agent behaves as the app's sync engine does (electron/core/sync/sync-engine.ts): it keeps
 * the event stream open, pulls after its cursor when a `changed` poke is newer than the cursor
 * (one pull at a time; a poke during a pull asks for one more), and pushes one note every
 * interval, the first at a random moment of the first interval.
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
  pulls: number;
  writes: number;
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

class Recorder {
  measuring = false;
  readonly latencies: Record<string, number[]> = { pull: [], push: [] };
  readonly errors: Record<string, number> = {};
  pulls = 0;
  writes = 0;

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
    await this.#pull();
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
    let event = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (event !== 'changed') return;
    let seq = Number.POSITIVE_INFINITY;
    try {
      const parsed = JSON.parse(data) as { seq?: unknown };
      if (typeof parsed.seq === 'number') seq = parsed.seq;
    } catch {
      // A poke without a readable sequence still means "something changed".
    }
    if (seq > this.cursor) void this.#pull();
  }

  async #pull(): Promise<void> {
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    try {
      do {
        this.#again = false;
        let more = true;
        while (more && !this.#stopped) {
          const answer = await this.recorder.timed('pull', () => request(this.base, 'GET', `${API.syncChanges}?after=${this.cursor}`, this.token));
          if (!answer) return;
          if (this.recorder.measuring) this.recorder.pulls++;
          const page = pagePosition(answer.body);
          this.cursor = page.cursor;
          more = page.hasMore;
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#pulling = false;
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
        pulls: recorder.pulls,
        writes: recorder.writes,
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
