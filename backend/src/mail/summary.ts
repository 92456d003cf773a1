import type { Kysely } from 'kysely';
import type { AgentStatus, SupervisorAgent, SupervisorSummary } from '../../../shared/api.js';
import type { User } from '../../../shared/domain.js';
import type { SqlDialect } from '../db/database.js';
import { liveCallQueue } from '../telephony/live-queue.js';
import { addSeconds, databaseNow } from './clock.js';
import type { MailConfig } from './config.js';
import { dispatchLoad, queueCounts } from './dispatch.js';
import type { MailDatabase } from './schema.js';

/** Local calendar date and hour of an instant in a time zone. */
function localParts(iso: string, format: Intl.DateTimeFormat): { date: string; hour: number } {
  const parts = Object.fromEntries(format.formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) % 24 };
}

/**
 * The supervisor's live view of a tenant. A supervisor with a branch sees that branch's
 * people; one without (a contact-center supervisor) and admins see everyone.
 */
export async function supervisorSummary(
  db: Kysely<MailDatabase>,
  dialect: SqlDialect,
  config: MailConfig,
  tenantId: string,
  viewer: User,
): Promise<SupervisorSummary> {
  const now = await databaseNow(db, dialect);
  const cutoff = addSeconds(now, -config.dispatch.presenceTimeoutSeconds);

  let users = db
    .selectFrom('users as u')
    .leftJoin('agent_presence as p', 'p.user_id', 'u.id')
    .select(['u.id', 'u.display_name', 'u.role', 'u.created_at', 'p.status', 'p.since', 'p.last_seen_at'])
    .where('u.tenant_id', '=', tenantId)
    .where('u.disabled', '=', 0)
    .where('u.role', '!=', 'partner');
  if (viewer.role !== 'admin' && viewer.branch !== null) users = users.where('u.branch', '=', viewer.branch);
  const rows = await users.orderBy('u.display_name').orderBy('u.id').execute();
  const nowMs = new Date(now).getTime();
  const agents: SupervisorAgent[] = rows.map((row) => {
    const fresh = row.last_seen_at !== null && row.last_seen_at > cutoff;
    let status: AgentStatus = 'offline';
    let since = row.created_at;
    if (row.status && row.since && row.last_seen_at) {
      status = fresh ? row.status : 'offline';
      // Silent since the last heartbeat: shown offline from when the silence became a disconnect.
      since = fresh || row.status === 'offline' ? row.since : addSeconds(row.last_seen_at, config.dispatch.presenceTimeoutSeconds);
    }
    return {
      userId: row.id,
      displayName: row.display_name,
      role: row.role === 'partner' ? 'agent' : row.role,
      status,
      since,
      secondsInStatus: Math.max(0, Math.floor((nowMs - new Date(since).getTime()) / 1000)),
    };
  });

  const load = await dispatchLoad(db, tenantId, now, config);
  const queue = await queueCounts(db, tenantId, now, config);
  const replyStates = await db
    .selectFrom('mail_replies')
    .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('state', 'in', ['pending_review', 'approved', 'sending', 'failed'])
    .groupBy('state')
    .execute();
  const replies = (state: string) => Number(replyStates.find((row) => row.state === state)?.n ?? 0);
  const retrying = await db
    .selectFrom('mail_replies')
    .select(['last_error'])
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'approved')
    .where('last_error', 'is not', null)
    .orderBy('updated_at', 'desc')
    .execute();
  const newest = retrying[0];
  const relayTrouble =
    newest && newest.last_error !== null
      ? { retrying: retrying.length, lastError: newest.last_error }
      : null;

  // "Today" is a calendar day in the tenant's zone; 26 hours back covers it even on a DST day.
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone: config.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    hourCycle: 'h23',
  });
  const today = localParts(now, format).date;
  const since = addSeconds(now, -26 * 3600);
  const callTimes = await db.selectFrom('calls').select('started_at as at').where('tenant_id', '=', tenantId).where('started_at', '>=', since).execute();
  const mailTimes = await db.selectFrom('mail_messages').select('received_at as at').where('tenant_id', '=', tenantId).where('received_at', '>=', since).execute();
  const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, calls: 0, mails: 0 }));
  const tally = (times: { at: string }[], key: 'calls' | 'mails') => {
    for (const { at } of times) {
      const local = localParts(at, format);
      const bucket = hours[local.hour];
      if (local.date === today && bucket) bucket[key] += 1;
    }
  };
  tally(callTimes, 'calls');
  tally(mailTimes, 'mails');
  const callQueue = await liveCallQueue(db, tenantId, now, since, viewer);

  return {
    now,
    paused: load.paused,
    busyCallsPerAgent: load.busyCallsPerAgent,
    agents,
    calls: { ringing: load.ringing, connected: load.connected },
    mails: {
      waiting: queue.waiting,
      offered: queue.offered,
      pendingReview: replies('pending_review'),
      sending: replies('approved') + replies('sending'),
      failed: replies('failed'),
      relayTrouble,
    },
    today: { date: today, timeZone: config.timeZone, hours },
    callQueue: {
      callers: callQueue.callers,
      abandonedToday: callQueue.abandonedAt.filter((at) => localParts(at, format).date === today).length,
    },
  };
}
