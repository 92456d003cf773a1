import type { ColumnType, Kysely, Selectable } from 'kysely';
import type { Database } from '../db/schema.js';
import type { TelephonyDatabase } from '../telephony/schema.js';

/** Tables of migration 017_recordings on top of telephony's. Same conventions as db/schema.ts. */
export type RecordingRow = Selectable<RecordingsTable>;

export interface RecordingsTable {
  id: string;
  tenant_id: string;
  /** The SIP Call-ID of the recorded call. */
  call_id: string;
  customer_id: string | null;
  /** The file's name inside the recordings folder. */
  file_name: string;
  mime_type: string;
  sha256: string;
  size_bytes: number;
  duration_ms: number;
  started_at: string;
  legal_hold: ColumnType<number, number | undefined, number>;
  legal_hold_reason: string | null;
  created_at: string;
}

export interface RecordingMarksTable {
  id: string;
  tenant_id: string;
  call_id: string;
  action: 'pause' | 'resume' | 'record';
  user_id: string;
  at: string;
}

export interface RecordingTicketsTable {
  token_hash: string;
  tenant_id: string;
  recording_id: string;
  user_id: string;
  purpose: 'play' | 'download';
  expires_at: string;
  used_at: string | null;
}

export interface RecorderHealthTable {
  tenant_id: string;
  pbx_id: string;
  ok: number;
  detail: string;
  reported_at: string;
}

export interface RecordingsDatabase extends Omit<TelephonyDatabase, 'telephony_settings'> {
  telephony_settings: TelephonyDatabase['telephony_settings'] & {
    /** JSON of shared/recordings.ts RecordingPolicy; null: recording off. */
    recording_policy: string | null;
    recording_retention_days: number | null;
  };
  recordings: RecordingsTable;
  recording_marks: RecordingMarksTable;
  recording_tickets: RecordingTicketsTable;
  recorder_health: RecorderHealthTable;
}

export function recordingsDb(db: Kysely<Database>): Kysely<RecordingsDatabase> {
  return db as unknown as Kysely<RecordingsDatabase>;
}
