import type { OutboxEntry } from '../../../shared/api.js';
import type { User } from '../../../shared/domain.js';
import { mayAssignIncident, mayEditIncidents } from '../../../shared/permissions.js';
import { recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { insertIncident } from '../customers/writes.js';
import { mailTrx } from '../mail/schema.js';
import type { WriteTx } from '../sync/changelog.js';
import { callsTrx } from '../calls/schema.js';
import { toUser } from '../users/users.js';

/**
 * Managing incidents outside a wrap-up, applied from the outbox (sync/push.ts) so that they
 * work offline like notes. Each write goes through the change log (the caches get it) and is
 * audited in the same transaction. Rights: shared/permissions.ts `mayEditIncidents` and
 * `mayAssignIncident`; a customer the user may not see answers like a missing one.
 */

export type Outcome = { applied: true } | { applied: false; error: string };

type Entry<T extends OutboxEntry['type']> = Extract<OutboxEntry, { type: T }>;

const NO_INCIDENT = 'incidentId: no such incident, or its customer is not visible to you';

async function visibleCustomer(tx: WriteTx, tenantId: string, customerId: string) {
  return tx.trx
    .selectFrom('customers')
    .select(['id', 'classification', 'branch'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', customerId)
    .executeTakeFirst()
    .then((row) => (row ? { id: row.id, classification: row.classification as 1 | 2 | 3, branch: row.branch } : null));
}

async function loadUser(tx: WriteTx, tenantId: string, userId: string): Promise<User | null> {
  const row = await tx.trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
  return row && row.disabled === 0 ? toUser(row) : null;
}

/** The incident with its customer, if the user may work on it. */
async function editableIncident(tx: WriteTx, auth: AuthContext, incidentId: string) {
  const incident = await tx.trx
    .selectFrom('incidents')
    .selectAll()
    .where('tenant_id', '=', auth.tenant.id)
    .where('id', '=', incidentId)
    .executeTakeFirst();
  if (!incident) return null;
  const customer = await visibleCustomer(tx, auth.tenant.id, incident.customer_id);
  if (!customer || !mayEditIncidents(auth.user, customer)) return null;
  return { incident, customer };
}

export async function applyCreateIncident(tx: WriteTx, auth: AuthContext, entry: Entry<'create_incident'>): Promise<Outcome> {
  const { user, tenant } = auth;
  const customer = await visibleCustomer(tx, tenant.id, entry.customerId);
  if (!customer || !mayEditIncidents(user, customer)) {
    return { applied: false, error: 'customerId: no such customer, or it is not visible to you' };
  }
  if (entry.assigneeId !== null) {
    const assignee = await loadUser(tx, tenant.id, entry.assigneeId);
    if (!assignee) return { applied: false, error: 'assigneeId: no such user' };
    if (!mayAssignIncident(user, { assigneeId: null }, assignee, customer)) {
      return { applied: false, error: 'assigneeId: you may not assign this incident to that user' };
    }
  }
  const taken = await tx.trx.selectFrom('incidents').select('id').where('id', '=', entry.clientId).executeTakeFirst();
  if (taken) return { applied: false, error: 'clientId: already names an incident' };
  // Like a wrap-up's new incident, it takes the clientId as its id: the app shows it at once under that id.
  await insertIncident(
    tx,
    tenant.id,
    { customerId: customer.id, title: entry.title, status: 'open', assigneeId: entry.assigneeId, openedAt: entry.createdAt },
    entry.clientId,
  );
  await recordAudit(tx.trx, {
    tenantId: tenant.id,
    userId: user.id,
    action: 'incident_created',
    customerId: customer.id,
    details: { incidentId: entry.clientId, title: entry.title, assigneeId: entry.assigneeId },
  });
  return { applied: true };
}

export async function applyUpdateIncident(tx: WriteTx, auth: AuthContext, entry: Entry<'update_incident'>): Promise<Outcome> {
  const { user, tenant } = auth;
  const found = await editableIncident(tx, auth, entry.incidentId);
  if (!found) return { applied: false, error: NO_INCIDENT };
  const { incident, customer } = found;
  if (entry.assigneeId !== undefined && entry.assigneeId !== incident.assignee_id) {
    const assignee = entry.assigneeId === null ? null : await loadUser(tx, tenant.id, entry.assigneeId);
    if (entry.assigneeId !== null && !assignee) return { applied: false, error: 'assigneeId: no such user' };
    if (!mayAssignIncident(user, { assigneeId: incident.assignee_id }, assignee, customer)) {
      return { applied: false, error: 'assigneeId: you may not assign this incident to that user' };
    }
  }
  const now = new Date().toISOString();
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  const set: { title?: string; status?: 'open' | 'closed'; closed_at?: string | null; assignee_id?: string | null } = {};
  if (entry.title !== undefined && entry.title !== incident.title) {
    set.title = entry.title;
    changed.title = { from: incident.title, to: entry.title };
  }
  if (entry.status !== undefined && entry.status !== incident.status) {
    set.status = entry.status;
    set.closed_at = entry.status === 'closed' ? now : null;
    changed.status = { from: incident.status, to: entry.status };
  }
  if (entry.assigneeId !== undefined && entry.assigneeId !== incident.assignee_id) {
    set.assignee_id = entry.assigneeId;
    changed.assigneeId = { from: incident.assignee_id, to: entry.assigneeId };
  }
  // Nothing to change (a retry of what another operator already did): applied, nothing logged.
  if (Object.keys(set).length === 0) return { applied: true };
  await tx.trx
    .updateTable('incidents')
    .set({ ...set, updated_at: now })
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', incident.id)
    .execute();
  await tx.recordChange({ tenantId: tenant.id, entity: 'incident', entityId: incident.id, customerId: customer.id, op: 'upsert' });
  await recordAudit(tx.trx, {
    tenantId: tenant.id,
    userId: user.id,
    action: 'incident_updated',
    customerId: customer.id,
    details: { incidentId: incident.id, changed },
  });
  return { applied: true };
}

/**
 * A contact into another incident of the same customer. A mail's contact takes its mail with
 * it, and the replies not yet sent, so that the next reply carries the new incident's token.
 */
export async function applyMoveContact(tx: WriteTx, auth: AuthContext, entry: Entry<'move_contact'>): Promise<Outcome> {
  const { user, tenant } = auth;
  const contact = await tx.trx
    .selectFrom('contacts')
    .select(['id', 'incident_id', 'customer_id', 'kind'])
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', entry.contactId)
    .executeTakeFirst();
  const source = contact ? await editableIncident(tx, auth, contact.incident_id) : null;
  if (!contact || !source) return { applied: false, error: 'contactId: no such contact, or its customer is not visible to you' };
  const target = await editableIncident(tx, auth, entry.incidentId);
  if (!target) return { applied: false, error: NO_INCIDENT };
  if (target.incident.customer_id !== contact.customer_id) {
    return { applied: false, error: 'incidentId: a contact moves only between incidents of its own customer' };
  }
  if (target.incident.id === contact.incident_id) return { applied: true };
  const now = new Date().toISOString();
  await tx.trx.updateTable('contacts').set({ incident_id: target.incident.id }).where('id', '=', contact.id).execute();
  const mail = mailTrx(tx.trx);
  const message = await mail
    .updateTable('mail_messages')
    .set({ incident_id: target.incident.id })
    .where('tenant_id', '=', tenant.id)
    .where('contact_id', '=', contact.id)
    .returning('id')
    .executeTakeFirst();
  if (message) {
    await mail
      .updateTable('mail_replies')
      .set({ incident_id: target.incident.id, updated_at: now })
      .where('tenant_id', '=', tenant.id)
      .where('mail_id', '=', message.id)
      .where('state', '!=', 'sent')
      .execute();
  }
  for (const incidentId of [contact.incident_id, target.incident.id]) {
    await tx.trx.updateTable('incidents').set({ updated_at: now }).where('id', '=', incidentId).execute();
    await tx.recordChange({ tenantId: tenant.id, entity: 'incident', entityId: incidentId, customerId: contact.customer_id, op: 'upsert' });
  }
  await tx.recordChange({ tenantId: tenant.id, entity: 'contact', entityId: contact.id, customerId: contact.customer_id, op: 'upsert' });
  await recordAudit(tx.trx, {
    tenantId: tenant.id,
    userId: user.id,
    action: 'contact_moved',
    customerId: contact.customer_id,
    details: { contactId: contact.id, fromIncidentId: contact.incident_id, toIncidentId: target.incident.id, mailId: message?.id ?? null },
  });
  return { applied: true };
}

/** Marks a callback done by hand; anyone who may see its customer may (a colleague may have called back). */
export async function applyCompleteCallback(tx: WriteTx, auth: AuthContext, entry: Entry<'complete_callback'>): Promise<Outcome> {
  const { user, tenant } = auth;
  const trx = callsTrx(tx.trx);
  const callback = await trx
    .selectFrom('callbacks')
    .select(['id', 'customer_id', 'done_at'])
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', entry.callbackId)
    .executeTakeFirst();
  const customer = callback ? await visibleCustomer(tx, tenant.id, callback.customer_id) : null;
  if (!callback || !customer || !mayEditIncidents(user, customer)) {
    return { applied: false, error: 'callbackId: no such callback, or its customer is not visible to you' };
  }
  if (callback.done_at !== null) return { applied: true };
  await trx
    .updateTable('callbacks')
    .set({ done_at: entry.createdAt, done_by: user.id, done_reason: 'marked' })
    .where('id', '=', callback.id)
    .execute();
  await recordAudit(tx.trx, {
    tenantId: tenant.id,
    userId: user.id,
    action: 'callback_done',
    customerId: callback.customer_id,
    details: { callbackId: callback.id, reason: 'marked' },
  });
  return { applied: true };
}
