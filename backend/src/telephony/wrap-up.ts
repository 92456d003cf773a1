import type { OutboxEntry } from '../../../shared/api.js';
import type { AuthContext } from '../auth/sessions.js';
import { callbacksForLoggedCall } from '../calls/callbacks.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { insertContact, insertIncident } from '../customers/writes.js';
import type { WriteTx } from '../sync/changelog.js';

export type LogCallEntry = Extract<OutboxEntry, { type: 'log_call' }>;

export type LogCallOutcome = { applied: true; customerId: string; incidentId: string } | { applied: false; error: string };

const NOT_VISIBLE = 'customerId: no such customer, or it is not visible to you';

/**
 * A call's wrap-up from the outbox: a contact of kind `call` in the chosen incident, or in a
 * new incident for the customer.
 *
 * Important: a new incident takes the entry's clientId as its id. The app shows the incident
 * at once under that id (pending), so the feed's copy replaces it instead of doubling it, the
 * same way a pending note takes the server's contact id. The clientId is a UUID claimed in
 * push_receipts within this transaction, so it names nothing else.
 */
export async function applyLogCall(tx: WriteTx, auth: AuthContext, entry: LogCallEntry, contactId: string): Promise<LogCallOutcome> {
  const { user, tenant } = auth;
  if ((entry.incidentId === null) === (entry.newIncidentTitle === null)) {
    return { applied: false, error: 'incidentId, newIncidentTitle: give exactly one of them' };
  }
  const customer = await tx.trx
    .selectFrom('customers as c')
    .select('c.id')
    .where('c.tenant_id', '=', tenant.id)
    .where('c.id', '=', entry.customerId)
    .where(visibleCustomerSql(user, 'c'))
    .executeTakeFirst();
  if (!customer) return { applied: false, error: NOT_VISIBLE };

  let incidentId: string;
  if (entry.incidentId !== null) {
    const incident = await tx.trx
      .selectFrom('incidents')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .where('id', '=', entry.incidentId)
      .where('customer_id', '=', customer.id)
      .executeTakeFirst();
    if (!incident) return { applied: false, error: 'incidentId: no such incident of this customer' };
    incidentId = incident.id;
  } else {
    const taken = await tx.trx.selectFrom('incidents').select('id').where('id', '=', entry.clientId).executeTakeFirst();
    if (taken) return { applied: false, error: 'clientId: already names an incident' };
    incidentId = await insertIncident(
      tx,
      tenant.id,
      { customerId: customer.id, title: entry.newIncidentTitle ?? '', status: 'open', assigneeId: user.id, openedAt: entry.createdAt },
      entry.clientId,
    );
  }

  const meta = entry.callMeta;
  await insertContact(
    tx,
    tenant.id,
    {
      incidentId,
      customerId: customer.id,
      kind: 'call',
      direction: entry.direction,
      occurredAt: meta.startedAt ?? entry.createdAt,
      agentId: user.id,
      summary: entry.summary,
      body: entry.body,
      callMeta: { ...meta, durationSeconds: meta.durationSeconds ?? durationOf(meta.answeredAt ?? null, meta.endedAt) },
    },
    contactId,
  );
  await callbacksForLoggedCall(tx, {
    tenantId: tenant.id,
    userId: user.id,
    customerId: customer.id,
    contactId,
    clientId: entry.clientId,
    direction: entry.direction,
    callMeta: meta,
    loggedAt: entry.createdAt,
  });
  return { applied: true, customerId: customer.id, incidentId };
}

function durationOf(answeredAt: string | null, endedAt: string | undefined): number {
  if (answeredAt === null || endedAt === undefined) return 0;
  return Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(answeredAt)) / 1000));
}
