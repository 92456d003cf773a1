import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { DatabaseHandle } from '../db/database.js';

/**
 * Carries "something of this tenant changed, re-read it" between the writers and the listeners
 * (SSE streams, the mail sender) of every backend instance. On SQLite one process serves
 * everything, so the writers emit on the handle's in-process emitter after commit. On
 * PostgreSQL the writers NOTIFY on a channel, and each instance LISTENs on a dedicated
 * connection and re-emits what it hears on an emitter of its own.
 */
export interface PokeBus {
  /** Where subscribers listen: the handle's emitter on SQLite, this bus's own on PostgreSQL. */
  readonly emitter: EventEmitter;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface PokeLogger {
  warn(details: object, message: string): void;
}

export interface PokeBusOptions {
  /** The PostgreSQL channel the writers NOTIFY on. */
  channel: string;
  /** Names the bus in log lines ("change feed"). */
  name: string;
  log: PokeLogger;
  /** Re-emits one NOTIFY payload on the bus's emitter; a payload it cannot read is dropped. */
  deliver(payload: string | undefined, emitter: EventEmitter): void;
  /** Notifications sent while the connection was down are lost: poke every subscriber once. */
  afterReconnect(emitter: EventEmitter): Promise<void> | void;
}

const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export function createPokeBus(handle: DatabaseHandle, options: PokeBusOptions): PokeBus {
  if (handle.dialect === 'sqlite') {
    return { emitter: handle.localChanges, start: async () => undefined, close: async () => undefined };
  }
  return new PostgresPokeBus(handle.url, options);
}

/** Listens on `event` until the returned function is called. */
export function listenTo(emitter: EventEmitter, event: string, listener: Parameters<EventEmitter['on']>[1]): () => void {
  emitter.on(event, listener);
  return () => emitter.off(event, listener);
}

/** The keys of the events named `${prefix}${key}` that someone listens to (the tenants to poke). */
export function subscribedKeys(emitter: EventEmitter, prefix: string): string[] {
  return emitter
    .eventNames()
    .map(String)
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
}

class PostgresPokeBus implements PokeBus {
  readonly emitter = new EventEmitter();
  #client: pg.Client | null = null;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #reconnectDelay = RECONNECT_FIRST_MS;

  constructor(
    private readonly url: string,
    private readonly options: PokeBusOptions,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
    this.emitter.removeAllListeners();
  }

  async #connect(): Promise<void> {
    const { channel, name, log } = this.options;
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.channel === channel) this.options.deliver(message.payload, this.emitter);
    });
    const lost = (error?: Error) => {
      if (this.#client !== client || this.#closed) return;
      this.#client = null;
      client.end().catch(() => undefined);
      log.warn({ err: error }, `${name} lost its PostgreSQL connection; reconnecting`);
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
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
        .then(() => this.options.afterReconnect(this.emitter))
        .catch((error: unknown) => {
          this.options.log.warn({ err: error }, `${this.options.name} could not reconnect to PostgreSQL`);
          this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, RECONNECT_MAX_MS);
          this.#scheduleReconnect();
        });
    }, this.#reconnectDelay);
  }
}
