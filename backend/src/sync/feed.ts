import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { DatabaseHandle } from '../db/database.js';

/** The PostgreSQL channel on which every backend instance announces committed changes. */
export const PG_CHANGES_CHANNEL = 'tsunagu_changes';

export function localChangeEvent(tenantId: string): string {
  return `changed:${tenantId}`;
}

export function encodePoke(tenantId: string, seq: number): string {
  return JSON.stringify({ tenantId, seq });
}

function decodePoke(payload: string | undefined): { tenantId: string; seq: number } | null {
  try {
    const value: unknown = JSON.parse(payload ?? '');
    if (typeof value !== 'object' || value === null) return null;
    const { tenantId, seq } = value as Record<string, unknown>;
    return typeof tenantId === 'string' && typeof seq === 'number' ? { tenantId, seq } : null;
  } catch {
    return null;
  }
}

export type ChangeListener = (seq: number) => void;

/** Tells subscribers (the SSE streams of this instance) that a tenant's change log advanced. */
export interface ChangeFeed {
  start(): Promise<void>;
  subscribe(tenantId: string, listener: ChangeListener): () => void;
  close(): Promise<void>;
}

export interface FeedLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export function createChangeFeed(handle: DatabaseHandle, log: FeedLogger): ChangeFeed {
  if (handle.dialect === 'sqlite') {
    // SQLite serves a single backend process: writers emit on this emitter after commit.
    const emitter = handle.localChanges;
    return {
      start: async () => undefined,
      subscribe(tenantId, listener) {
        const event = localChangeEvent(tenantId);
        emitter.on(event, listener);
        return () => emitter.off(event, listener);
      },
      close: async () => undefined,
    };
  }
  return new PostgresChangeFeed(handle, log);
}

const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * LISTENs on a dedicated connection, so a write committed through any backend instance pokes
 * the SSE clients of every instance. NOTIFY is sent inside the writing transaction and
 * PostgreSQL delivers it only at commit, so a poke never announces an invisible change.
 */
class PostgresChangeFeed implements ChangeFeed {
  readonly #emitter = new EventEmitter();
  #client: pg.Client | null = null;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #reconnectDelay = RECONNECT_FIRST_MS;

  constructor(
    private readonly handle: Extract<DatabaseHandle, { dialect: 'postgres' }>,
    private readonly log: FeedLogger,
  ) {
    this.#emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  subscribe(tenantId: string, listener: ChangeListener): () => void {
    const event = localChangeEvent(tenantId);
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
    this.#emitter.removeAllListeners();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.handle.url });
    client.on('notification', (message) => {
      if (message.channel !== PG_CHANGES_CHANNEL) return;
      const poke = decodePoke(message.payload);
      if (poke) this.#emitter.emit(localChangeEvent(poke.tenantId), poke.seq);
    });
    const lost = (error?: Error) => {
      if (this.#client !== client || this.#closed) return;
      this.#client = null;
      client.end().catch(() => undefined);
      this.log.warn({ err: error }, 'change feed lost its PostgreSQL connection; reconnecting');
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANGES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.#client = client;
    this.#reconnectDelay = RECONNECT_FIRST_MS;
  }

  #scheduleReconnect(): void {
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#closed) return;
      this.#connect()
        .then(() => this.#pokeEveryone())
        .catch((error: unknown) => {
          this.log.warn({ err: error }, 'change feed could not reconnect to PostgreSQL');
          this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, RECONNECT_MAX_MS);
          this.#scheduleReconnect();
        });
    }, this.#reconnectDelay);
  }

  /** Notifications sent while the connection was down are lost: poke every subscriber once. */
  async #pokeEveryone(): Promise<void> {
    const tenantIds = this.#emitter
      .eventNames()
      .map(String)
      .filter((name) => name.startsWith('changed:'))
      .map((name) => name.slice('changed:'.length));
    if (tenantIds.length === 0) return;
    const rows = await this.handle.db.selectFrom('tenants').select(['id', 'last_seq']).where('id', 'in', tenantIds).execute();
    for (const row of rows) this.#emitter.emit(localChangeEvent(row.id), Number(row.last_seq));
    this.log.info({ tenants: rows.length }, 'change feed reconnected');
  }
}
