import { randomUUID } from 'node:crypto';
import type { OutboxEntry, PushResponse } from '../../../shared/api.js';
import { assertNever } from '../../../shared/result.js';
import { recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { applyHandleCall } from '../branch-calls/handle.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { insertContact, summariseNote } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { applyCompleteCallback, applyCreateIncident, applyMoveContact, applyUpdateIncident, type Outcome } from '../incidents/manage.js';
import { applyLogCall } from '../telephony/wrap-up.js';
import { writeTransaction, type WriteTx } from './changelog.js';

type PushResult = PushResponse['results'][number];

const NOT_VISIBLE = 'incident not found, or its customer is not visible to you';

/**
 * Applies one outbox entry (a note, a call's wrap-up) exactly once per (tenant, clientId).
 *
 * The receipt is claimed first, in the same transaction as the note: INSERT … ON CONFLICT DO
 * NOTHING waits for a concurrent transaction holding the same client id, so of two copies of
 * one entry racing in, one stores the note and the other answers `duplicate` with its contact
 * id. A rolled-back transaction takes its receipt with it, so a failed write can be retried.
 */
async function applyEntry(handle: DatabaseHandle, auth: AuthContext, entry: OutboxEntry): Promise<PushResult> {
  const { user, tenant } = auth;
  return writeTransaction(handle, async (tx) => {
    const contactId = randomUUID();
    const claimed = await tx.trx
      .insertInto('push_receipts')
      .values({
        tenant_id: tenant.id,
        client_id: entry.clientId,
        user_id: user.id,
        contact_id: contactId,
        status: 'applied',
        error: null,
        at: new Date().toISOString(),
      })
      .onConflict((conflict) => conflict.columns(['tenant_id', 'client_id']).doNothing())
      .executeTakeFirst();
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) {
      const receipt = await tx.trx
        .selectFrom('push_receipts')
        .selectAll()
        .where('tenant_id', '=', tenant.id)
        .where('client_id', '=', entry.clientId)
        .executeTakeFirstOrThrow();
      if (receipt.user_id !== user.id) {
        return { clientId: entry.clientId, status: 'rejected', contactId: null, error: 'clientId already used by another user' };
      }
      if (receipt.status === 'rejected') {
        return { clientId: entry.clientId, status: 'rejected', contactId: null, error: receipt.error };
      }
      return { clientId: entry.clientId, status: 'duplicate', contactId: receipt.contact_id, error: null };
    }

    const reject = async (error: string): Promise<PushResult> => {
      await tx.trx
        .updateTable('push_receipts')
        .set({ status: 'rejected', error, contact_id: null })
        .where('tenant_id', '=', tenant.id)
        .where('client_id', '=', entry.clientId)
        .execute();
      return { clientId: entry.clientId, status: 'rejected', contactId: null, error };
    };

    switch (entry.type) {
      case 'add_note': {
        const incident = await tx.trx
          .selectFrom('incidents as i')
          .innerJoin('customers as c', 'c.id', 'i.customer_id')
          .select(['i.id', 'i.customer_id'])
          .where('i.tenant_id', '=', tenant.id)
          .where('i.id', '=', entry.incidentId)
          .where(visibleCustomerSql(user, 'c'))
          .executeTakeFirst();
        if (!incident) return reject(NOT_VISIBLE);
        await insertContact(
          tx,
          tenant.id,
          {
            incidentId: incident.id,
            customerId: incident.customer_id,
            kind: 'note',
            direction: 'internal',
            occurredAt: entry.createdAt,
            agentId: user.id,
            summary: summariseNote(entry.body),
            body: entry.body,
            callMeta: null,
          },
          contactId,
        );
        await recordAudit(tx.trx, {
          tenantId: tenant.id,
          userId: user.id,
          action: 'note_added',
          customerId: incident.customer_id,
          details: { incidentId: incident.id, contactId, clientId: entry.clientId },
        });
        return { clientId: entry.clientId, status: 'applied', contactId, error: null };
      }
      case 'log_call': {
        const outcome = await applyLogCall(tx, auth, entry, contactId);
        if (!outcome.applied) return reject(outcome.error);
        return { clientId: entry.clientId, status: 'applied', contactId, error: null };
      }
      case 'handle_call': {
        const outcome = await applyHandleCall(tx, auth, entry, contactId);
        if (!outcome.applied) return reject(outcome.error);
        return { clientId: entry.clientId, status: 'applied', contactId, error: null };
      }
      case 'customer_viewed': {
        // The view happened (from the app's cache); it is recorded even if the user's rights
        // shrank since. Only a customer of another tenant, or none, is refused.
        const customer = await tx.trx
          .selectFrom('customers')
          .select('id')
          .where('tenant_id', '=', tenant.id)
          .where('id', '=', entry.customerId)
          .executeTakeFirst();
        if (!customer) return reject('customerId: no such customer');
        await recordAudit(tx.trx, {
          tenantId: tenant.id,
          userId: user.id,
          action: 'customer_viewed',
          customerId: customer.id,
          details: { via: entry.via, clientId: entry.clientId, receivedAt: new Date().toISOString() },
          at: entry.createdAt,
        });
        return { clientId: entry.clientId, status: 'applied', contactId: null, error: null };
      }
      case 'create_incident':
      case 'update_incident':
      case 'move_contact':
      case 'complete_callback': {
        const outcome: Outcome = await applyManagement(tx, auth, entry);
        if (!outcome.applied) return reject(outcome.error);
        return { clientId: entry.clientId, status: 'applied', contactId: null, error: null };
      }
      default:
        return assertNever(entry, 'outbox entry');
    }
  });
}

type ManagementEntry = Extract<OutboxEntry, { type: 'create_incident' | 'update_incident' | 'move_contact' | 'complete_callback' }>;

function applyManagement(tx: WriteTx, auth: AuthContext, entry: ManagementEntry): Promise<Outcome> {
  switch (entry.type) {
    case 'create_incident':
      return applyCreateIncident(tx, auth, entry);
    case 'update_incident':
      return applyUpdateIncident(tx, auth, entry);
    case 'move_contact':
      return applyMoveContact(tx, auth, entry);
    case 'complete_callback':
      return applyCompleteCallback(tx, auth, entry);
    default:
      return assertNever(entry, 'outbox entry');
  }
}

/** Entries apply one by one, each in its own transaction: one rejected note does not hold back the rest. */
export async function applyPush(handle: DatabaseHandle, auth: AuthContext, entries: OutboxEntry[]): Promise<PushResult[]> {
  const results: PushResult[] = [];
  for (const entry of entries) results.push(await applyEntry(handle, auth, entry));
  return results;
}
