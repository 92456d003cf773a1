import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
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

/** `[#INC-123-K7QX9M2P]`; the key part is optional here so that old and guessed tokens are recognised (and not trusted). */
const REF_TOKEN = /\[#INC-(\d{1,9})(?:-([A-Za-z0-9]{1,32}))?\]/i;
/** 8 characters of Crockford base32: 40 random bits, far beyond guessing by mail. */
const KEY_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const KEY_LENGTH = 8;

export interface IncidentRef {
  refNo: number;
  key: string;
}

export function formatIncidentRef(refNo: number): string {
  return `INC-${refNo}`;
}

export function newRefKey(): string {
  const bytes = randomBytes(KEY_LENGTH);
  return [...bytes].map((byte) => KEY_ALPHABET[byte % KEY_ALPHABET.length]).join('');
}

/** The token of a subject: its incident number and, if present, its key (upper-cased). */
export function refFromSubject(subject: string): { refNo: number; key: string | null } | null {
  const match = REF_TOKEN.exec(subject);
  if (!match) return null;
  return { refNo: Number(match[1]), key: match[2] ? match[2].toUpperCase() : null };
}

/** Whether a token's key is the incident's, compared in constant time. */
export function refKeyMatches(given: string | null, stored: string | null): boolean {
  if (given === null || stored === null) return false;
  const a = Buffer.from(given.toUpperCase());
  const b = Buffer.from(stored.toUpperCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

export function formatRefToken(ref: IncidentRef): string {
  return `[#${formatIncidentRef(ref.refNo)}-${ref.key}]`;
}

/** The subject with this incident's token, once (a token of another incident, or an old bare one, is replaced). */
export function withRefToken(subject: string, ref: IncidentRef): string {
  const trimmed = subject.trim() || '(no subject)';
  const token = formatRefToken(ref);
  return REF_TOKEN.test(trimmed) ? trimmed.replace(REF_TOKEN, token) : `${trimmed} ${token}`;
}

/**
 * The subject of our reply: `Re: ` once, and the incident's token once, so that a customer
 * who answers from a client that drops In-Reply-To still lands in the same incident.
 */
export function replySubject(customerSubject: string, ref: IncidentRef): string {
  const subject = customerSubject.trim() || '(no subject)';
  return withRefToken(/^re\s*:/i.test(subject) ? subject : `Re: ${subject}`, ref);
}

/** Our Message-ID for a reply, in the domain of the address it is sent from. */
export function newMessageId(fromAddress: string): string {
  const domain = fromAddress.split('@')[1] || 'tsunagu.invalid';
  return `${randomUUID()}@${domain}`;
}

/**
 * The incident's per-tenant reference number and token key, given on first use. Incidents made
 * by other parts of the backend (notes, calls, the seed) get theirs only when mail needs one;
 * incidents numbered before keys existed get their key the same way.
 *
 * The counter row is bumped with UPDATE … RETURNING, which holds its lock to the end of the
 * transaction, so two transactions never hand out the same number; the incident is updated
 * only while it still has none, and re-read, so a number lost to a race is skipped, never
 * given twice. Lock order is counter after tenant row (change log) everywhere, so no deadlock.
 */
export async function ensureIncidentRef(trx: Transaction<MailDatabase>, tenantId: string, incidentId: string): Promise<IncidentRef> {
  const current = await trx.selectFrom('incidents').select(['ref_no', 'ref_key']).where('id', '=', incidentId).executeTakeFirstOrThrow();
  if (current.ref_no !== null && current.ref_key !== null) return { refNo: current.ref_no, key: current.ref_key };
  if (current.ref_no === null) {
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
  }
  await trx.updateTable('incidents').set({ ref_key: newRefKey() }).where('id', '=', incidentId).where('ref_key', 'is', null).execute();
  const after = await trx.selectFrom('incidents').select(['ref_no', 'ref_key']).where('id', '=', incidentId).executeTakeFirstOrThrow();
  if (after.ref_no === null || after.ref_key === null) throw new Error(`incident ${incidentId}: reference number was not stored`);
  return { refNo: after.ref_no, key: after.ref_key };
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
