import { z } from 'zod';
import { Id, IsoTime } from './domain.js';

/**
 * Call recordings (issue 11): the tenant's policy, the recordings of a call contact, their
 * playback, legal hold and retention, and the PBX side's routes that deliver finished files.
 * The audio itself never enters the app's offline cache: it streams from the backend.
 */
export const RECORDING_API = {
  /** GET ?contactId= → RecordingListResponse (403 when the user may not see the contact's customer). */
  list: '/api/recordings',
  /** POST → RecordingTicketResponse: a short-lived URL the app's <audio> element may load. */
  ticket: '/api/recordings/:id/ticket',
  /** GET ?ticket= → the audio, with HTTP Range; every ticket's first use is audited. */
  audio: '/api/recording-audio/:id',
  /** PUT LegalHoldRequest (supervisors and admins) → Recording. */
  legalHold: '/api/recordings/:id/legal-hold',
  /** GET / PUT RecordingSettings (admins change them). */
  settings: '/api/recordings/settings',
  /** POST RecordingControlRequest (the call's agent): pause, resume, or record now (on demand). */
  control: '/api/recordings/control',
  /** GET ?callId= → CallRecordingState: what the call card shows. */
  callState: '/api/recordings/call-state',
  /** PBX: POST the finished audio (body audio/mpeg) with RecordingIngestQuery in the query. */
  ctiIngest: '/api/cti/recordings',
  /** PBX: GET ?tenant=&callId= → CtiRecordingCommand (is the operator's pause on?). */
  ctiCommand: '/api/cti/recordings/command',
  /** PBX: POST RecorderHealth, every few seconds while the PBX runs. */
  ctiHealth: '/api/cti/recordings/health',
} as const;

/** A queue or dialled number, or an E.164 caller number, as the PBX reports them. */
const PolicyNumber = z.string().trim().regex(/^\+?[0-9A-Za-z_-]{1,32}$/, 'must be a number: digits, an optional leading +');

export const RecordingPolicy = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }).strict(),
  z.object({ mode: z.literal('all') }).strict(),
  /** Calls to or from one of these numbers (a queue number, a DID, a caller). */
  z.object({ mode: z.literal('numbers'), numbers: z.array(PolicyNumber).min(1, 'must name at least one number').max(200) }).strict(),
  /** Only calls whose operator pressed "record" during the call. */
  z.object({ mode: z.literal('on_demand') }).strict(),
]);
export type RecordingPolicy = z.infer<typeof RecordingPolicy>;

export const RecordingSettings = z
  .object({
    policy: RecordingPolicy,
    /** Recordings older than this are deleted by the retention job, unless under legal hold; null keeps them. */
    retentionDays: z.number().int().min(1).max(36_500).nullable(),
  })
  .strict();
export type RecordingSettings = z.infer<typeof RecordingSettings>;

export const DEFAULT_RECORDING_SETTINGS: RecordingSettings = { policy: { mode: 'off' }, retentionDays: null };

/** A stretch of the call that was not recorded, in ms from the recording's start. */
export const RecordingPause = z.object({ fromMs: z.number().int().min(0), toMs: z.number().int().min(0) });
export type RecordingPause = z.infer<typeof RecordingPause>;

export const Recording = z.object({
  id: Id,
  callId: z.string(),
  customerId: Id.nullable(),
  startedAt: IsoTime,
  durationMs: z.number().int().min(0),
  sizeBytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mimeType: z.string(),
  pauses: z.array(RecordingPause),
  legalHold: z.boolean(),
  legalHoldReason: z.string().nullable(),
});
export type Recording = z.infer<typeof Recording>;

export const RecordingListQuery = z.object({ contactId: Id });
export const RecordingListResponse = z.object({ recordings: z.array(Recording) });
export type RecordingListResponse = z.infer<typeof RecordingListResponse>;

export const RecordingTicketRequest = z.object({ purpose: z.enum(['play', 'download']) }).strict();
export type RecordingTicketRequest = z.infer<typeof RecordingTicketRequest>;
/** `path` is relative to the backend's base URL; the ticket in it expires at `expiresAt`. */
export const RecordingTicketResponse = z.object({ path: z.string(), expiresAt: IsoTime });
export type RecordingTicketResponse = z.infer<typeof RecordingTicketResponse>;

export const LegalHoldRequest = z.object({ hold: z.boolean(), reason: z.string().trim().min(1, 'must say why').max(500) }).strict();
export type LegalHoldRequest = z.infer<typeof LegalHoldRequest>;

export const RecordingControlRequest = z
  .object({ callId: z.string().trim().min(1).max(200), action: z.enum(['pause', 'resume', 'record']) })
  .strict();
export type RecordingControlRequest = z.infer<typeof RecordingControlRequest>;

/**
 * What the call card shows. `unavailable`: the policy wants this call recorded but the PBX's
 * recorder is down or silent; the call goes on regardless.
 */
export const CallRecordingState = z.object({
  state: z.enum(['off', 'recording', 'paused', 'unavailable']),
  /** Whether the operator may press "record" (on-demand policy, not yet recording). */
  mayRecord: z.boolean(),
});
export type CallRecordingState = z.infer<typeof CallRecordingState>;

export const RecordingIngestQuery = z.object({
  tenant: z.string().trim().min(1).max(100),
  callId: z.string().trim().min(1).max(200),
  /** When the first recorded packet arrived (ISO time). */
  startedAt: IsoTime,
  durationMs: z.coerce.number().int().min(0).max(24 * 3_600_000),
  /** The caller and the called number as the PBX saw them, for the "numbers" policy. */
  from: z.string().max(100).optional(),
  to: z.string().max(100).optional(),
});
export type RecordingIngestQuery = z.infer<typeof RecordingIngestQuery>;

export const RecordingIngestResponse = z.object({ kept: z.boolean(), id: Id.nullable(), reason: z.string() });
export type RecordingIngestResponse = z.infer<typeof RecordingIngestResponse>;

export const CtiRecordingCommandQuery = z.object({ tenant: z.string().trim().min(1).max(100), callId: z.string().trim().min(1).max(200) });
export const CtiRecordingCommand = z.object({ paused: z.boolean() });
export type CtiRecordingCommand = z.infer<typeof CtiRecordingCommand>;

export const RecorderHealth = z.object({ tenant: z.string().trim().min(1).max(100), ok: z.boolean(), detail: z.string().max(300) }).strict();
export type RecorderHealth = z.infer<typeof RecorderHealth>;
