import type { Kysely } from 'kysely';
import { addSeconds } from '../mail/clock.js';
import type { CallQueueTable, TelephonyDatabase } from './schema.js';

/**
 * The call queue (ACD). Every fact lives in `call_queue`, so any backend instance answers the
 * PBX the same way: the oldest waiting call is offered first, to as many calls as there are
 * free agents.
 */

/**
 * The PBX's hold player asks about its call every 500 ms. An entry it has not asked about for
 * this long belongs to a caller the PBX lost without telling us (a restart, a lost `abandoned`
 * event): it no longer holds a place in line, so it cannot block the callers behind it.
 */
export const QUEUE_SILENCE_SECONDS = 15;

/**
 * A call just handed to the PBX has not reached an agent's phone yet: until one of its legs is
 * reported (or this long has passed), it counts as occupying one of the free agents, so the
 * next caller in line is not handed the same agent at the same moment.
 */
export const DELIVERY_HOLD_SECONDS = 5;

export interface QueueStanding {
  /** 1-based place among the waiting calls; 0 when the call is no longer waiting. */
  position: number;
  /** Calls waiting in this tenant's queue. */
  waiting: number;
}

export type QueueEntry = Pick<CallQueueTable, 'call_id' | 'caller' | 'customer_id' | 'state' | 'entered_at' | 'left_at'>;

function liveWaiting(db: Kysely<TelephonyDatabase>, tenantId: string, now: string) {
  return db
    .selectFrom('call_queue')
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'waiting')
    .where('polled_at', '>', addSeconds(now, -QUEUE_SILENCE_SECONDS));
}

export async function queueEntry(db: Kysely<TelephonyDatabase>, tenantId: string, callId: string): Promise<QueueEntry | null> {
  const row = await db
    .selectFrom('call_queue')
    .select(['call_id', 'caller', 'customer_id', 'state', 'entered_at', 'left_at'])
    .where('tenant_id', '=', tenantId)
    .where('call_id', '=', callId)
    .executeTakeFirst();
  return row ?? null;
}

export async function waitingCount(db: Kysely<TelephonyDatabase>, tenantId: string, now: string): Promise<number> {
  const row = await liveWaiting(db, tenantId, now).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Where a waiting call stands: the calls that entered before it (ties by Call-ID) are ahead. */
export async function standingOf(db: Kysely<TelephonyDatabase>, tenantId: string, entry: QueueEntry, now: string): Promise<QueueStanding> {
  const waiting = await waitingCount(db, tenantId, now);
  if (entry.state !== 'waiting') return { position: 0, waiting };
  const ahead = await liveWaiting(db, tenantId, now)
    .where((eb) =>
      eb.or([eb('entered_at', '<', entry.entered_at), eb.and([eb('entered_at', '=', entry.entered_at), eb('call_id', '<', entry.call_id)])]),
    )
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return { position: Number(ahead.n) + 1, waiting };
}

/**
 * Delivered calls that no phone has reported yet (see DELIVERY_HOLD_SECONDS): each keeps one
 * free agent for itself.
 */
export async function pendingDeliveries(db: Kysely<TelephonyDatabase>, tenantId: string, now: string): Promise<number> {
  const row = await db
    .selectFrom('call_queue as q')
    .where('q.tenant_id', '=', tenantId)
    .where('q.state', '=', 'delivered')
    .where('q.left_at', '>', addSeconds(now, -DELIVERY_HOLD_SECONDS))
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('calls as c')
            .select('c.id')
            .where('c.tenant_id', '=', tenantId)
            .whereRef('c.external_id', '=', 'q.call_id')
            .where('c.agent_id', 'is not', null),
        ),
      ),
    )
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Puts a call in line (or back in line, at its old place, when a delivered call found nobody
 * after all). A call that was abandoned stays abandoned. Returns the entry as it now stands.
 */
export async function enterQueue(
  db: Kysely<TelephonyDatabase>,
  call: { tenantId: string; callId: string; caller: string; customerId: string | null },
  now: string,
): Promise<QueueEntry> {
  await db
    .insertInto('call_queue')
    .values({
      tenant_id: call.tenantId,
      call_id: call.callId,
      caller: call.caller,
      customer_id: call.customerId,
      state: 'waiting',
      entered_at: now,
      polled_at: now,
      left_at: null,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'call_id']).doUpdateSet({ state: 'waiting', polled_at: now, left_at: null }).where('call_queue.state', '=', 'delivered'),
    )
    .execute();
  const entry = await queueEntry(db, call.tenantId, call.callId);
  if (!entry) throw new Error('the queue entry vanished right after it was written');
  return entry;
}

/** The PBX still holds this caller: keeps the entry's place in line. */
export async function touchQueueEntry(db: Kysely<TelephonyDatabase>, tenantId: string, callId: string, now: string): Promise<void> {
  await db
    .updateTable('call_queue')
    .set({ polled_at: now })
    .where('tenant_id', '=', tenantId)
    .where('call_id', '=', callId)
    .where('state', '=', 'waiting')
    .execute();
}

/**
 * Takes a waiting call out of line, to ring an agent (`delivered`) or because the caller hung
 * up (`abandoned`). Only a waiting entry moves, so of two backend instances racing to deliver
 * the same call exactly one gets `true`.
 */
export async function leaveQueue(
  db: Kysely<TelephonyDatabase>,
  tenantId: string,
  callId: string,
  state: 'delivered' | 'abandoned',
  now: string,
): Promise<boolean> {
  const from: CallQueueTable['state'][] = state === 'abandoned' ? ['waiting', 'delivered'] : ['waiting'];
  const result = await db
    .updateTable('call_queue')
    .set({ state, left_at: now })
    .where('tenant_id', '=', tenantId)
    .where('call_id', '=', callId)
    .where('state', 'in', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface QueuedCaller {
  callId: string;
  caller: string;
  customerId: string | null;
  position: number;
  enteredAt: string;
}

/** The tenant's waiting callers in order, and when callers gave up since `since` (the live view). */
export async function queueSnapshot(
  db: Kysely<TelephonyDatabase>,
  tenantId: string,
  now: string,
  since: string,
): Promise<{ callers: QueuedCaller[]; abandonedAt: string[] }> {
  const rows = await liveWaiting(db, tenantId, now)
    .select(['call_id', 'caller', 'customer_id', 'entered_at'])
    .orderBy('entered_at')
    .orderBy('call_id')
    .execute();
  const abandoned = await db
    .selectFrom('call_queue')
    .select('left_at')
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'abandoned')
    .where('left_at', '>=', since)
    .execute();
  return {
    callers: rows.map((row, index) => ({
      callId: row.call_id,
      caller: row.caller,
      customerId: row.customer_id,
      position: index + 1,
      enteredAt: row.entered_at,
    })),
    abandonedAt: abandoned.flatMap((row) => (row.left_at === null ? [] : [row.left_at])),
  };
}
