import { z } from 'zod';
import { Id, IsoTime } from './domain.js';

/**
 * Screen sync (issue 10 item 7): during a call the customer shares their portal page. The portal
 * records it with rrweb and posts batches of events; the backend relays them to the operator of
 * that call only, once the operator has entered the six-digit code the customer read out; the
 * operator's app replays them in a sandboxed frame and may point at an element, which the
 * customer sees highlighted. Backend: backend/src/screen-sync. Portal: portal/src/ScreenShare.tsx.
 * App: electron/core/screen-sync.ts, renderer/src/screen-sync.
 */

/**
 * `pending`: the customer pressed "share" and sees the code; `active`: the operator entered it;
 * `ended`: see ScreenSyncEndReason.
 */
export const SCREEN_SYNC_STATES = ['pending', 'active', 'ended'] as const;
export const ScreenSyncState = z.enum(SCREEN_SYNC_STATES);
export type ScreenSyncState = z.infer<typeof ScreenSyncState>;

export const SCREEN_SYNC_END_REASONS = ['customer_stopped', 'operator_stopped', 'call_ended', 'expired', 'locked', 'replaced'] as const;
export const ScreenSyncEndReason = z.enum(SCREEN_SYNC_END_REASONS);
export type ScreenSyncEndReason = z.infer<typeof ScreenSyncEndReason>;

/** How long a code may wait for the operator, and how many wrong codes end the share. */
export const SCREEN_SYNC_CODE_MINUTES = 5;
export const SCREEN_SYNC_MAX_CODE_ATTEMPTS = 5;
/** Bounds of what the portal sends: per batch, per session and per few seconds. */
export const SCREEN_SYNC_LIMITS = {
  eventsPerBatch: 500,
  /** The body of one batch (a first full snapshot of a portal page is well under this). */
  batchBytes: 1024 * 1024,
  /** What a session may hold since its latest full snapshot (older batches are dropped). */
  storedBytes: 8 * 1024 * 1024,
  batchesPerWindow: 40,
  windowSeconds: 10,
} as const;

/** The rrweb event types the relay looks at (rrweb's EventType): a Meta event starts a full snapshot. */
export const RRWEB_META_EVENT = 4;

/**
 * One rrweb event as the relay sees it: an object with a numeric type and timestamp; the rest
 * is rrweb's and passes through untouched (the replayer in the app's sandboxed frame reads it).
 */
export const RecordedEvent = z.looseObject({ type: z.number().int().min(0).max(100), timestamp: z.number() });
export type RecordedEvent = z.infer<typeof RecordedEvent>;

/** A highlight the operator asks for: an element of the customer's page (rrweb's node id) and the point clicked. */
export const ScreenSyncPointer = z
  .object({
    nodeId: z.number().int().min(0).max(100_000_000).nullable(),
    x: z.number().min(0).max(100_000),
    y: z.number().min(0).max(100_000),
  })
  .strict();
export type ScreenSyncPointer = z.infer<typeof ScreenSyncPointer>;

export const ScreenSyncHighlight = ScreenSyncPointer.extend({ seq: z.number().int().min(1), at: IsoTime });
export type ScreenSyncHighlight = z.infer<typeof ScreenSyncHighlight>;

// ---- The portal's side (customer session, below /portal/:tenant) ----

export const PORTAL_SCREEN_SYNC_API = {
  /** POST {} → PortalScreenShare (201): a new share of the customer's connected call, with its code. */
  shares: '/api/screen-sync',
  /** GET → PortalScreenShare: state, and the operator's latest highlight. */
  share: '/api/screen-sync/:id',
  /** POST ScreenSyncBatch → ScreenSyncBatchResult. */
  events: '/api/screen-sync/:id/events',
  /** POST {} → PortalScreenShare: the customer stops sharing. */
  stop: '/api/screen-sync/:id/stop',
} as const;

export const PortalScreenShare = z.object({
  id: Id,
  state: ScreenSyncState,
  endReason: ScreenSyncEndReason.nullable(),
  /** Only while pending: the six digits the customer reads to the operator. */
  code: z.string().regex(/^\d{6}$/).nullable(),
  expiresAt: IsoTime,
  highlight: ScreenSyncHighlight.nullable(),
});
export type PortalScreenShare = z.infer<typeof PortalScreenShare>;

export const ScreenSyncBatch = z
  .object({
    /** 1, 2, 3… per share: a batch sent twice is stored once. */
    seq: z.number().int().min(1).max(10_000_000),
    events: z.array(RecordedEvent).min(1).max(SCREEN_SYNC_LIMITS.eventsPerBatch),
  })
  .strict();
export type ScreenSyncBatch = z.infer<typeof ScreenSyncBatch>;
export const ScreenSyncBatchResult = z.object({ stored: z.boolean(), state: ScreenSyncState });
export type ScreenSyncBatchResult = z.infer<typeof ScreenSyncBatchResult>;

// ---- The operator's side (staff session) ----

export const SCREEN_SYNC_API = {
  /** POST ScreenSyncJoin → ScreenSyncView: binds the share of this call to its operator. */
  join: '/api/screen-sync/join',
  /** GET ?after=seq → ScreenSyncFeed. */
  feed: '/api/screen-sync/:id',
  /** POST ScreenSyncPointer → ScreenSyncView. */
  highlight: '/api/screen-sync/:id/highlight',
  /** POST {} → ScreenSyncView. */
  stop: '/api/screen-sync/:id/stop',
} as const;

export function screenSyncPath(route: string, id: string): string {
  return route.replace(':id', encodeURIComponent(id));
}

export const ScreenSyncCode = z.string().trim().regex(/^\d{6}$/, 'must be the six digits the customer reads out');

export const ScreenSyncJoin = z.object({ sipCallId: z.string().trim().min(1).max(200), code: ScreenSyncCode }).strict();
export type ScreenSyncJoin = z.infer<typeof ScreenSyncJoin>;

export const ScreenSyncView = z.object({
  id: Id,
  state: ScreenSyncState,
  endReason: ScreenSyncEndReason.nullable(),
  callId: Id,
  customerId: Id,
  startedAt: IsoTime.nullable(),
  endedAt: IsoTime.nullable(),
});
export type ScreenSyncView = z.infer<typeof ScreenSyncView>;

export const ScreenSyncFeedQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });
export const ScreenSyncFeed = z.object({
  session: ScreenSyncView,
  /**
   * Batches after `after`, oldest first. When the operator is behind the latest full snapshot
   * (a first read, or a gap), the feed starts at it and `reset` says to rebuild from there.
   */
  reset: z.boolean(),
  batches: z.array(z.object({ seq: z.number().int(), events: z.array(RecordedEvent) })),
});
export type ScreenSyncFeed = z.infer<typeof ScreenSyncFeed>;

const SessionRef = z.object({ sessionId: Id }).strict();

/** The staff app's channels (spread into IPC_CHANNELS; served by electron/core/screen-sync.ts). All online. */
export const SCREEN_SYNC_IPC_CHANNELS = {
  'screenSync:join': { request: ScreenSyncJoin, result: ScreenSyncView },
  'screenSync:feed': { request: SessionRef.extend({ after: z.number().int().min(0) }), result: ScreenSyncFeed },
  'screenSync:highlight': { request: SessionRef.extend({ pointer: ScreenSyncPointer }), result: ScreenSyncView },
  'screenSync:stop': { request: SessionRef, result: ScreenSyncView },
} as const;
