import type { CallMeta } from '../../../shared/domain.js';
import { recordAudit } from '../audit.js';
import { callMeForLoggedCall } from '../callme/logged-call.js';
import type { WriteTx } from '../sync/changelog.js';
import { callsTrx } from './schema.js';

export interface LoggedCall {
  tenantId: string;
  userId: string;
  customerId: string;
  /** The contact the call became. */
  contactId: string;
  /** The outbox clientId of the wrap-up: the id of the callback it flags. */
  clientId: string;
  /** When the wrap-up was written (the app's clock): when its callback was asked for. */
  direction: 'inbound' | 'outbound';
  callMeta: CallMeta;
  loggedAt: string;
}

/**
 * What a logged call does to callbacks: it is "a later call with that customer", so every
 * callback of the customer still open is done; and its own "callback needed" opens a new one.
 * Runs in the wrap-up's transaction, so the call and its callbacks commit together.
 */
export async function callbacksForLoggedCall(tx: WriteTx, call: LoggedCall): Promise<void> {
  const trx = callsTrx(tx.trx);
  if (call.direction === 'outbound') {
    const { callId, answeredAt } = call.callMeta;
    await callMeForLoggedCall(tx.trx, { tenantId: call.tenantId, userId: call.userId, customerId: call.customerId, answered: Boolean(answeredAt), callId: callId ?? null });
  }
  const done = await trx
    .updateTable('callbacks')
    // When the backend learnt of it: a wrap-up pushed after a day offline is done today.
    .set({ done_at: new Date().toISOString(), done_by: call.userId, done_reason: 'called', done_contact_id: call.contactId })
    .where('tenant_id', '=', call.tenantId)
    .where('customer_id', '=', call.customerId)
    .where('done_at', 'is', null)
    // Only callbacks flagged before this call began: a wrap-up pushed late (offline) does not
    // close a callback asked for after it.
    .where('flagged_at', '<', call.callMeta.startedAt ?? call.loggedAt)
    .returning(['id'])
    .execute();
  for (const row of done) {
    await recordAudit(tx.trx, {
      tenantId: call.tenantId,
      userId: call.userId,
      action: 'callback_done',
      customerId: call.customerId,
      details: { callbackId: row.id, reason: 'called', contactId: call.contactId },
    });
  }
  if (!call.callMeta.callbackNeeded) return;
  const inbound = call.direction === 'inbound';
  // Stored in UTC like every time here, so that due times compare as text (an app may send +09:00).
  const dueAt = call.callMeta.callbackDueAt ? new Date(call.callMeta.callbackDueAt).toISOString() : null;
  await trx
    .insertInto('callbacks')
    .values({
      id: call.clientId,
      tenant_id: call.tenantId,
      customer_id: call.customerId,
      call_id: call.callMeta.callId ?? null,
      contact_id: call.contactId,
      remote: ((inbound ? call.callMeta.from : call.callMeta.to) ?? '').slice(0, 100),
      flagged_by: call.userId,
      flagged_at: call.loggedAt,
      // No due time (an app from before due times): as soon as possible, so due at once.
      due_at: dueAt ?? call.loggedAt,
      done_at: null,
      done_by: null,
      done_reason: null,
      done_contact_id: null,
    })
    .execute();
  await recordAudit(tx.trx, {
    tenantId: call.tenantId,
    userId: call.userId,
    action: 'callback_flagged',
    customerId: call.customerId,
    details: { callbackId: call.clientId, contactId: call.contactId, callId: call.callMeta.callId ?? null, dueAt },
  });
}
