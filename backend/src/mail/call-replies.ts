import type { Kysely } from 'kysely';
import type { ReviewCall } from '../../../shared/api.js';
import { CALLS_FOR_YOU_INCIDENT_TITLE } from '../../../shared/calls-for-you.js';
import type { Classification } from '../../../shared/domain.js';
import { mayHandleCallsForYou, maySeeCallFrom, maySeeCustomer } from '../../../shared/permissions.js';
import { recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { recordBranchCallChange } from '../branch-calls/load.js';
import { branchCallsDb, branchCallsTrx } from '../branch-calls/schema.js';
import { callbackTemplate, callbackValues, renderCallbackText } from '../branch-calls/template.js';
import { insertIncident } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import type { WriteTx } from '../sync/changelog.js';
import { mailTrx } from './schema.js';
import { latestOpenIncident } from './threading.js';

/**
 * Mails to callers of "calls for you": a rep answers a call by e-mail. The message is a reply
 * row whose origin is the call (mail_replies.call_key) instead of an inbound mail, so it goes
 * through the same review queue and sender; sending it marks the call handled.
 */

export interface CallOrigin {
  customerId: string;
  incidentId: string;
  /** The customer's first known address: a mail to a caller goes only to one of theirs. */
  toAddress: string;
  knownAddresses: string[];
  fromAddress: string;
  subject: string;
  body: string;
}

function legsOf(db: Kysely<Database>, tenantId: string, callKey: string) {
  return branchCallsDb(db)
    .selectFrom('calls')
    .select(['id', 'agent_id', 'customer_id', 'from_number', 'started_at', 'answered_at', 'status', 'call_log_contact_id'])
    .where('tenant_id', '=', tenantId)
    .where('direction', '=', 'inbound')
    .where((eb) => eb.or([eb('external_id', '=', callKey), eb.and([eb('external_id', 'is', null), eb('id', '=', callKey)])]))
    .orderBy('started_at')
    .execute();
}

/**
 * Everything a new mail to this call's customer starts from. Not found (never forbidden) for a
 * call the user may not see or whose customer they may not see, as for any other record.
 */
export async function callOrigin(tx: WriteTx, auth: AuthContext, callKey: string, timeZone: string): Promise<CallOrigin> {
  const { user, tenant } = auth;
  if (!mayHandleCallsForYou(user)) throw new HttpError('forbidden', 'you may view calls for you but not answer them');
  const notFound = `body.callKey: no call ${callKey}`;
  const legs = await legsOf(tx.trx, tenant.id, callKey);
  const first = legs[0];
  const customerId = legs.find((leg) => leg.customer_id !== null)?.customer_id ?? null;
  if (!first) throw new HttpError('not_found', notFound);
  if (customerId === null) throw new HttpError('invalid_input', 'body.callKey: the caller is not a registered customer; register them first');
  const customer = await tx.trx
    .selectFrom('customers')
    .select(['id', 'name', 'branch', 'classification'])
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', customerId)
    .executeTakeFirst();
  const rights = customer ? { classification: customer.classification as Classification, branch: customer.branch } : null;
  if (!customer || !rights || !maySeeCallFrom(user, rights) || !maySeeCustomer(user, rights)) throw new HttpError('not_found', notFound);

  const emails = await tx.trx
    .selectFrom('customer_emails')
    .select('email')
    .where('tenant_id', '=', tenant.id)
    .where('customer_id', '=', customer.id)
    .orderBy('position')
    .execute();
  const toAddress = emails[0]?.email;
  if (!toAddress) throw new HttpError('invalid_input', 'body.callKey: the customer has no e-mail address');
  const from = await mailTrx(tx.trx)
    .selectFrom('mail_addresses')
    .select('address')
    .where('tenant_id', '=', tenant.id)
    .where('kind', '=', 'support')
    .orderBy('created_at')
    .orderBy('address')
    .executeTakeFirst();
  if (!from) throw new HttpError('conflict', 'the tenant has no support mail address to send from; an admin adds one');

  const incidentId = await incidentFor(tx, tenant.id, customer.id, legs.flatMap((leg) => (leg.call_log_contact_id ? [leg.call_log_contact_id] : [])));
  const template = await callbackTemplate(tx.trx, tenant.id);
  const values = callbackValues(
    user,
    tenant.name,
    { customerName: customer.name, customerBranch: customer.branch, fromNumber: first.from_number, startedAt: first.started_at },
    timeZone,
  );
  return {
    customerId: customer.id,
    incidentId,
    toAddress,
    knownAddresses: emails.map((e) => e.email.toLowerCase()),
    fromAddress: from.address,
    subject: renderCallbackText(template.subject, values).trim() || renderCallbackText('{{customerName}}', values),
    body: renderCallbackText(template.body, values),
  };
}

/** The call's own incident (its call log), else the customer's most recent open one, else a new one. */
async function incidentFor(tx: WriteTx, tenantId: string, customerId: string, callLogContactIds: string[]): Promise<string> {
  if (callLogContactIds.length > 0) {
    const logged = await tx.trx
      .selectFrom('contacts')
      .select('incident_id')
      .where('tenant_id', '=', tenantId)
      .where('customer_id', '=', customerId)
      .where('id', 'in', callLogContactIds)
      .executeTakeFirst();
    if (logged) return logged.incident_id;
  }
  return (
    (await latestOpenIncident(mailTrx(tx.trx), tenantId, customerId)) ??
    insertIncident(tx, tenantId, { customerId, title: CALLS_FOR_YOU_INCIDENT_TITLE, status: 'open', assigneeId: null })
  );
}

/**
 * The sent mail answers the call: the call is handled (as a contact, the mail's), once; a call
 * handled meanwhile by other means stays as it was.
 */
export async function markCallAnswered(
  tx: WriteTx,
  reply: { id: string; tenant_id: string; call_key: string; customer_id: string; author_id: string },
  contactId: string,
  now: string,
): Promise<void> {
  const claimed = await branchCallsTrx(tx.trx)
    .insertInto('call_handling')
    .values({
      tenant_id: reply.tenant_id,
      call_key: reply.call_key,
      customer_id: reply.customer_id,
      kind: 'contact',
      contact_id: contactId,
      client_id: reply.id,
      handled_by: reply.author_id,
      handled_at: now,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'call_key']).doNothing())
    .executeTakeFirst();
  if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) return;
  await recordAudit(tx.trx, {
    tenantId: reply.tenant_id,
    userId: reply.author_id,
    action: 'call_handled',
    customerId: reply.customer_id,
    details: { callKey: reply.call_key, kind: 'email', contactId, replyId: reply.id },
  });
  await recordBranchCallChange(tx, { tenantId: reply.tenant_id, key: reply.call_key, customerId: reply.customer_id });
}

/** The calls that mails in the review queue answer, as the reviewer is shown them. */
export async function loadReviewCalls(handle: DatabaseHandle, tenantId: string, keys: readonly string[]): Promise<Map<string, ReviewCall>> {
  const result = new Map<string, ReviewCall>();
  for (const key of new Set(keys)) {
    const legs = await legsOf(handle.db, tenantId, key);
    const first = legs[0];
    if (!first) continue;
    const agentIds = [...new Set(legs.flatMap((leg) => (leg.agent_id ? [leg.agent_id] : [])))];
    const names = new Map<string, string>();
    if (agentIds.length > 0) {
      const rows = await handle.db.selectFrom('users').select(['id', 'display_name']).where('tenant_id', '=', tenantId).where('id', 'in', agentIds).execute();
      for (const row of rows) names.set(row.id, row.display_name);
    }
    const answered = legs.find((leg) => leg.answered_at !== null);
    result.set(key, {
      key,
      startedAt: new Date(first.started_at).toISOString(),
      remote: first.from_number,
      outcome: answered ? 'answered' : legs.some((leg) => leg.status === 'ringing') ? 'ringing' : 'missed',
      answeredBy: answered?.agent_id ? (names.get(answered.agent_id) ?? null) : null,
      receivedBy: agentIds.map((id) => names.get(id) ?? ''),
    });
  }
  return result;
}
