import { sql } from 'kysely';
import type { DatabaseHandle } from '../db/database.js';
import { createPokeBus, listenTo, type PokeLogger } from '../events/pokes.js';

/** The PostgreSQL channel on which backend instances tell each other an operator's offer changed. */
export const PG_CALLME_CHANNEL = 'tsunagu_callme';

function offerEvent(tenantId: string, userId: string): string {
  return `callme:${tenantId}:${userId}`;
}

/**
 * "Your call-me offer changed" for one operator, from the instance that changed it to the one
 * holding that operator's event stream (a NOTIFY on PostgreSQL, the handle's emitter on SQLite).
 * The stream then tells the app, which asks for its offer: the poke carries nothing else.
 */
export interface CallMeNotifier {
  start(): Promise<void>;
  close(): Promise<void>;
  /** After commit: each of these operators' apps re-reads its offer. */
  offerChanged(tenantId: string, userIds: Iterable<string>): Promise<void>;
  subscribe(tenantId: string, userId: string, listener: () => void): () => void;
}

export function createCallMeNotifier(handle: DatabaseHandle, log: PokeLogger): CallMeNotifier {
  const bus = createPokeBus(handle, {
    channel: PG_CALLME_CHANNEL,
    name: 'call-me offers',
    log,
    deliver(payload, emitter) {
      try {
        const { tenantId, userId } = JSON.parse(payload ?? '') as { tenantId?: unknown; userId?: unknown };
        if (typeof tenantId === 'string' && typeof userId === 'string') emitter.emit(offerEvent(tenantId, userId));
      } catch {
        // Not ours to read: dropped (the app also asks for its offer whenever its stream opens).
      }
    },
    afterReconnect(emitter) {
      // Offers announced while the connection was down: every listening app asks again.
      for (const name of emitter.eventNames()) if (String(name).startsWith('callme:')) emitter.emit(name);
    },
  });
  return {
    start: () => bus.start(),
    close: () => bus.close(),
    async offerChanged(tenantId, userIds) {
      for (const userId of new Set(userIds)) {
        if (handle.dialect === 'postgres') {
          await sql`select pg_notify(${PG_CALLME_CHANNEL}, ${JSON.stringify({ tenantId, userId })})`.execute(handle.db);
        } else {
          handle.localChanges.emit(offerEvent(tenantId, userId));
        }
      }
    },
    subscribe: (tenantId, userId, listener) => listenTo(bus.emitter, offerEvent(tenantId, userId), listener),
  };
}
