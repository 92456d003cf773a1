import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import type { AgentPresence, AgentStatus, AgentStatusResponse, MailOfferResponse, MailSettings } from '../../../shared/api.js';
import { recordAudit } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import type { DatabaseHandle, SqlDialect } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { ringingCallVolume } from '../telephony/calls.js';
import { HttpError } from '../http/errors.js';
import { addSeconds, databaseNow } from './clock.js';
import type { MailConfig } from './config.js';
import type { MailNotifier } from './notify.js';
import { mailDb, mailTrx, type MailDatabase } from './schema.js';
import { assertMaySeeCustomer, loadMailView } from './views.js';

/**
 * Dispatch of unanswered mail: one operator at a time holds a lease on a mail; everything
 * about it lives in the database, so several backend instances share one queue.
 *
 * A lease is held while all three hold: the mail is still `waiting`, `lease_expires_at` is in
 * the future (the operator did not ignore it for N minutes), and `lease_seen_at` (the holder's
 * last heartbeat, copied onto the row) is younger than the presence timeout (the operator did
 * not disconnect). Nothing else has to run for a lease to end: the next offer simply finds the
 * mail claimable again, so nothing is lost when an operator or an instance vanishes.
 *
 * Important: the claim is one conditional UPDATE whose WHERE reads only the row's own columns.
 * On PostgreSQL two instances claiming the same row serialise on its row lock, and the second
 * re-evaluates the WHERE against the row the first committed (READ COMMITTED re-check), so
 * it matches nothing. A condition on another table (say, a subquery on agent_presence) would
 * be re-checked against the statement's old snapshot, and could hand the mail out twice.
 */

const CANDIDATES = 50;

export async function dispatchSettings(db: Kysely<MailDatabase>, tenantId: string, config: MailConfig): Promise<MailSettings> {
  const row = await db
    .selectFrom('mail_settings')
    .select(['lease_seconds', 'busy_calls_per_agent'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return {
    leaseSeconds: row?.lease_seconds ?? config.dispatch.leaseSeconds,
    busyCallsPerAgent: row?.busy_calls_per_agent ?? config.dispatch.busyCallsPerAgent,
    presenceTimeoutSeconds: config.dispatch.presenceTimeoutSeconds,
    preferenceSeconds: config.dispatch.preferenceSeconds,
  };
}

function presenceCutoff(now: string, config: MailConfig): string {
  return addSeconds(now, -config.dispatch.presenceTimeoutSeconds);
}

/** Rows of waiting mail whose lease is held right now (by anyone). */
export function leaseHeld(now: string, cutoff: string) {
  return (eb: ExpressionBuilder<MailDatabase, 'mail_messages'>) =>
    eb.and([
      eb('mail_messages.lease_user_id', 'is not', null),
      eb('mail_messages.lease_expires_at', '>', now),
      eb('mail_messages.lease_seen_at', '>', cutoff),
    ]);
}

export interface DispatchLoad {
  ringing: number;
  connected: number;
  availableAgents: number;
  paused: boolean;
  busyCallsPerAgent: number;
}

/**
 * Offering pauses for everyone while ringing calls per available agent are above the tenant's
 * threshold: the phones come first. With nobody available any ringing call pauses it.
 */
export async function dispatchLoad(db: Kysely<MailDatabase>, tenantId: string, now: string, config: MailConfig): Promise<DispatchLoad> {
  const settings = await dispatchSettings(db, tenantId, config);
  const connected = await db
    .selectFrom('calls')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'connected')
    .executeTakeFirstOrThrow();
  const available = await db
    .selectFrom('agent_presence')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'available')
    .where('last_seen_at', '>', presenceCutoff(now, config))
    .executeTakeFirstOrThrow();
  // What counts as ringing (fresh legs, the PBX's word first) is telephony's call.
  const ringing = await ringingCallVolume(db as unknown as Kysely<Database>, tenantId, now);
  const availableAgents = Number(available.n);
  const perAgent = availableAgents === 0 ? (ringing > 0 ? Number.POSITIVE_INFINITY : 0) : ringing / availableAgents;
  return {
    ringing,
    connected: Number(connected.n),
    availableAgents,
    paused: perAgent > settings.busyCallsPerAgent,
    busyCallsPerAgent: settings.busyCallsPerAgent,
  };
}

interface PresenceBefore {
  status: AgentStatus;
  since: string;
  lastSeenAt: string;
  stale: boolean;
  statusChangedAt: string | null;
}

/** A status the operator chose, with when they chose it (null: the app did not say). */
export interface StatusChange {
  status: AgentStatus;
  changedAt: string | null;
}

async function lockPresence(
  trx: Transaction<MailDatabase>,
  dialect: SqlDialect,
  userId: string,
  cutoff: string,
): Promise<PresenceBefore | null> {
  const query = trx.selectFrom('agent_presence').select(['status', 'since', 'last_seen_at', 'status_changed_at']).where('user_id', '=', userId);
  // The row lock serialises one operator's offers across instances: one lease per operator.
  const row = await (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
  if (!row) return null;
  return { status: row.status, since: row.since, lastSeenAt: row.last_seen_at, stale: row.last_seen_at <= cutoff, statusChangedAt: row.status_changed_at };
}

/**
 * Records that the operator's app is alive (and optionally a new status). A heartbeat after a
 * silence restarts the time in status, since the operator was shown offline meanwhile; an
 * operator seen for the first time is an idle, logged-in operator, so `available`.
 */
async function writePresence(
  trx: Transaction<MailDatabase>,
  dialect: SqlDialect,
  auth: AuthContext,
  now: string,
  config: MailConfig,
  change?: StatusChange,
): Promise<{ presence: AgentPresence; before: PresenceBefore | null; changed: boolean; applied: boolean }> {
  const userId = auth.user.id;
  const cutoff = presenceCutoff(now, config);
  // A time ahead of the server's clock counts as now: a fast client clock must not pin a
  // status against every later change.
  const changedAt = change?.changedAt == null ? null : change.changedAt > now ? now : change.changedAt;
  const inserted = await trx
    .insertInto('agent_presence')
    .values({ user_id: userId, tenant_id: auth.tenant.id, status: change?.status ?? 'available', since: now, last_seen_at: now, status_changed_at: changedAt })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .returning('user_id')
    .executeTakeFirst();
  const before = inserted ? null : await lockPresence(trx, dialect, userId, cutoff);
  // Important: a change made before the one in force arrived late (sent again after an
  // offline spell, or overtaken in flight): it is only a sign of life.
  const outdated = change !== undefined && changedAt !== null && before?.statusChangedAt != null && changedAt < before.statusChangedAt;
  const applied = change !== undefined && !outdated;
  const nextStatus = applied ? change.status : (before?.status ?? 'available');
  const restart = !before || before.stale || before.status !== nextStatus;
  const since = restart || !before ? now : before.since;
  await trx
    .updateTable('agent_presence')
    .set({ status: nextStatus, since, last_seen_at: now, ...(applied ? { status_changed_at: changedAt } : {}) })
    .where('user_id', '=', userId)
    .execute();
  // The lease rows carry the holder's heartbeat (see the module comment).
  await trx
    .updateTable('mail_messages')
    .set({ lease_seen_at: now })
    .where('tenant_id', '=', auth.tenant.id)
    .where('lease_user_id', '=', userId)
    .where('queue_state', '=', 'waiting')
    .where('lease_expires_at', '>', now)
    .where('lease_seen_at', '>', cutoff)
    .execute();
  return {
    presence: { userId, status: nextStatus, since, lastSeenAt: now },
    before,
    changed: restart,
    applied,
  };
}

async function releaseLeasesOf(trx: Transaction<MailDatabase>, tenantId: string, userId: string): Promise<string[]> {
  const released = await trx
    .updateTable('mail_messages')
    .set({ lease_user_id: null, lease_expires_at: null, lease_seen_at: null, leased_at: null })
    .where('tenant_id', '=', tenantId)
    .where('lease_user_id', '=', userId)
    .where('queue_state', '=', 'waiting')
    .returning('id')
    .execute();
  return released.map((row) => row.id);
}

export async function setAgentStatus(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  config: MailConfig,
  auth: AuthContext,
  change: StatusChange,
): Promise<AgentStatusResponse> {
  const { status } = change;
  const response = await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const now = await databaseNow(trx, handle.dialect);
    const { presence, before, changed, applied } = await writePresence(trx, handle.dialect, auth, now, config, change);
    // An operator who goes on break or offline is not coming back to the mail soon.
    const released = applied && (status === 'offline' || status === 'break') ? await releaseLeasesOf(trx, auth.tenant.id, auth.user.id) : [];
    if (changed) {
      await recordAudit(raw, {
        tenantId: auth.tenant.id,
        userId: auth.user.id,
        action: 'agent_status_changed',
        details: { from: before?.stale ? 'offline' : (before?.status ?? null), to: presence.status, changedAt: change.changedAt, releasedMails: released },
      });
    }
    return { ...presence, applied };
  });
  await notifier.publish(auth.tenant.id);
  return response;
}

export async function heartbeat(handle: DatabaseHandle, notifier: MailNotifier, config: MailConfig, auth: AuthContext): Promise<AgentPresence> {
  const { presence, changed } = await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const now = await databaseNow(trx, handle.dialect);
    return writePresence(trx, handle.dialect, auth, now, config);
  });
  // Only a return from silence changes what the supervisor sees; plain heartbeats stay quiet.
  if (changed) await notifier.publish(auth.tenant.id);
  return presence;
}

interface Candidate {
  id: string;
  preferred_user_id: string | null;
  received_at: string;
  lease_user_id: string | null;
}

/**
 * The order in which mail is offered to `userId`: mail of customers this operator handled last
 * first; then mail nobody in particular waits for; mail reserved for another operator who last
 * handled its customer and is online is skipped until it has waited `preferenceSeconds`, so a
 * preference never starves a mail. A mail this operator let lapse comes after the others.
 */
function offerOrder(candidates: Candidate[], userId: string, online: Set<string>, now: string, preferenceSeconds: number): Candidate[] {
  const reservedUntil = (c: Candidate) => addSeconds(c.received_at, preferenceSeconds);
  const rank = (c: Candidate): number | null => {
    if (c.preferred_user_id === userId) return 0;
    const reservedForOther =
      c.preferred_user_id !== null && online.has(c.preferred_user_id) && reservedUntil(c) > now;
    if (reservedForOther) return null;
    return c.lease_user_id === userId ? 2 : 1;
  };
  return candidates
    .map((candidate, index) => ({ candidate, index, rank: rank(candidate) }))
    .filter((entry): entry is { candidate: Candidate; index: number; rank: number } => entry.rank !== null)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.candidate);
}

/**
 * The mail leased to this operator, or the next one for them (claiming its lease), unless they
 * are not available or offering is paused. Calling it also counts as a heartbeat.
 */
export async function offerMail(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  config: MailConfig,
  auth: AuthContext,
): Promise<MailOfferResponse> {
  const tenantId = auth.tenant.id;
  const userId = auth.user.id;
  const outcome = await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const now = await databaseNow(trx, handle.dialect);
    const cutoff = presenceCutoff(now, config);
    const { presence } = await writePresence(trx, handle.dialect, auth, now, config);
    if (presence.status !== 'available') return { status: 'not_available' as const, agentStatus: presence.status };

    const held = await trx
      .selectFrom('mail_messages')
      .select(['id', 'lease_expires_at'])
      .where('tenant_id', '=', tenantId)
      .where('lease_user_id', '=', userId)
      .where('queue_state', '=', 'waiting')
      .where('lease_expires_at', '>', now)
      .orderBy('leased_at')
      .executeTakeFirst();
    if (held) {
      return { status: 'offered' as const, mailId: held.id, leaseExpiresAt: held.lease_expires_at, agentStatus: presence.status, claimed: false };
    }

    const load = await dispatchLoad(trx, tenantId, now, config);
    if (load.paused) return { status: 'paused' as const, agentStatus: presence.status };

    const settings = await dispatchSettings(trx, tenantId, config);
    const candidates = await trx
      .selectFrom('mail_messages')
      .innerJoin('customers as c', 'c.id', 'mail_messages.customer_id')
      .select([
        'mail_messages.id',
        'mail_messages.preferred_user_id',
        'mail_messages.received_at',
        'mail_messages.lease_user_id',
      ])
      .where('mail_messages.tenant_id', '=', tenantId)
      .where('mail_messages.queue_state', '=', 'waiting')
      // A mail that points at an incident without proof waits for an operator to match it first.
      .where('mail_messages.match_state', '=', 'matched')
      .where((eb) => eb.not(leaseHeld(now, cutoff)(eb)))
      .where(visibleCustomerSql(auth.user, 'c'))
      .orderBy('mail_messages.received_at')
      .orderBy('mail_messages.id')
      .limit(CANDIDATES)
      .execute();
    if (candidates.length === 0) return { status: 'none' as const, agentStatus: presence.status };

    const onlineRows = await trx
      .selectFrom('agent_presence')
      .select('user_id')
      .where('tenant_id', '=', tenantId)
      .where('status', '<>', 'offline')
      .where('last_seen_at', '>', cutoff)
      .execute();
    const online = new Set(onlineRows.map((row) => row.user_id));
    const leaseExpiresAt = addSeconds(now, settings.leaseSeconds);
    for (const candidate of offerOrder(candidates, userId, online, now, config.dispatch.preferenceSeconds)) {
      const claimed = await trx
        .updateTable('mail_messages')
        .set((eb) => ({
          lease_user_id: userId,
          lease_expires_at: leaseExpiresAt,
          lease_seen_at: now,
          leased_at: now,
          offer_count: eb('offer_count', '+', 1),
        }))
        .where('id', '=', candidate.id)
        .where('queue_state', '=', 'waiting')
        .where('match_state', '=', 'matched')
        .where((eb) =>
          eb.or([
            eb('lease_user_id', 'is', null),
            eb('lease_expires_at', '<=', now),
            eb('lease_seen_at', '<=', cutoff),
          ]),
        )
        .returning(['id', 'customer_id', 'offer_count'])
        .executeTakeFirst();
      if (!claimed) continue;
      await recordAudit(raw, {
        tenantId,
        userId,
        action: 'mail_offered',
        customerId: claimed.customer_id,
        details: {
          mailId: claimed.id,
          leaseExpiresAt,
          preferred: candidate.preferred_user_id === userId,
          previousHolder: candidate.lease_user_id,
          offerCount: claimed.offer_count,
        },
      });
      return { status: 'offered' as const, mailId: claimed.id, leaseExpiresAt, agentStatus: presence.status, claimed: true };
    }
    return { status: 'none' as const, agentStatus: presence.status };
  });

  if (outcome.status !== 'offered') {
    return { status: outcome.status, mail: null, leaseExpiresAt: null, agentStatus: outcome.agentStatus };
  }
  if (outcome.claimed) await notifier.publish(tenantId);
  const mail = await loadMailView(mailDb(handle.db), tenantId, outcome.mailId, auth.user);
  return { status: 'offered', mail, leaseExpiresAt: outcome.leaseExpiresAt, agentStatus: outcome.agentStatus };
}

/**
 * A mail offered to (leased by) another operator is theirs to answer or close: others would
 * answer it twice. Supervisors and admins may step in.
 */
export async function assertNotOfferedToAnother(
  trx: Transaction<MailDatabase>,
  auth: AuthContext,
  mailId: string,
  now: string,
  config: MailConfig,
): Promise<void> {
  if (auth.user.role !== 'agent') return;
  const held = await trx
    .selectFrom('mail_messages')
    .select('lease_user_id')
    .where('id', '=', mailId)
    .where('queue_state', '=', 'waiting')
    .where((eb) => leaseHeld(now, presenceCutoff(now, config))(eb))
    .executeTakeFirst();
  if (held && held.lease_user_id !== auth.user.id) throw new HttpError('conflict', `mail ${mailId} is offered to another operator`);
}

/** The operator gives the mail back to the queue. */
export async function releaseMail(handle: DatabaseHandle, notifier: MailNotifier, auth: AuthContext, mailId: string): Promise<void> {
  const released = await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const row = await trx
      .updateTable('mail_messages')
      .set({ lease_user_id: null, lease_expires_at: null, lease_seen_at: null, leased_at: null })
      .where('tenant_id', '=', auth.tenant.id)
      .where('id', '=', mailId)
      .where('lease_user_id', '=', auth.user.id)
      .where('queue_state', '=', 'waiting')
      .returning(['id', 'customer_id'])
      .executeTakeFirst();
    if (!row) return false;
    await recordAudit(raw, { tenantId: auth.tenant.id, userId: auth.user.id, action: 'mail_released', customerId: row.customer_id, details: { mailId } });
    return true;
  });
  if (!released) throw new HttpError('conflict', `mail ${mailId} is not leased to you`);
  await notifier.publish(auth.tenant.id);
}

/** Marks a mail as needing no reply (thanks, spam, handled by phone). */
export async function closeMail(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  config: MailConfig,
  auth: AuthContext,
  mailId: string,
  note: string,
): Promise<void> {
  const db = mailDb(handle.db);
  const mail = await db
    .selectFrom('mail_messages')
    .select(['customer_id'])
    .where('tenant_id', '=', auth.tenant.id)
    .where('id', '=', mailId)
    .executeTakeFirst();
  if (!mail) throw new HttpError('not_found', `no mail ${mailId}`);
  await assertMaySeeCustomer(db, auth.user, auth.tenant.id, mail.customer_id, `no mail ${mailId}`);
  const closed = await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const now = await databaseNow(trx, handle.dialect);
    await assertNotOfferedToAnother(trx, auth, mailId, now, config);
    const row = await trx
      .updateTable('mail_messages')
      .set({
        queue_state: 'closed',
        close_note: note,
        handled_by: auth.user.id,
        handled_at: now,
        lease_user_id: null,
        lease_expires_at: null,
        lease_seen_at: null,
        leased_at: null,
      })
      .where('tenant_id', '=', auth.tenant.id)
      .where('id', '=', mailId)
      .where('queue_state', '=', 'waiting')
      .returning('id')
      .executeTakeFirst();
    if (!row) return false;
    await recordAudit(raw, {
      tenantId: auth.tenant.id,
      userId: auth.user.id,
      action: 'mail_closed',
      customerId: mail.customer_id,
      details: { mailId, note },
    });
    return true;
  });
  if (!closed) throw new HttpError('conflict', `mail ${mailId} is no longer waiting`);
  await notifier.publish(auth.tenant.id);
}

/** Counts for the supervisor and the operators' queue pokes. */
export async function queueCounts(
  db: Kysely<MailDatabase>,
  tenantId: string,
  now: string,
  config: MailConfig,
): Promise<{ waiting: number; offered: number }> {
  const cutoff = presenceCutoff(now, config);
  const row = await db
    .selectFrom('mail_messages')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('total'),
      eb.fn
        .sum<number | string | null>(
          eb.case().when(leaseHeld(now, cutoff)(eb)).then(sql.lit(1)).else(sql.lit(0)).end(),
        )
        .as('offered'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('queue_state', '=', 'waiting')
    .where('match_state', '=', 'matched')
    .executeTakeFirstOrThrow();
  const total = Number(row.total);
  const offered = Number(row.offered ?? 0);
  return { waiting: total - offered, offered };
}
