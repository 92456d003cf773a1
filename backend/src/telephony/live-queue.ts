import type { Kysely } from 'kysely';
import type { QueuedCallerView } from '../../../shared/api.js';
import type { Classification, User } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import type { Database } from '../db/schema.js';
import type { MailDatabase } from '../mail/schema.js';
import { queueSnapshot } from './queue.js';
import { telephonyDb } from './schema.js';

/**
 * The call queue as the supervisors' live view shows it: each waiting caller's place and wait,
 * named only when the viewer may see that customer; and when callers gave up since `since`.
 */
export async function liveCallQueue(
  db: Kysely<MailDatabase>,
  tenantId: string,
  now: string,
  since: string,
  viewer: User,
): Promise<{ callers: QueuedCallerView[]; abandonedAt: string[] }> {
  // The mail channel's view of the database is the central one plus its tables.
  const snapshot = await queueSnapshot(telephonyDb(db as unknown as Kysely<Database>), tenantId, now, since);
  const customerIds = [...new Set(snapshot.callers.flatMap((caller) => (caller.customerId === null ? [] : [caller.customerId])))];
  const customers =
    customerIds.length === 0
      ? []
      : await db
          .selectFrom('customers')
          .select(['id', 'name', 'classification', 'branch'])
          .where('tenant_id', '=', tenantId)
          .where('id', 'in', customerIds)
          .execute();
  const nameOf = new Map(
    customers
      .filter((customer) => maySeeCustomer(viewer, { classification: customer.classification as Classification, branch: customer.branch }))
      .map((customer) => [customer.id, customer.name]),
  );
  const nowMs = Date.parse(now);
  return {
    callers: snapshot.callers.map((caller) => ({
      callId: caller.callId,
      caller: caller.caller,
      customerName: caller.customerId === null ? null : (nameOf.get(caller.customerId) ?? null),
      position: caller.position,
      enteredAt: caller.enteredAt,
      secondsWaiting: Math.max(0, Math.floor((nowMs - Date.parse(caller.enteredAt)) / 1000)),
    })),
    abandonedAt: snapshot.abandonedAt,
  };
}
