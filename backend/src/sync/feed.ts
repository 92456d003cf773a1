import type { DatabaseHandle } from '../db/database.js';
import { createPokeBus, listenTo, subscribedKeys } from '../events/pokes.js';

/** The PostgreSQL channel on which every backend instance announces committed changes. */
export const PG_CHANGES_CHANNEL = 'tsunagu_changes';

const CHANGED_PREFIX = 'changed:';

export function localChangeEvent(tenantId: string): string {
  return `${CHANGED_PREFIX}${tenantId}`;
}

/** `rightsOf`: the poke announces that this user's rights changed (no change-log entry does). */
export function encodePoke(tenantId: string, seq: number, rightsOf?: string): string {
  return JSON.stringify(rightsOf === undefined ? { tenantId, seq } : { tenantId, seq, rightsOf });
}

function decodePoke(payload: string | undefined): { tenantId: string; seq: number; rightsOf?: string } | null {
  try {
    const value: unknown = JSON.parse(payload ?? '');
    if (typeof value !== 'object' || value === null) return null;
    const { tenantId, seq, rightsOf } = value as Record<string, unknown>;
    if (typeof tenantId !== 'string' || typeof seq !== 'number') return null;
    return typeof rightsOf === 'string' ? { tenantId, seq, rightsOf } : { tenantId, seq };
  } catch {
    return null;
  }
}

/** `rightsOf`: set when the poke is about that user's rights rather than a new change. */
export type ChangeListener = (seq: number, rightsOf?: string) => void;

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
      if (poke) emitter.emit(localChangeEvent(poke.tenantId), poke.seq, poke.rightsOf);
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
