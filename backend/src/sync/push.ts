import { randomUUID } from 'node:crypto';
import { sql, type Expression } from 'kysely';
import type { OutboxEntry, PushResponse } from '../../../shared/api.js';
import { assertNever } from '../../../shared/result.js';
import { auditRow, recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { applyHandleCall } from '../branch-calls/handle.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { contactRow, insertContact, summariseNote } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { applyCompleteCallback, applyCreateIncident, applyMoveContact, applyUpdateIncident, type Outcome } from '../incidents/manage.js';
import { applyLogCall } from '../telephony/wrap-up.js';
import { changeLogRow, pendingSeq, sequenceCommitted, writeTransaction, type WriteTx } from './changelog.js';

type PushResult = PushResponse['results'][number];
type NoteEntry = Extract<OutboxEntry, { type: 'add_note' }>;

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

/**
 * `insert into <table> (<the row's columns>) select <the row's values> from <from>`: a row whose
 * values may name columns of a preceding WITH query. Numbers are cast: PostgreSQL would read an
 * untyped parameter in a select list as text, which no integer column takes.
 */
function insertRowFrom(table: string, row: Record<string, unknown>, from: string) {
  const columns = Object.keys(row);
  const values = Object.values(row).map((value) => (typeof value === 'number' ? sql`cast(${value} as bigint)` : value));
  return sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.ref(column)))}) select ${sql.join(values)} from ${sql.table(from)}`;
}

/**
 * PostgreSQL: a new note in one statement, committed on its own, instead of a transaction of six
 * round trips (bench:agents: a note is almost every request of a thousand agents). It claims the
 * receipt, checks the incident's visibility and writes the contact, its audit event and its
 * change-log entry exactly as applyEntry does, as data-modifying WITH queries of one statement:
 * all of it commits or none. The receipt says `rejected` when the incident is not visible, and
 * nothing is written when the client id is already claimed: null then, and applyEntry answers
 * from the receipt (`duplicate`, or the earlier rejection).
 */
async function addNoteInOneStatement(handle: Extract<DatabaseHandle, { dialect: 'postgres' }>, auth: AuthContext, entry: NoteEntry): Promise<PushResult | null> {
  const { user, tenant } = auth;
  const contactId = randomUUID();
  const at = new Date().toISOString();
  const column = (name: string): Expression<string> => sql.ref(name);
  const found = column('target.found');
  const contact = {
    ...contactRow(
      tenant.id,
      { incidentId: entry.incidentId, customerId: '', kind: 'note', direction: 'internal', occurredAt: entry.createdAt, agentId: user.id, summary: summariseNote(entry.body), body: entry.body, callMeta: null },
      contactId,
    ),
    incident_id: column('incident.id'),
    customer_id: column('incident.customer_id'),
  };
  const audit = {
    ...auditRow({ tenantId: tenant.id, userId: user.id, action: 'note_added', details: { incidentId: entry.incidentId, contactId, clientId: entry.clientId } }),
    customer_id: column('contact.customer_id'),
  };
  const change = {
    ...changeLogRow(tenant.id, 0, { tenantId: tenant.id, entity: 'contact', entityId: contactId, customerId: null, op: 'upsert' }, at),
    seq: pendingSeq(),
    customer_id: column('contact.customer_id'),
  };
  // Prepared: its text varies only with the visibility rule's form (visibleCustomerSql).
  const rows = await handle.prepared(sql<{ status: 'applied' | 'rejected'; placeholder: string | null }>`
    with incident as (
      select i.id, i.customer_id from incidents as i inner join customers as c on c.id = i.customer_id
      where i.tenant_id = ${tenant.id} and i.id = ${entry.incidentId} and ${visibleCustomerSql(user, 'c')}
    ), target as (
      select exists (select 1 from incident) as found
    ), claimed as (
      insert into push_receipts (tenant_id, client_id, user_id, contact_id, status, error, at)
      select ${tenant.id}, ${entry.clientId}, ${user.id}, case when ${found} then ${contactId} end,
        case when ${found} then 'applied' else 'rejected' end, case when ${found} then null else ${NOT_VISIBLE} end, ${at}
      from target
      on conflict (tenant_id, client_id) do nothing
      returning status
    ), contact as (
      ${insertRowFrom('contacts', contact, 'incident')} where exists (select 1 from claimed)
      returning customer_id
    ), audit as (
      ${insertRowFrom('audit_events', audit, 'contact')}
    ), logged as (
      ${insertRowFrom('change_log', change, 'contact')}
      returning seq
    )
    select status, (select seq from logged) as placeholder from claimed`.compile(handle.db));
  const claimed = rows[0];
  if (claimed === undefined) return null;
  if (claimed.status === 'rejected') return { clientId: entry.clientId, status: 'rejected', contactId: null, error: NOT_VISIBLE };
  await sequenceCommitted(handle, tenant.id, claimed.placeholder === null ? null : [Number(claimed.placeholder)]);
  return { clientId: entry.clientId, status: 'applied', contactId, error: null };
}

/** Entries apply one by one, each in its own transaction: one rejected note does not hold back the rest. */
export async function applyPush(handle: DatabaseHandle, auth: AuthContext, entries: OutboxEntry[]): Promise<PushResult[]> {
  const results: PushResult[] = [];
  for (const entry of entries) {
    const fast = handle.dialect === 'postgres' && entry.type === 'add_note' ? await addNoteInOneStatement(handle, auth, entry) : null;
    results.push(fast ?? (await applyEntry(handle, auth, entry)));
  }
  return results;
}
