import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { CallMeAccepted, CallMeHours, CallMeInput, CallMeOffer, CallMeOutcome, CallMeStatus, CallMeView } from '../../../shared/callme.js';
import type { User } from '../../../shared/domain.js';
import { toE164 } from '../../../shared/phone.js';
import type { CountryCode } from 'libphonenumber-js';
import { recordAudit } from '../audit.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { addSeconds } from '../mail/clock.js';
import { callbackCandidates } from '../telephony/cti.js';
import { nextOpening } from './hours.js';
import type { CallMeNotifier } from './notifier.js';
import { callmeDb, callmeTrx, type CallMeRequestsTable } from './schema.js';

/**
 * "Call me": a portal request waits in the tenant's callback queue until it is due (now, or
 * the booked time), is offered to one operator at a time for `offerSeconds` (the previous
 * handler first, else the longest idle: the CTI's own order, telephony/cti.ts), moves on when
 * that operator declines or lets it run out, and once accepted is the operator's to dial. Every
 * state change is a conditional update (only from the state it expects), so two backend
 * instances, a double press or a retried request never move it twice; each is audited.
 */

export interface CallMeOptions {
  /** How long one operator has to accept. */
  offerSeconds: number;
  /** An operator who declined (or let the offer run out) is skipped this long. */
  passCooldownSeconds: number;
  presenceTimeoutSeconds: number;
  /** How often each instance looks for due requests and expired offers; 0: never (tests sweep themselves). */
  sweepMs: number;
}

export const DEFAULT_CALLME_OPTIONS: Omit<CallMeOptions, 'presenceTimeoutSeconds'> = {
  offerSeconds: 30,
  passCooldownSeconds: 120,
  sweepMs: 1000,
};

/** An ended request stays on the customer's portal page this long. */
const SHOWN_AFTER_END_MS = 3_600_000;
const OPEN_STATES = ['waiting', 'offered', 'dialling'] as const;
const MAX_DUE_PER_SWEEP = 50;

type Row = CallMeRequestsTable;

export interface CallMeContext {
  handle: DatabaseHandle;
  options: CallMeOptions;
  notifier: CallMeNotifier;
}

function toView(row: Row, now: string): CallMeView {
  return {
    id: row.id,
    state: row.state,
    number: row.number,
    reason: row.reason,
    preferredAt: row.preferred_at,
    dueAt: row.due_at,
    booked: row.state === 'waiting' && row.due_at > now,
    outcome: row.outcome,
    createdAt: row.created_at,
  };
}

function passedBy(row: Pick<Row, 'passed_by'>): Record<string, string> {
  try {
    const value: unknown = JSON.parse(row.passed_by);
    return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export async function hoursOf(db: Kysely<Database>, tenantId: string): Promise<CallMeHours | null> {
  const row = await callmeDb(db).selectFrom('callme_hours').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) return null;
  return { timeZone: row.time_zone, days: JSON.parse(row.days) as number[], opensAt: row.opens_at, closesAt: row.closes_at };
}

export async function setHours(handle: DatabaseHandle, user: User, tenantId: string, hours: CallMeHours): Promise<void> {
  const values = { time_zone: hours.timeZone, days: JSON.stringify([...new Set(hours.days)].sort()), opens_at: hours.opensAt, closes_at: hours.closesAt, updated_at: new Date().toISOString() };
  await callmeDb(handle.db)
    .insertInto('callme_hours')
    .values({ tenant_id: tenantId, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .execute();
  await recordAudit(handle.db, { tenantId, userId: user.id, action: 'callme_hours_changed', details: { hours } });
}

export async function customerNumbers(db: Kysely<Database>, customerId: string): Promise<string[]> {
  const rows = await db.selectFrom('customer_phones').select('e164').where('customer_id', '=', customerId).orderBy('position').execute();
  return rows.map((row) => row.e164);
}

/** The portal's view: the customer's numbers and their newest request still worth showing. */
export async function callMeStatus(db: Kysely<Database>, tenantId: string, customerId: string): Promise<CallMeStatus> {
  const now = new Date().toISOString();
  const shownSince = new Date(Date.now() - SHOWN_AFTER_END_MS).toISOString();
  const row = await callmeDb(db)
    .selectFrom('callme_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where((eb) => eb.or([eb('state', 'in', [...OPEN_STATES]), eb('ended_at', '>', shownSince)]))
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  return { numbers: await customerNumbers(db, customerId), request: row ? toView(row, now) : null };
}

/**
 * A press of "call me". The same press again (its clientId), or any press while the customer
 * has a request open, answers that request: one customer, one request at a time.
 */
export async function requestCallMe(
  cx: CallMeContext,
  who: { tenantId: string; customerId: string; region: string },
  input: z.output<typeof CallMeInput>,
): Promise<{ view: CallMeView; created: boolean }> {
  const db = callmeDb(cx.handle.db);
  const number = toE164(input.number, who.region as CountryCode);
  if (number === null) throw new HttpError('invalid_input', 'number: not a phone number we can call (e.g. 03-1234-5678 or 090-1234-5678)');
  const existing = async () =>
    db
      .selectFrom('callme_requests')
      .selectAll()
      .where('tenant_id', '=', who.tenantId)
      .where('customer_id', '=', who.customerId)
      .where((eb) => eb.or([eb('client_id', '=', input.clientId), eb('state', 'in', [...OPEN_STATES])]))
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
  const before = await existing();
  if (before) return { view: toView(before, new Date().toISOString()), created: false };

  const now = new Date();
  const wanted = input.preferredAt !== null && Date.parse(input.preferredAt) > now.getTime() ? new Date(input.preferredAt) : now;
  const hours = await hoursOf(cx.handle.db, who.tenantId);
  const due = hours ? nextOpening(hours, wanted) : wanted;
  if (due === null) throw new HttpError('conflict', 'the contact center has no opening hours set for callbacks; please call us instead');
  const nowIso = now.toISOString();
  const row: Row = {
    id: randomUUID(),
    tenant_id: who.tenantId,
    customer_id: who.customerId,
    client_id: input.clientId,
    number,
    reason: input.reason,
    preferred_at: input.preferredAt === null ? null : new Date(input.preferredAt).toISOString(),
    due_at: due.toISOString(),
    state: 'waiting',
    offered_to: null,
    offer_reason: null,
    offer_expires_at: null,
    passed_by: '{}',
    accepted_by: null,
    accepted_at: null,
    call_id: null,
    outcome: null,
    created_at: nowIso,
    updated_at: nowIso,
    ended_at: null,
  };
  try {
    await cx.handle.db.transaction().execute(async (trx) => {
      await callmeTrx(trx).insertInto('callme_requests').values(row).execute();
      await recordAudit(trx, {
        tenantId: who.tenantId,
        userId: null,
        action: 'callme_requested',
        customerId: who.customerId,
        details: { requestId: row.id, dueAt: row.due_at, booked: row.due_at > nowIso, preferredAt: row.preferred_at, outsideHours: due.getTime() !== wanted.getTime() },
      });
    });
  } catch (error) {
    // Two presses at once: the other one's insert won (same clientId); answer with it.
    const other = await existing();
    if (other) return { view: toView(other, nowIso), created: false };
    throw error;
  }
  return { view: toView(row, nowIso), created: true };
}

async function ownRequest(db: Kysely<Database>, tenantId: string, customerId: string, id: string): Promise<Row> {
  const row = await callmeDb(db)
    .selectFrom('callme_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('id', '=', id)
    .executeTakeFirst();
  // Important: another customer's request is "not found", never "forbidden".
  if (!row) throw new HttpError('not_found', 'no such request');
  return row;
}

/** The customer cancels, while nobody dials yet. Cancelling twice is fine. */
export async function cancelCallMe(cx: CallMeContext, who: { tenantId: string; customerId: string }, id: string): Promise<CallMeView> {
  const row = await ownRequest(cx.handle.db, who.tenantId, who.customerId, id);
  if (row.state === 'dialling') throw new HttpError('conflict', 'the operator is already calling you; it can no longer be cancelled');
  if (row.state === 'done') throw new HttpError('conflict', 'this request has already ended');
  if (row.state === 'waiting' || row.state === 'offered') {
    const nowIso = new Date().toISOString();
    const moved = await cx.handle.db.transaction().execute(async (trx) => {
      const result = await callmeTrx(trx)
        .updateTable('callme_requests')
        .set({ state: 'cancelled', offer_expires_at: null, updated_at: nowIso, ended_at: nowIso })
        .where('id', '=', id)
        .where('state', '=', row.state)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await recordAudit(trx, { tenantId: who.tenantId, userId: null, action: 'callme_cancelled', customerId: who.customerId, details: { requestId: id, from: row.state } });
      return true;
    });
    if (!moved) return cancelCallMe(cx, who, id);
    if (row.state === 'offered' && row.offered_to) await cx.notifier.offerChanged(who.tenantId, [row.offered_to]);
  }
  return toView(await ownRequest(cx.handle.db, who.tenantId, who.customerId, id), new Date().toISOString());
}

/** The offer standing for this operator, if any (an expired one is no longer theirs). */
export async function offerFor(db: Kysely<Database>, user: User, tenantId: string): Promise<CallMeOffer | null> {
  const now = new Date().toISOString();
  const row = await callmeDb(db)
    .selectFrom('callme_requests as r')
    .innerJoin('customers as c', 'c.id', 'r.customer_id')
    .select(['r.id', 'r.customer_id', 'c.code', 'c.name', 'r.number', 'r.reason', 'r.preferred_at', 'r.offer_reason', 'r.offer_expires_at'])
    .where('r.tenant_id', '=', tenantId)
    .where('r.state', '=', 'offered')
    .where('r.offered_to', '=', user.id)
    .where('r.offer_expires_at', '>', now)
    .where(visibleCustomerSql(user, 'c'))
    .orderBy('r.offer_expires_at')
    .executeTakeFirst();
  if (!row || row.offer_expires_at === null) return null;
  return {
    id: row.id,
    customerId: row.customer_id,
    customerCode: row.code,
    customerName: row.name,
    number: row.number,
    reason: row.reason,
    preferredAt: row.preferred_at,
    offerReason: row.offer_reason ?? 'available_agent',
    expiresAt: row.offer_expires_at,
  };
}

async function staffRequest(db: Kysely<Database>, tenantId: string, id: string): Promise<Row> {
  const row = await callmeDb(db).selectFrom('callme_requests').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new HttpError('not_found', 'no such call-me request');
  return row;
}

/** The operator takes the offer: from now on the request is theirs to dial (the portal says "calling you now"). */
export async function acceptCallMe(cx: CallMeContext, user: User, tenantId: string, id: string): Promise<CallMeAccepted> {
  const nowIso = new Date().toISOString();
  const taken = await cx.handle.db.transaction().execute(async (trx) => {
    const result = await callmeTrx(trx)
      .updateTable('callme_requests')
      .set({ state: 'dialling', accepted_by: user.id, accepted_at: nowIso, offer_expires_at: null, updated_at: nowIso })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('state', '=', 'offered')
      .where('offered_to', '=', user.id)
      .where('offer_expires_at', '>', nowIso)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    const row = await staffRequest(trx, tenantId, id);
    await recordAudit(trx, { tenantId, userId: user.id, action: 'callme_accepted', customerId: row.customer_id, details: { requestId: id } });
    return true;
  });
  const row = await staffRequest(cx.handle.db, tenantId, id);
  // Accepting twice (a retry after a lost answer) answers the same.
  if (!taken && !(row.state === 'dialling' && row.accepted_by === user.id)) {
    if (row.offered_to !== user.id && row.accepted_by !== user.id && passedBy(row)[user.id] === undefined) throw new HttpError('not_found', 'no such call-me request');
    throw new HttpError('conflict', row.state === 'cancelled' ? 'the customer cancelled this request' : 'this offer is no longer yours (it ran out or was passed on)');
  }
  return { id: row.id, customerId: row.customer_id, number: row.number };
}

/** Moves an offer on: the operator declined (or its time ran out, `expired`). True when it moved. */
async function passOffer(cx: CallMeContext, tenantId: string, row: Row, userId: string, expired: boolean, nowIso: string): Promise<boolean> {
  return cx.handle.db.transaction().execute(async (trx) => {
    const passed = { ...passedBy(row), [userId]: nowIso };
    const result = await callmeTrx(trx)
      .updateTable('callme_requests')
      .set({ state: 'waiting', offered_to: null, offer_reason: null, offer_expires_at: null, passed_by: JSON.stringify(passed), updated_at: nowIso })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', row.id)
      .where('state', '=', 'offered')
      .where('offered_to', '=', userId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await recordAudit(trx, {
      tenantId,
      userId,
      action: expired ? 'callme_offer_expired' : 'callme_declined',
      customerId: row.customer_id,
      details: { requestId: row.id },
    });
    return true;
  });
}

export async function declineCallMe(cx: CallMeContext, user: User, tenantId: string, id: string): Promise<void> {
  const row = await staffRequest(cx.handle.db, tenantId, id);
  if (row.offered_to !== user.id && passedBy(row)[user.id] === undefined) throw new HttpError('not_found', 'no such call-me request');
  // Declining again, or after the offer ran out, changes nothing.
  if (row.state === 'offered' && row.offered_to === user.id) {
    if (await passOffer(cx, tenantId, row, user.id, false, new Date().toISOString())) await cx.notifier.offerChanged(tenantId, [user.id]);
  }
  await dispatchCallMe(cx, tenantId);
}

/** The call the app placed for this request ended: the request is done (answered or not). Idempotent. */
export async function completeCallMe(cx: CallMeContext, user: User, tenantId: string, id: string, outcome: CallMeOutcome, callId: string | null): Promise<void> {
  const nowIso = new Date().toISOString();
  const done = await cx.handle.db.transaction().execute(async (trx) => {
    const result = await callmeTrx(trx)
      .updateTable('callme_requests')
      .set({ state: 'done', outcome, call_id: callId, updated_at: nowIso, ended_at: nowIso })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('state', '=', 'dialling')
      .where('accepted_by', '=', user.id)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    const row = await staffRequest(trx, tenantId, id);
    await recordAudit(trx, { tenantId, userId: user.id, action: 'callme_done', customerId: row.customer_id, details: { requestId: id, outcome, callId } });
    return true;
  });
  if (done) return;
  const row = await staffRequest(cx.handle.db, tenantId, id);
  if (row.accepted_by !== user.id) throw new HttpError('not_found', 'no such call-me request');
  if (row.state !== 'done') throw new HttpError('conflict', `this request is ${row.state}, not being dialled`);
}

/**
 * One pass over a tenant's callback queue: offers whose time ran out move on, and every due
 * request waiting is offered to the first free operator who may see the customer, has not
 * passed on it lately and holds no other offer or callback. Safe to run anywhere, any time.
 */
export async function dispatchCallMe(cx: CallMeContext, tenantId: string, now: Date = new Date()): Promise<void> {
  const db = callmeDb(cx.handle.db);
  const nowIso = now.toISOString();
  const changed = new Set<string>();
  const expired = await db
    .selectFrom('callme_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'offered')
    .where('offer_expires_at', '<=', nowIso)
    .execute();
  for (const row of expired) {
    if (row.offered_to && (await passOffer(cx, tenantId, row, row.offered_to, true, nowIso))) changed.add(row.offered_to);
  }
  const due = await db
    .selectFrom('callme_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'waiting')
    .where('due_at', '<=', nowIso)
    .orderBy('due_at')
    .orderBy('created_at')
    .limit(MAX_DUE_PER_SWEEP)
    .execute();
  if (due.length > 0) {
    const holding = await db
      .selectFrom('callme_requests')
      .select(['offered_to', 'accepted_by', 'state'])
      .where('tenant_id', '=', tenantId)
      .where('state', 'in', ['offered', 'dialling'])
      .execute();
    const busy = new Set(holding.flatMap((row) => (row.state === 'offered' ? [row.offered_to] : [row.accepted_by])).filter((id): id is string => id !== null));
    const cooldownFrom = addSeconds(nowIso, -cx.options.passCooldownSeconds);
    for (const row of due) {
      const passed = passedBy(row);
      const candidates = await callbackCandidates(cx.handle, tenantId, row.customer_id, cx.options.presenceTimeoutSeconds);
      const pick = candidates.find((candidate) => !busy.has(candidate.userId) && !((passed[candidate.userId] ?? '') > cooldownFrom));
      if (!pick) continue;
      const offered = await cx.handle.db.transaction().execute(async (trx) => {
        const result = await callmeTrx(trx)
          .updateTable('callme_requests')
          .set({ state: 'offered', offered_to: pick.userId, offer_reason: pick.reason, offer_expires_at: addSeconds(nowIso, cx.options.offerSeconds), updated_at: nowIso })
          .where('id', '=', row.id)
          .where('state', '=', 'waiting')
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await recordAudit(trx, { tenantId, userId: pick.userId, action: 'callme_offered', customerId: row.customer_id, details: { requestId: row.id, reason: pick.reason } });
        return true;
      });
      if (offered) {
        busy.add(pick.userId);
        changed.add(pick.userId);
      }
    }
  }
  if (changed.size > 0) await cx.notifier.offerChanged(tenantId, changed);
}

/** Every tenant with requests to move: the sweeper's round. */
export async function sweepCallMe(cx: CallMeContext, now: Date = new Date()): Promise<void> {
  const tenants = await callmeDb(cx.handle.db)
    .selectFrom('callme_requests')
    .select('tenant_id')
    .distinct()
    .where((eb) => eb.or([eb('state', '=', 'offered'), eb.and([eb('state', '=', 'waiting'), eb('due_at', '<=', now.toISOString())])]))
    .execute();
  for (const { tenant_id } of tenants) await dispatchCallMe(cx, tenant_id, now);
}
