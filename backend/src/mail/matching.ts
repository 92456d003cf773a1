import type { MailMatchRequest, MailView } from '../../../shared/api.js';
import { recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import type { DatabaseHandle } from '../db/database.js';
import { HttpError } from '../http/errors.js';
import { writeTransaction } from '../sync/changelog.js';
import type { MailNotifier } from './notify.js';
import { mailDb, mailTrx } from './schema.js';
import { assertMaySeeCustomer, loadMailView, loadMailViews } from './views.js';

const NEEDS_MATCHING_LIMIT = 100;

/** Mails waiting to be matched that the user may see (filed with their sender meanwhile), oldest first. */
export async function mailsNeedingMatch(handle: DatabaseHandle, auth: AuthContext): Promise<MailView[]> {
  const db = mailDb(handle.db);
  const tenantId = auth.tenant.id;
  const rows = await db
    .selectFrom('mail_messages as m')
    .innerJoin('customers as c', 'c.id', 'm.customer_id')
    .select('m.id')
    .where('m.tenant_id', '=', tenantId)
    .where('m.match_state', '=', 'needs_matching')
    .where('m.queue_state', '=', 'waiting')
    .where(visibleCustomerSql(auth.user, 'c'))
    .orderBy('m.received_at')
    .orderBy('m.id')
    .limit(NEEDS_MATCHING_LIMIT)
    .execute();
  const views = await loadMailViews(db, tenantId, rows.map((row) => row.id), auth.user);
  return rows.flatMap((row) => views.get(row.id) ?? []);
}

/** How many mails of the tenant wait to be matched: the mail desk's list refreshes when it moves. */
export async function needsMatchingCount(handle: DatabaseHandle, tenantId: string): Promise<number> {
  const row = await mailDb(handle.db)
    .selectFrom('mail_messages')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('tenant_id', '=', tenantId)
    .where('match_state', '=', 'needs_matching')
    .where('queue_state', '=', 'waiting')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * An operator decides where a mail that pointed at an incident without proof belongs: with its
 * sender, where it is filed already, or in the incident it pointed at. Moving it moves its
 * contact through the change log (gone from the sender's record, added to the incident's), closes
 * the placeholder incident it leaves empty, and reopens the target. Either way it joins the queue.
 */
export async function matchMail(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  auth: AuthContext,
  mailId: string,
  request: MailMatchRequest,
): Promise<MailView> {
  const db = mailDb(handle.db);
  const tenantId = auth.tenant.id;
  await writeTransaction(handle, async (tx) => {
    const trx = mailTrx(tx.trx);
    const mail = await trx
      .selectFrom('mail_messages')
      .select(['id', 'customer_id', 'incident_id', 'contact_id', 'match_state', 'match_problem', 'claimed_incident_id'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', mailId)
      .executeTakeFirst();
    if (!mail) throw new HttpError('not_found', `no mail ${mailId}`);
    await assertMaySeeCustomer(trx, auth.user, tenantId, mail.customer_id, `no mail ${mailId}`);
    if (mail.match_state !== 'needs_matching') throw new HttpError('conflict', `mail ${mailId} is matched already`);
    const now = new Date().toISOString();

    if (request.target === 'sender') {
      await trx
        .updateTable('mail_messages')
        .set({ match_state: 'matched', matched_by: auth.user.id, matched_at: now })
        .where('id', '=', mail.id)
        .where('match_state', '=', 'needs_matching')
        .execute();
      await recordAudit(tx.trx, {
        tenantId,
        userId: auth.user.id,
        action: 'mail_matched',
        customerId: mail.customer_id,
        details: { mailId, target: 'sender', problem: mail.match_problem, incidentId: mail.incident_id },
      });
      return;
    }

    if (!mail.claimed_incident_id) throw new HttpError('invalid_input', 'body.target: the mail points at no incident; keep it with its sender');
    const target = await trx
      .selectFrom('incidents')
      .select(['id', 'customer_id', 'status'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', mail.claimed_incident_id)
      .executeTakeFirstOrThrow();
    // The same answer as for a mail that does not exist: whether that customer exists is confidential.
    await assertMaySeeCustomer(trx, auth.user, tenantId, target.customer_id, `body.target: the incident the mail points at is not one you may see`);
    const replies = await trx.selectFrom('mail_replies').select('id').where('mail_id', '=', mail.id).executeTakeFirst();
    if (replies) throw new HttpError('conflict', `mail ${mailId} has a reply already; it stays where it was answered`);

    await trx
      .updateTable('contacts')
      .set({ incident_id: target.id, customer_id: target.customer_id })
      .where('id', '=', mail.contact_id)
      .execute();
    if (target.customer_id !== mail.customer_id) {
      await tx.recordChange({ tenantId, entity: 'contact', entityId: mail.contact_id, customerId: mail.customer_id, op: 'delete' });
    }
    await tx.recordChange({ tenantId, entity: 'contact', entityId: mail.contact_id, customerId: target.customer_id, op: 'upsert' });

    const left = await trx.selectFrom('contacts').select('id').where('incident_id', '=', mail.incident_id).executeTakeFirst();
    if (!left) {
      await trx.updateTable('incidents').set({ status: 'closed', closed_at: now, updated_at: now }).where('id', '=', mail.incident_id).execute();
      await tx.recordChange({ tenantId, entity: 'incident', entityId: mail.incident_id, customerId: mail.customer_id, op: 'upsert' });
    }
    if (target.status === 'closed') {
      await trx.updateTable('incidents').set({ status: 'open', closed_at: null, updated_at: now }).where('id', '=', target.id).execute();
      await tx.recordChange({ tenantId, entity: 'incident', entityId: target.id, customerId: target.customer_id, op: 'upsert' });
    }

    await trx
      .updateTable('mail_messages')
      .set({
        customer_id: target.customer_id,
        incident_id: target.id,
        match_state: 'matched',
        matched_by: auth.user.id,
        matched_at: now,
      })
      .where('id', '=', mail.id)
      .where('match_state', '=', 'needs_matching')
      .execute();
    await recordAudit(tx.trx, {
      tenantId,
      userId: auth.user.id,
      action: 'mail_matched',
      customerId: target.customer_id,
      details: { mailId, target: 'claimed', problem: mail.match_problem, fromIncidentId: mail.incident_id, incidentId: target.id, fromCustomerId: mail.customer_id },
    });
  });
  await notifier.publish(tenantId);
  return loadMailView(db, tenantId, mailId, auth.user);
}
