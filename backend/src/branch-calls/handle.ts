import { randomUUID } from 'node:crypto';
import type { OutboxEntry } from '../../../shared/api.js';
import { CALLS_FOR_YOU_INCIDENT_TITLE, type CallHandlingAction } from '../../../shared/calls-for-you.js';
import type { Classification, ContactKind, Direction } from '../../../shared/domain.js';
import { mayCreateCustomer, mayHandleCallsForYou, maySeeCallFrom, maySeeCustomer } from '../../../shared/permissions.js';
import { assertNever } from '../../../shared/result.js';
import { recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { insertContact, openIncidentTitled } from '../customers/writes.js';
import type { Outcome } from '../incidents/manage.js';
import type { WriteTx } from '../sync/changelog.js';
import { repRequestIdOfKey } from '../../../shared/rep-requests.js';
import { repRequestTrx } from '../rep-requests/schema.js';
import { recordBranchCallChange } from './load.js';
import { branchCallsTrx } from './schema.js';

type HandleCallEntry = Extract<OutboxEntry, { type: 'handle_call' }>;

interface ContactShape {
  kind: ContactKind;
  direction: Direction;
  summary: string;
  body: string;
}

function contactOf(action: CallHandlingAction, seminar: { title: string; startsAt: string; place: string } | null): ContactShape {
  switch (action.kind) {
    case 'contact':
      return { kind: 'note', direction: 'internal', summary: action.summary, body: action.body };
    case 'visit':
      return {
        kind: 'visit',
        direction: 'outbound',
        summary: `訪問予定 ${action.date} ${action.time} ${action.place}`.slice(0, 500),
        body: action.note,
      };
    case 'seminar':
      return {
        kind: 'seminar',
        direction: 'outbound',
        summary: `セミナー予約 ${seminar?.title ?? ''}（${action.seats}席）`.slice(0, 500),
        body: seminar ? `${seminar.startsAt} ${seminar.place}` : '',
      };
    default:
      return assertNever(action, 'call handling');
  }
}

/**
 * A call of "calls for you" marked handled (outbox entry `handle_call`, applied once per client
 * id by sync/push.ts): the contact (a note, a visit or a seminar booking) in the customer's
 * incident tree, the handling row that makes the call handled once, and the audit event.
 * The server enforces what the app hides: the view-only right, the customer's visibility, and
 * for an unregistered caller the right to handle such callers.
 */
export async function applyHandleCall(tx: WriteTx, auth: AuthContext, entry: HandleCallEntry, contactId: string): Promise<Outcome> {
  const { user, tenant } = auth;
  if (!mayHandleCallsForYou(user)) return { applied: false, error: 'forbidden: you may view calls for you but not mark them handled' };
  const trx = branchCallsTrx(tx.trx);
  const requestId = repRequestIdOfKey(entry.callKey);
  // A portal request ("contact my rep") is handled like a call: its customer is the request's.
  const legs =
    requestId !== null
      ? await repRequestTrx(tx.trx).selectFrom('rep_requests').select(['customer_id']).where('tenant_id', '=', tenant.id).where('id', '=', requestId).execute()
      : await trx
          .selectFrom('calls')
          .select(['customer_id'])
          .where('tenant_id', '=', tenant.id)
          .where('direction', '=', 'inbound')
          .where((eb) => eb.or([eb('external_id', '=', entry.callKey), eb.and([eb('external_id', 'is', null), eb('id', '=', entry.callKey)])]))
          .execute();
  if (legs.length === 0) return { applied: false, error: requestId !== null ? 'callKey: no such request' : 'callKey: no such call' };
  const callCustomerId = legs.find((leg) => leg.customer_id !== null)?.customer_id ?? null;
  if (callCustomerId !== null && callCustomerId !== entry.customerId) {
    return { applied: false, error: "customerId: not this call's customer" };
  }
  const customerRow = await trx
    .selectFrom('customers')
    .select(['id', 'classification', 'branch'])
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', entry.customerId)
    .executeTakeFirst();
  const customer = customerRow ? { classification: customerRow.classification as Classification, branch: customerRow.branch } : null;
  const visible =
    customer !== null && (callCustomerId === null ? mayCreateCustomer(user) && maySeeCustomer(user, customer) : maySeeCallFrom(user, customer));
  if (!visible) return { applied: false, error: 'customerId: no such customer, or not visible to you' };

  let incidentId = entry.incidentId;
  if (incidentId !== null) {
    const incident = await trx
      .selectFrom('incidents')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .where('id', '=', incidentId)
      .where('customer_id', '=', entry.customerId)
      .executeTakeFirst();
    if (!incident) return { applied: false, error: "incidentId: not an incident of this call's customer" };
  }

  const handledAt = new Date().toISOString();
  const claimed = await trx
    .insertInto('call_handling')
    .values({
      tenant_id: tenant.id,
      call_key: entry.callKey,
      customer_id: entry.customerId,
      kind: entry.action.kind,
      contact_id: contactId,
      client_id: entry.clientId,
      handled_by: user.id,
      handled_at: handledAt,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'call_key']).doNothing())
    .executeTakeFirst();
  if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) {
    const by = await trx
      .selectFrom('call_handling as h')
      .innerJoin('users as u', 'u.id', 'h.handled_by')
      .select(['u.display_name', 'h.handled_at'])
      .where('h.tenant_id', '=', tenant.id)
      .where('h.call_key', '=', entry.callKey)
      .executeTakeFirstOrThrow();
    return { applied: false, error: `callKey: already handled by ${by.display_name} at ${by.handled_at}` };
  }

  let seminar: { id: string; title: string; startsAt: string; place: string } | null = null;
  if (entry.action.kind === 'seminar') {
    const { seminarId, seats } = entry.action;
    // One conditional UPDATE: two bookings racing for the last seats cannot both pass.
    const taken = await trx
      .updateTable('seminars')
      .set((eb) => ({ seats_taken: eb('seats_taken', '+', seats) }))
      .where('tenant_id', '=', tenant.id)
      .where('id', '=', seminarId)
      .where((eb) => eb(eb('seats_taken', '+', seats), '<=', eb.ref('capacity')))
      .returning(['id', 'title', 'starts_at', 'place'])
      .executeTakeFirst();
    if (!taken) {
      const row = await trx.selectFrom('seminars').select(['capacity', 'seats_taken']).where('tenant_id', '=', tenant.id).where('id', '=', seminarId).executeTakeFirst();
      // push.ts commits the rejection with this transaction: the call must stay unhandled.
      await trx.deleteFrom('call_handling').where('tenant_id', '=', tenant.id).where('call_key', '=', entry.callKey).execute();
      return { applied: false, error: row ? `action.seats: only ${row.capacity - row.seats_taken} seats left` : 'action.seminarId: no such seminar' };
    }
    seminar = { id: taken.id, title: taken.title, startsAt: taken.starts_at, place: taken.place };
  }

  incidentId ??= await openIncidentTitled(tx, tenant.id, entry.customerId, CALLS_FOR_YOU_INCIDENT_TITLE);
  const shape = contactOf(entry.action, seminar);
  await insertContact(
    tx,
    tenant.id,
    { incidentId, customerId: entry.customerId, kind: shape.kind, direction: shape.direction, occurredAt: entry.createdAt, agentId: user.id, summary: shape.summary, body: shape.body, callMeta: null },
    contactId,
  );
  if (seminar && entry.action.kind === 'seminar') {
    await trx
      .insertInto('seminar_bookings')
      .values({
        id: randomUUID(),
        tenant_id: tenant.id,
        seminar_id: seminar.id,
        customer_id: entry.customerId,
        seats: entry.action.seats,
        contact_id: contactId,
        booked_by: user.id,
        booked_at: handledAt,
      })
      .execute();
  }
  await recordAudit(tx.trx, {
    tenantId: tenant.id,
    userId: user.id,
    action: 'call_handled',
    customerId: entry.customerId,
    details: {
      callKey: entry.callKey,
      kind: entry.action.kind,
      contactId,
      incidentId,
      clientId: entry.clientId,
      ...(entry.action.kind === 'seminar' ? { seminarId: entry.action.seminarId, seats: entry.action.seats } : {}),
      ...(callCustomerId === null ? { unregisteredCaller: true } : {}),
    },
  });
  await recordBranchCallChange(tx, { tenantId: tenant.id, key: entry.callKey, customerId: callCustomerId });
  return { applied: true };
}

