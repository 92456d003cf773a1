import type { DatabaseHandle } from '../db/database.js';
import { createPokeBus, listenTo, subscribedKeys } from '../events/pokes.js';

/** The PostgreSQL channel on which every backend instance announces committed changes. */
export const PG_CHANGES_CHANNEL = 'tsunagu_changes';

const CHANGED_PREFIX = 'changed:';

export function localChangeEvent(tenantId: string): string {
  return `${CHANGED_PREFIX}${tenantId}`;
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

/**
 * On PostgreSQL a write committed through any backend instance pokes the SSE clients of every
 * instance. NOTIFY is sent inside the writing transaction and PostgreSQL delivers it only at
 * commit, so a poke never announces an invisible change.
 */
export function createChangeFeed(handle: DatabaseHandle, log: FeedLogger): ChangeFeed {
  const bus = createPokeBus(handle, {
    channel: PG_CHANGES_CHANNEL,
    name: 'change feed',
    log,
    deliver(payload, emitter) {
      const poke = decodePoke(payload);
      if (poke) emitter.emit(localChangeEvent(poke.tenantId), poke.seq);
    },
    async afterReconnect(emitter) {
      const tenantIds = subscribedKeys(emitter, CHANGED_PREFIX);
      if (tenantIds.length === 0) return;
      const rows = await handle.db.selectFrom('tenants').select(['id', 'last_seq']).where('id', 'in', tenantIds).execute();
      for (const row of rows) emitter.emit(localChangeEvent(row.id), Number(row.last_seq));
      log.info({ tenants: rows.length }, 'change feed reconnected');
    },
  });
  return {
    start: () => bus.start(),
    subscribe: (tenantId, listener) => listenTo(bus.emitter, localChangeEvent(tenantId), listener),
    close: () => bus.close(),
  };
}
