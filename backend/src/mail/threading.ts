import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { MailDatabase } from './schema.js';

/**
 * Message-ids are kept without their angle brackets. A header may hold several ids (References)
 * or junk around them (some clients add comments), so every `<…>` is taken; a header with no
 * brackets at all is taken whole.
 */
export function extractMessageIds(header: string | string[] | undefined | null): string[] {
  if (header === undefined || header === null) return [];
  const values = Array.isArray(header) ? header : [header];
  const ids: string[] = [];
  for (const value of values) {
    const bracketed = [...value.matchAll(/<([^<>\s]{1,900})>/g)].map((match) => match[1] ?? '');
    if (bracketed.length > 0) ids.push(...bracketed);
    else if (value.trim() !== '' && !/\s/.test(value.trim())) ids.push(value.trim().slice(0, 900));
  }
  return [...new Set(ids.filter((id) => id.length > 0))];
}

const REF_TOKEN = /\[#INC-(\d{1,9})\]/i;

export function formatIncidentRef(refNo: number): string {
  return `INC-${refNo}`;
}

/** The incident number of a `[#INC-123]` token in a subject, or null. */
export function refFromSubject(subject: string): number | null {
  const match = REF_TOKEN.exec(subject);
  return match ? Number(match[1]) : null;
}

/** The subject with this incident's `[#INC-n]` token, once (a token of another incident is replaced). */
export function withRefToken(subject: string, refNo: number): string {
  const trimmed = subject.trim() || '(no subject)';
  const token = `[#${formatIncidentRef(refNo)}]`;
  return REF_TOKEN.test(trimmed) ? trimmed.replace(REF_TOKEN, token) : `${trimmed} ${token}`;
}

/**
 * The subject of our reply: `Re: ` once, and the incident's token once, so that a customer
 * who answers from a client that drops In-Reply-To still lands in the same incident.
 */
export function replySubject(customerSubject: string, refNo: number): string {
  const subject = customerSubject.trim() || '(no subject)';
  return withRefToken(/^re\s*:/i.test(subject) ? subject : `Re: ${subject}`, refNo);
}

/** Our Message-ID for a reply, in the domain of the address it is sent from. */
export function newMessageId(fromAddress: string): string {
  const domain = fromAddress.split('@')[1] || 'tsunagu.invalid';
  return `${randomUUID()}@${domain}`;
}

/**
 * The incident's per-tenant reference number, given on first use. Incidents made by other
 * parts of the backend (notes, calls, the seed) get theirs only when mail needs one.
 *
 * The counter row is bumped with UPDATE … RETURNING, which holds its lock to the end of the
 * transaction, so two transactions never hand out the same number; the incident is updated
 * only while it still has none, and re-read, so a number lost to a race is skipped, never
 * given twice. Lock order is counter after tenant row (change log) everywhere, so no deadlock.
 */
export async function ensureIncidentRef(trx: Transaction<MailDatabase>, tenantId: string, incidentId: string): Promise<number> {
  const current = await trx.selectFrom('incidents').select('ref_no').where('id', '=', incidentId).executeTakeFirstOrThrow();
  if (current.ref_no !== null) return current.ref_no;
  await trx
    .insertInto('incident_ref_counters')
    .values({ tenant_id: tenantId, last_ref: 0 })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const bumped = await trx
    .updateTable('incident_ref_counters')
    .set((eb) => ({ last_ref: eb('last_ref', '+', 1) }))
    .where('tenant_id', '=', tenantId)
    .returning('last_ref')
    .executeTakeFirstOrThrow();
  await trx
    .updateTable('incidents')
    .set({ ref_no: bumped.last_ref })
    .where('id', '=', incidentId)
    .where('ref_no', 'is', null)
    .execute();
  const after = await trx.selectFrom('incidents').select('ref_no').where('id', '=', incidentId).executeTakeFirstOrThrow();
  if (after.ref_no === null) throw new Error(`incident ${incidentId}: reference number was not stored`);
  return after.ref_no;
}

/**
 * The sender's customer's open incident that was worked on last, for a mail that cites no
 * thread: a customer writing again about an open matter is that matter, not a new unassigned
 * incident. Null when the customer has no open incident.
 */
export async function latestOpenIncident(trx: Transaction<MailDatabase>, tenantId: string, customerId: string): Promise<string | null> {
  const row = await trx
    .selectFrom('incidents')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('status', '=', 'open')
    .orderBy('updated_at', 'desc')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}
