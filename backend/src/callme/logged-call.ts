import type { Transaction } from 'kysely';
import { recordAudit } from '../audit.js';
import type { Database } from '../db/schema.js';
import { callmeTrx } from './schema.js';

/**
 * An outbound call the operator logged (their wrap-up) with a customer whose call-me request
 * they are dialling closes that request, in the wrap-up's transaction: the request ends with
 * the call even when the app's own report of the call's end never arrived (the window closed
 * mid-call). A request already closed by that report is left as it is.
 */
export async function callMeForLoggedCall(
  trx: Transaction<Database>,
  call: { tenantId: string; userId: string; customerId: string; answered: boolean; callId: string | null },
): Promise<void> {
  const nowIso = new Date().toISOString();
  const outcome = call.answered ? 'answered' : 'no_answer';
  const closed = await callmeTrx(trx)
    .updateTable('callme_requests')
    .set({ state: 'done', outcome, call_id: call.callId, updated_at: nowIso, ended_at: nowIso })
    .where('tenant_id', '=', call.tenantId)
    .where('customer_id', '=', call.customerId)
    .where('accepted_by', '=', call.userId)
    .where('state', '=', 'dialling')
    .returning('id')
    .execute();
  for (const row of closed) {
    await recordAudit(trx, {
      tenantId: call.tenantId,
      userId: call.userId,
      action: 'callme_done',
      customerId: call.customerId,
      details: { requestId: row.id, outcome, callId: call.callId, via: 'wrap_up' },
    });
  }
}
