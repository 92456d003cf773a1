import type { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../db/database.js';
import { createPokeBus, listenTo, subscribedKeys } from '../events/pokes.js';

/**
 * "Something in the mail queue, the review queue, presence or calls of this tenant changed."
 * It drives the supervisor's live view, wakes the operators' apps to ask for an offer, and
 * wakes the sender. The change feed of sync/feed.ts cannot carry it: it announces change-log
 * sequences, which these changes do not have. Same transport, though: the in-process emitter
 * of the SQLite handle (one process), LISTEN/NOTIFY on PostgreSQL (every instance).
 */
export const PG_MAIL_CHANNEL = 'tsunagu_mail';

const MAIL_PREFIX = 'mail:';

function localMailEvent(tenantId: string): string {
  return `${MAIL_PREFIX}${tenantId}`;
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

const EVERY_TENANT = '*';
const ALL = localMailEvent(EVERY_TENANT);

export interface NotifierLogger {
  warn(details: object, message: string): void;
}

function emitMailChange(emitter: EventEmitter, tenantId: string): void {
  emitter.emit(localMailEvent(tenantId), tenantId);
  emitter.emit(ALL, tenantId);
}

export function createMailNotifier(handle: DatabaseHandle, log: NotifierLogger): MailNotifier {
  const bus = createPokeBus(handle, {
    channel: PG_MAIL_CHANNEL,
    name: 'mail notifier',
    log,
    deliver(payload, emitter) {
      if (payload) emitMailChange(emitter, payload);
    },
    afterReconnect(emitter) {
      const tenantIds = subscribedKeys(emitter, MAIL_PREFIX).filter((key) => key !== EVERY_TENANT);
      for (const tenantId of tenantIds) emitMailChange(emitter, tenantId);
    },
  });
  return {
    start: () => bus.start(),
    publish: async (tenantId) => {
      if (handle.dialect === 'sqlite') emitMailChange(bus.emitter, tenantId);
      else await sql`select pg_notify(${PG_MAIL_CHANNEL}, ${tenantId})`.execute(handle.db);
    },
    subscribe: (tenantId, listener) => listenTo(bus.emitter, localMailEvent(tenantId), listener),
    subscribeAll: (listener) => listenTo(bus.emitter, ALL, listener),
    close: () => bus.close(),
  };
}
