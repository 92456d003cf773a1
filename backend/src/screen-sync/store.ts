import { createHash, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAudit } from '../audit.js';
import type { Database } from '../db/schema.js';
import type { PortalScreenShare, ScreenSyncEndReason, ScreenSyncHighlight, ScreenSyncState, ScreenSyncView } from '../../../shared/screen-sync.js';
import { ScreenSyncHighlight as HighlightSchema } from '../../../shared/screen-sync.js';
import { telephonyDb, type TelephonyDatabase } from '../telephony/schema.js';

/** Table types of screen sync (migration 022_screen_sync). Same conventions as db/schema.ts. */
export interface ScreenSyncSessionsTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  call_id: string;
  /** The operator the call was connected to when the customer pressed "share". */
  agent_id: string;
  /** SHA-256 of `${id}:${code}`: the code itself is never stored. */
  code_hash: string;
  code_attempts: number;
  state: ScreenSyncState;
  end_reason: ScreenSyncEndReason | null;
  created_at: string;
  expires_at: string;
  started_at: string | null;
  ended_at: string | null;
  /** JSON ScreenSyncHighlight: the operator's latest pointer. */
  highlight: string | null;
  window_started_at: string;
  window_batches: number;
  stored_bytes: number;
}

export interface ScreenSyncBatchesTable {
  session_id: string;
  seq: number;
  /** 1 when the batch starts a full snapshot: the replay can start from it, and older batches are dropped. */
  checkout: number;
  bytes: number;
  /** The batch's rrweb events as JSON. */
  events: string;
  received_at: string;
}

type ScreenSyncTables = { screen_sync_sessions: ScreenSyncSessionsTable; screen_sync_batches: ScreenSyncBatchesTable };
export type ScreenSyncDatabase = TelephonyDatabase & ScreenSyncTables;

export function screenSyncDb(db: Kysely<Database>): Kysely<ScreenSyncDatabase> {
  return telephonyDb(db).withTables<ScreenSyncTables>();
}

export function codeHash(sessionId: string, code: string): string {
  return createHash('sha256').update(`${sessionId}:${code}`).digest('hex');
}

export function sameCode(storedHash: string, sessionId: string, code: string): boolean {
  const candidate = codeHash(sessionId, code);
  return candidate.length === storedHash.length && timingSafeEqual(Buffer.from(candidate), Buffer.from(storedHash));
}

export type SessionRow = ScreenSyncSessionsTable & { call_status: string; call_agent_id: string | null };

export async function loadSession(db: Kysely<ScreenSyncDatabase>, tenantId: string, id: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom('screen_sync_sessions as s')
    .innerJoin('calls as k', 'k.id', 's.call_id')
    .selectAll('s')
    .select(['k.status as call_status', 'k.agent_id as call_agent_id'])
    .where('s.tenant_id', '=', tenantId)
    .where('s.id', '=', id)
    .executeTakeFirst();
}

/**
 * Ends a share once (a second end, from the other side or a racing poll, changes nothing),
 * drops its relayed events and audits who ended it. Returns the row as it now is.
 */
export async function endSession(db: Kysely<ScreenSyncDatabase>, row: SessionRow, reason: ScreenSyncEndReason, userId: string | null): Promise<SessionRow> {
  if (row.state === 'ended') return row;
  const now = new Date().toISOString();
  const ended = await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('screen_sync_sessions')
      .set({ state: 'ended', end_reason: reason, ended_at: now, stored_bytes: 0 })
      .where('id', '=', row.id)
      .where('state', '!=', 'ended')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await trx.deleteFrom('screen_sync_batches').where('session_id', '=', row.id).execute();
    await recordAudit(trx as unknown as Kysely<Database>, {
      tenantId: row.tenant_id,
      userId,
      action: 'screen_sync_ended',
      customerId: row.customer_id,
      details: { sessionId: row.id, callId: row.call_id, reason },
    });
    return true;
  });
  if (!ended) return (await loadSession(db, row.tenant_id, row.id)) ?? row;
  return { ...row, state: 'ended', end_reason: reason, ended_at: now, stored_bytes: 0 };
}

/**
 * A share ends with its call (or when the call is no longer with the operator it was bound to),
 * and a code nobody entered in time expires. Checked on every read and write of either side, so
 * no timer in one instance has to see it happen.
 */
export async function settle(db: Kysely<ScreenSyncDatabase>, row: SessionRow): Promise<SessionRow> {
  if (row.state === 'ended') return row;
  if (row.call_status !== 'connected' || row.call_agent_id !== row.agent_id) return endSession(db, row, 'call_ended', null);
  if (row.state === 'pending' && row.expires_at <= new Date().toISOString()) return endSession(db, row, 'expired', null);
  return row;
}

function highlightOf(row: SessionRow): ScreenSyncHighlight | null {
  if (row.highlight === null) return null;
  const parsed = HighlightSchema.safeParse(JSON.parse(row.highlight));
  return parsed.success ? parsed.data : null;
}

export function portalShareView(row: SessionRow, code: string | null = null): PortalScreenShare {
  return {
    id: row.id,
    state: row.state,
    endReason: row.end_reason,
    code: row.state === 'pending' ? code : null,
    expiresAt: row.expires_at,
    highlight: row.state === 'active' ? highlightOf(row) : null,
  };
}

export function operatorView(row: SessionRow): ScreenSyncView {
  return {
    id: row.id,
    state: row.state,
    endReason: row.end_reason,
    callId: row.call_id,
    customerId: row.customer_id,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}
