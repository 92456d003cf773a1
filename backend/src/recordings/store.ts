import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import {
  DEFAULT_RECORDING_SETTINGS,
  RecordingPolicy,
  type CallRecordingState,
  type Recording,
  type RecordingPause,
  type RecordingSettings,
} from '../../../shared/recordings.js';
import { recordAudit } from '../audit.js';
import type { Database } from '../db/schema.js';
import type { RecordingMarksTable, RecordingRow, RecordingsDatabase } from './schema.js';

/** A recorder that has not reported for this long counts as down. */
export const RECORDER_SILENT_AFTER_MS = 15_000;

export async function loadRecordingSettings(db: Kysely<RecordingsDatabase>, tenantId: string): Promise<RecordingSettings> {
  const row = await db
    .selectFrom('telephony_settings')
    .select(['recording_policy', 'recording_retention_days'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return DEFAULT_RECORDING_SETTINGS;
  let policy = DEFAULT_RECORDING_SETTINGS.policy;
  if (row.recording_policy !== null) {
    // Stored only after validation; a row that no longer parses means "off" rather than a 500.
    const parsed = RecordingPolicy.safeParse(JSON.parse(row.recording_policy));
    if (parsed.success) policy = parsed.data;
  }
  return { policy, retentionDays: row.recording_retention_days };
}

export async function saveRecordingSettings(db: Kysely<RecordingsDatabase>, tenantId: string, settings: RecordingSettings): Promise<void> {
  const values = {
    recording_policy: JSON.stringify(settings.policy),
    recording_retention_days: settings.retentionDays,
    updated_at: new Date().toISOString(),
  };
  await db
    .insertInto('telephony_settings')
    .values({
      tenant_id: tenantId,
      customer_id_header: null,
      after_call_work_seconds: null,
      dtmf_mode: null,
      ring_seconds: null,
      ...values,
    })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .execute();
}

/** Digits and a leading +: how the "numbers" policy compares what the PBX reports. */
function bareNumber(value: string): string {
  return value.trim().replace(/[^0-9+A-Za-z_]/g, '').replace(/^sip:/, '');
}

async function marksOf(db: Kysely<RecordingsDatabase>, tenantId: string, callId: string): Promise<RecordingMarksTable[]> {
  return db
    .selectFrom('recording_marks')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('call_id', '=', callId)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

/** Whether the tenant's policy keeps this call's recording. */
export async function policyKeeps(
  db: Kysely<RecordingsDatabase>,
  tenantId: string,
  call: { callId: string; from?: string | undefined; to?: string | undefined },
): Promise<{ keep: boolean; reason: string }> {
  const { policy } = await loadRecordingSettings(db, tenantId);
  switch (policy.mode) {
    case 'off':
      return { keep: false, reason: 'recording is off for this tenant' };
    case 'all':
      return { keep: true, reason: 'policy: all calls' };
    case 'numbers': {
      const wanted = new Set(policy.numbers.map(bareNumber));
      const numbers = [call.from, call.to].filter((n): n is string => n !== undefined).map(bareNumber);
      const legs = await db
        .selectFrom('calls')
        .select(['from_number', 'to_number'])
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', call.callId)
        .execute();
      for (const leg of legs) numbers.push(bareNumber(leg.from_number), bareNumber(leg.to_number));
      const hit = numbers.some((n) => wanted.has(n));
      return { keep: hit, reason: hit ? 'policy: a listed number' : 'policy: no listed number on this call' };
    }
    case 'on_demand': {
      const requested = (await marksOf(db, tenantId, call.callId)).some((m) => m.action === 'record');
      return { keep: requested, reason: requested ? 'policy: the operator asked to record' : 'policy: on demand, not asked' };
    }
    default: {
      const never: never = policy;
      throw new Error(`unknown recording policy ${JSON.stringify(never)}`);
    }
  }
}

/** Pause/resume marks as stretches in ms from `startedAt`, clamped to the recording. */
export function pausesOf(marks: readonly Pick<RecordingMarksTable, 'action' | 'at'>[], startedAt: string, durationMs: number): RecordingPause[] {
  const start = Date.parse(startedAt);
  const clamp = (at: number) => Math.min(durationMs, Math.max(0, Math.round(at - start)));
  const pauses: RecordingPause[] = [];
  let pausedAt: number | null = null;
  for (const mark of marks) {
    if (mark.action === 'pause' && pausedAt === null) pausedAt = Date.parse(mark.at);
    if (mark.action === 'resume' && pausedAt !== null) {
      pauses.push({ fromMs: clamp(pausedAt), toMs: clamp(Date.parse(mark.at)) });
      pausedAt = null;
    }
  }
  if (pausedAt !== null) pauses.push({ fromMs: clamp(pausedAt), toMs: durationMs });
  return pauses.filter((p) => p.toMs > p.fromMs);
}

export async function toRecording(db: Kysely<RecordingsDatabase>, row: RecordingRow): Promise<Recording> {
  const marks = await marksOf(db, row.tenant_id, row.call_id);
  return {
    id: row.id,
    callId: row.call_id,
    customerId: row.customer_id,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    mimeType: row.mime_type,
    pauses: pausesOf(marks, row.started_at, row.duration_ms),
    legalHold: row.legal_hold === 1,
    legalHoldReason: row.legal_hold_reason,
  };
}

export async function isPaused(db: Kysely<RecordingsDatabase>, tenantId: string, callId: string): Promise<boolean> {
  let paused = false;
  for (const mark of await marksOf(db, tenantId, callId)) {
    if (mark.action === 'pause') paused = true;
    if (mark.action === 'resume') paused = false;
  }
  return paused;
}

export async function addMark(db: Kysely<RecordingsDatabase>, tenantId: string, callId: string, action: RecordingMarksTable['action'], userId: string): Promise<void> {
  await db.insertInto('recording_marks').values({ id: randomUUID(), tenant_id: tenantId, call_id: callId, action, user_id: userId, at: new Date().toISOString() }).execute();
}

export async function recorderUp(db: Kysely<RecordingsDatabase>, tenantId: string, now = Date.now()): Promise<boolean> {
  const rows = await db.selectFrom('recorder_health').select(['ok', 'reported_at']).where('tenant_id', '=', tenantId).execute();
  return rows.some((row) => row.ok === 1 && now - Date.parse(row.reported_at) < RECORDER_SILENT_AFTER_MS);
}

/** What the operator's call card shows for this call. */
export async function callRecordingState(db: Kysely<RecordingsDatabase>, tenantId: string, callId: string): Promise<CallRecordingState> {
  const { policy } = await loadRecordingSettings(db, tenantId);
  const wanted = policy.mode === 'on_demand' ? (await marksOf(db, tenantId, callId)).some((m) => m.action === 'record') : (await policyKeeps(db, tenantId, { callId })).keep;
  const mayRecord = policy.mode === 'on_demand' && !wanted;
  if (!wanted) return { state: 'off', mayRecord };
  if (!(await recorderUp(db, tenantId))) return { state: 'unavailable', mayRecord: false };
  return { state: (await isPaused(db, tenantId, callId)) ? 'paused' : 'recording', mayRecord: false };
}

/**
 * The retention job: deletes every recording older than its tenant's retention, except those
 * under legal hold; the row goes first (so a second backend instance running the same sweep
 * finds nothing to do), then the file; each deletion is audited.
 */
export async function sweepExpiredRecordings(db: Kysely<RecordingsDatabase>, dir: string, now = new Date()): Promise<string[]> {
  const tenants = await db
    .selectFrom('telephony_settings')
    .select(['tenant_id', 'recording_retention_days'])
    .where('recording_retention_days', 'is not', null)
    .execute();
  const deleted: string[] = [];
  for (const tenant of tenants) {
    const days = tenant.recording_retention_days;
    if (days === null) continue;
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    const expired = await db
      .selectFrom('recordings')
      .selectAll()
      .where('tenant_id', '=', tenant.tenant_id)
      .where('legal_hold', '=', 0)
      .where('created_at', '<', cutoff)
      .limit(500)
      .execute();
    for (const row of expired) {
      const gone = await db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('recordings').where('id', '=', row.id).where('legal_hold', '=', 0).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) return false;
        await recordAudit(trx as unknown as Kysely<Database>, {
          tenantId: row.tenant_id,
          userId: null,
          action: 'recording_deleted',
          customerId: row.customer_id,
          details: { recordingId: row.id, callId: row.call_id, reason: `retention: older than ${days} days`, sha256: row.sha256 },
        });
        return true;
      });
      if (!gone) continue;
      await rm(path.join(dir, row.file_name), { force: true });
      deleted.push(row.id);
    }
  }
  return deleted;
}
