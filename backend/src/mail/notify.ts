import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import pg from 'pg';
import type { DatabaseHandle } from '../db/database.js';

/**
 * "Something in the mail queue, the review queue, presence or calls of this tenant changed."
 * It drives the supervisor's live view, wakes the operators' apps to ask for an offer, and
 * wakes the sender. The change feed of sync/feed.ts cannot carry it: it announces change-log
 * sequences, which these changes do not have. Same transport, though: the in-process emitter
 * of the SQLite handle (one process), LISTEN/NOTIFY on PostgreSQL (every instance).
 */
export const PG_MAIL_CHANNEL = 'tsunagu_mail';

function localMailEvent(tenantId: string): string {
  return `mail:${tenantId}`;
}

export type MailListener = (tenantId: string) => void;

export interface MailNotifier {
  start(): Promise<void>;
  /** Call after the change committed. */
  publish(tenantId: string): Promise<void>;
  subscribe(tenantId: string, listener: MailListener): () => void;
  /** Every tenant's changes (the sender serves all tenants). */
  subscribeAll(listener: MailListener): () => void;
  close(): Promise<void>;
}

const ALL = 'mail:*';
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export interface NotifierLogger {
  warn(details: object, message: string): void;
}

export function createMailNotifier(handle: DatabaseHandle, log: NotifierLogger): MailNotifier {
  if (handle.dialect === 'sqlite') {
    const emitter = handle.localChanges;
    return {
      start: async () => undefined,
      publish: async (tenantId) => {
        emitter.emit(localMailEvent(tenantId), tenantId);
        emitter.emit(ALL, tenantId);
      },
      subscribe(tenantId, listener) {
        emitter.on(localMailEvent(tenantId), listener);
        return () => emitter.off(localMailEvent(tenantId), listener);
      },
      subscribeAll(listener) {
        emitter.on(ALL, listener);
        return () => emitter.off(ALL, listener);
      },
      close: async () => undefined,
    };
  }
  return new PostgresMailNotifier(handle, log);
}

class PostgresMailNotifier implements MailNotifier {
  readonly #emitter = new EventEmitter();
  #client: pg.Client | null = null;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #reconnectDelay = RECONNECT_FIRST_MS;

  constructor(
    private readonly handle: Extract<DatabaseHandle, { dialect: 'postgres' }>,
    private readonly log: NotifierLogger,
  ) {
    this.#emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async publish(tenantId: string): Promise<void> {
    await sql`select pg_notify(${PG_MAIL_CHANNEL}, ${tenantId})`.execute(this.handle.db);
  }

  subscribe(tenantId: string, listener: MailListener): () => void {
    this.#emitter.on(localMailEvent(tenantId), listener);
    return () => this.#emitter.off(localMailEvent(tenantId), listener);
  }

  subscribeAll(listener: MailListener): () => void {
    this.#emitter.on(ALL, listener);
    return () => this.#emitter.off(ALL, listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
    this.#emitter.removeAllListeners();
  }

  #emit(tenantId: string): void {
    this.#emitter.emit(localMailEvent(tenantId), tenantId);
    this.#emitter.emit(ALL, tenantId);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.handle.url });
    client.on('notification', (message) => {
      if (message.channel === PG_MAIL_CHANNEL && message.payload) this.#emit(message.payload);
    });
    const lost = (error?: Error) => {
      if (this.#client !== client || this.#closed) return;
      this.#client = null;
      client.end().catch(() => undefined);
      this.log.warn({ err: error }, 'mail notifier lost its PostgreSQL connection; reconnecting');
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_MAIL_CHANNEL}`);
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
        .then(() => {
          // Notifications sent while disconnected are lost: tell every subscriber to re-read.
          const tenants = this.#emitter
            .eventNames()
            .map(String)
            .filter((name) => name.startsWith('mail:') && name !== ALL)
            .map((name) => name.slice('mail:'.length));
          for (const tenantId of tenants) this.#emit(tenantId);
        })
        .catch((error: unknown) => {
          this.log.warn({ err: error }, 'mail notifier could not reconnect to PostgreSQL');
          this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, RECONNECT_MAX_MS);
          this.#scheduleReconnect();
        });
    }, this.#reconnectDelay);
  }
}
