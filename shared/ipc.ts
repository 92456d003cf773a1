import { z } from 'zod';
import {
  CallbackTemplateInput,
  CallbackTemplateResponse,
  CallbackText,
  CallForYou,
  CallKey,
  CallsForYouResponse,
  CallsForYouScope,
  HandleCallFields,
  Seminar,
} from './calls-for-you.js';
import {
  AgentStatus,
  Assignee,
  AuditPage,
  AuditQuery,
  Callback,
  CallbackTask,
  CallHistoryEntry,
  CustomerUpdate,
  CustomerCreate,
  CustomerRecord,
  CustomerSummary,
  FaxPagesView,
  MailMatchRequest,
  MailOfferResponse,
  MailQueueEvent,
  MailTemplate,
  MailView,
  OUTBOX_ENTRY_TYPES,
  ReplyApproveRequest,
  ReplyDraftRequest,
  ReplyReturnRequest,
  ReplyState,
  ReplyView,
  ReviewQueueItem,
  SupervisorSummary,
} from './api.js';
import { Contact, Customer, Id, Incident, IncidentStatus, IsoTime, User } from './domain.js';
import { OwnHelpRequest, OwnHelpState } from './monitoring.js';
import { CallRecordingState, RecordingControlRequest, RecordingListResponse, RecordingTicketRequest } from './recordings.js';
import { MONITOR_IPC_CHANNELS } from './monitor-ipc.js';
import {
  ExchangeCreateRequest,
  ExchangeDownload,
  ExchangeExportSummary,
  ExchangeFormat,
  ExchangePreview,
  ExchangePreviewRequest,
  PartnerOrg,
} from './exchange.js';
import { PORTAL_IPC_CHANNELS } from './portal.js';
import { CALLME_IPC_CHANNELS, CALLME_IPC_EVENTS } from './callme.js';
import { SCREEN_SYNC_IPC_CHANNELS } from './screen-sync.js';
import { REP_ROUTING_IPC_CHANNELS } from './rep-requests.js';
import { ERROR_CODES, type Result } from './result.js';
import { ReportPage, ReportQuery } from './reports.js';
import { TelephonySettings } from './telephony-settings.js';
import { ADMIN_IPC_CHANNELS } from './admin.js';

/**
 * The IPC contract between the renderer and the desktop core: every channel, its request
 * schema and its result schema are declared here and nowhere else. Both shells (Electron's
 * ipcMain/contextBridge and the browser shell's loopback WebSocket) carry exactly this.
 *
 * To add a channel: (1) add it to IPC_CHANNELS below, (2) add its handler to the table in
 * electron/core/handlers.ts (the compiler insists), (3) call it from the renderer through
 * `invoke` in renderer/src/api.ts. Nothing else declares a channel.
 */

export const SessionInfo = z.object({
  user: User,
  tenant: z.object({ id: Id, name: z.string(), defaultRegion: z.string().length(2) }),
  backendUrl: z.string(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/**
 * The operator's status as the core holds it: the latest choice, when it was made, and whether
 * the backend has it. A choice made offline stays unconfirmed and is sent when the backend is
 * back (the newest by `changedAt` wins there). `error`: the backend refused it (offline is not
 * an error, only unconfirmed); the operator retries by choosing again.
 */
export const AgentStatusState = z.object({
  status: AgentStatus,
  changedAt: IsoTime,
  confirmed: z.boolean(),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }).nullable(),
});
export type AgentStatusState = z.infer<typeof AgentStatusState>;

export const SYNC_PHASES = ['signed_out', 'snapshot', 'deltas', 'idle', 'offline', 'error'] as const;
/**
 * What is wrong with the local cache itself, said in one sentence in the status area:
 * damaged and being rebuilt from the server, its folder read-only, or its disk full.
 */
export const CACHE_PROBLEMS = ['rebuilt_corrupt', 'rebuilt_unreadable', 'read_only', 'disk_full'] as const;
export const CacheProblem = z.enum(CACHE_PROBLEMS);
export type CacheProblem = z.infer<typeof CacheProblem>;
export const SyncStatus = z.object({
  phase: z.enum(SYNC_PHASES),
  online: z.boolean(),
  lastSyncedAt: IsoTime.nullable(),
  pendingOutbox: z.number().int().min(0),
  /** Set during the first sync (snapshot), for the progress bar. */
  progress: z.object({ done: z.number().int().min(0), total: z.number().int().min(0) }).nullable(),
  lastError: z.string().nullable(),
  cachedCustomers: z.number().int().min(0),
  /** The backend instance the core talks to now (one of TSUNAGU_BACKEND_URL's list); absent when signed out. */
  backend: z.string().optional(),
  /** Absent or null while the cache is healthy. */
  cacheProblem: CacheProblem.nullable().optional(),
  /** With `rebuilt_corrupt`: unsent entries of the damaged cache that could not be read back (0 when all were kept). */
  lostOutbox: z.number().int().min(0).optional(),
});
export type SyncStatus = z.infer<typeof SyncStatus>;

/** A contact as the app shows it: `pending` while it waits in the outbox. */
export const CachedContact = Contact.extend({ pending: z.boolean() });
export type CachedContact = z.infer<typeof CachedContact>;

export const DATA_SOURCES = ['cache', 'online'] as const;
export const CustomerDetail = z.object({
  customer: Customer,
  incidents: z.array(Incident),
  contacts: z.array(CachedContact),
  source: z.enum(DATA_SOURCES),
});
export type CustomerDetail = z.infer<typeof CustomerDetail>;

/** A search result: the customer, and which of its numbers the query matched (if it was a number). */
export const SearchHit = CustomerSummary.extend({ matchedPhone: z.string().nullable() });
export type SearchHit = z.infer<typeof SearchHit>;

/** Paging stops here: a query with this many matches needs refining, not more pages. */
export const MAX_SEARCH_OFFSET = 500;

export const SearchResult = z.object({
  customers: z.array(SearchHit),
  source: z.enum(DATA_SOURCES),
  /** How many customers match; a lower bound when `totalExact` is false ("120+"). */
  total: z.number().int().min(0),
  totalExact: z.boolean(),
});
export type SearchResult = z.infer<typeof SearchResult>;

export const SipCredentials = z.object({
  /** ws:// or wss:// URL of the PBX's SIP WebSocket. */
  wsUrl: z.string(),
  /** The agent's address of record, sip:user@domain. */
  aor: z.string(),
  username: z.string(),
  password: z.string(),
  expiresAt: IsoTime,
  displayName: z.string(),
});
export type SipCredentials = z.infer<typeof SipCredentials>;

export { DEFAULT_DISPOSITIONS, Disposition, TelephonySettings } from './telephony-settings.js';

export const CALL_EVENTS = ['ringing', 'answered', 'missed', 'rejected', 'transferred', 'ended'] as const;
export const CallEventInput = z.object({
  callId: z.string().min(1).max(200),
  event: z.enum(CALL_EVENTS),
  direction: z.enum(['inbound', 'outbound']),
  /** The other party's number as E.164 when it parsed, else as received (bounded). */
  remote: z.string().max(100),
  customerId: Id.nullable(),
  at: IsoTime,
  transferTarget: z.string().max(100).optional(),
});
export type CallEventInput = z.infer<typeof CallEventInput>;

/**
 * A call event the backend refused (after the core had queued it): kept on this computer and
 * shown to the operator, who may send it again or discard it. Never dropped silently.
 */
export const RefusedCallEvent = z.object({
  id: z.uuid(),
  input: CallEventInput,
  /** The backend's error code (invalid_input, forbidden, not_found) and its message. */
  code: z.string().max(50),
  message: z.string().max(500),
  refusedAt: IsoTime,
});
export type RefusedCallEvent = z.infer<typeof RefusedCallEvent>;

export const CallWrapUpInput = z.object({
  callId: z.string().min(1).max(200),
  customerId: Id,
  /** An existing incident, or null with `newIncidentTitle` to open one. */
  incidentId: Id.nullable(),
  newIncidentTitle: z.string().trim().min(1).max(300).nullable(),
  direction: z.enum(['inbound', 'outbound']),
  summary: z.string().trim().min(1, 'must not be empty').max(500),
  body: z.string().max(20_000).default(''),
  disposition: z.string().min(1).max(50),
  callbackNeeded: z.boolean(),
  /** When the callback is due; only with callbackNeeded. */
  callbackDueAt: IsoTime.nullable().optional(),
  remote: z.string().max(100),
  startedAt: IsoTime,
  answeredAt: IsoTime.nullable(),
  endedAt: IsoTime,
}).refine((v) => (v.incidentId === null) !== (v.newIncidentTitle === null), 'exactly one of incidentId and newIncidentTitle');
export type CallWrapUpInput = z.infer<typeof CallWrapUpInput>;

/**
 * The operator's call history. Online it is the backend's (every leg that rang for them or that
 * they placed); offline the last copy the backend gave, with the calls since then that this
 * computer saw. `missedUnseen` counts missed calls since the history was last opened (the badge).
 */
/** What the list shows: the backend's answer (or its last copy) with handling still in the outbox. */
export const CallsForYouView = CallsForYouResponse.extend({
  entries: z.array(CallForYou.extend({ pending: z.boolean() })),
  source: z.enum(['online', 'cache']),
});
export type CallsForYouView = z.infer<typeof CallsForYouView>;

export const CallHistoryView = z.object({
  calls: z.array(
    CallHistoryEntry.extend({
      /** Seen on this computer and not yet confirmed by the backend. */
      local: z.boolean(),
    }),
  ),
  callbacks: z.array(Callback.extend({ pending: z.boolean() })),
  missedUnseen: z.number().int().min(0),
  seenAt: IsoTime.nullable(),
  source: z.enum(DATA_SOURCES),
});
export type CallHistoryView = z.infer<typeof CallHistoryView>;

export const CallbackListView = z.object({
  mine: z.array(CallbackTask.extend({ pending: z.boolean() })),
  teamOverdue: z.array(CallbackTask),
  source: z.enum(DATA_SOURCES),
});
export type CallbackListView = z.infer<typeof CallbackListView>;

export const IncidentChanges = z
  .object({
    incidentId: Id,
    title: z.string().trim().min(1, 'must not be empty').max(300).optional(),
    status: IncidentStatus.optional(),
    assigneeId: Id.nullable().optional(),
  })
  .refine((v) => v.title !== undefined || v.status !== undefined || v.assigneeId !== undefined, 'give title, status or assigneeId');

export const PHONE_HOTKEY_ACTIONS = ['answer', 'hangup', 'hold', 'mute'] as const;

export const AppInfo = z.object({
  version: z.string(),
  shell: z.enum(['electron', 'browser']),
  locale: z.string(),
  backendUrl: z.string(),
});
export type AppInfo = z.infer<typeof AppInfo>;

const NoPayload = z.undefined().or(z.null()).or(z.object({}).strict());

// ─────────────────────────────────────────────────────────────────────────────────────────
// Mail: the e-mail channel, reply drafts and review, the supervisor's live view, and opening
// links from mail in the system browser (electron/core/mail.ts serves these channels).
// ─────────────────────────────────────────────────────────────────────────────────────────

/** Schemes a link in content may open outside the app; everything else is refused. */
export const EXTERNAL_URL_SCHEMES = ['http:', 'https:', 'mailto:'] as const;

/** The URL as it will be opened (normalised by the URL parser), or null when it must not be opened. */
export function toExternalUrl(raw: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    return null;
  }
  if (!(EXTERNAL_URL_SCHEMES as readonly string[]).includes(parsed.protocol)) return null;
  if (parsed.protocol !== 'mailto:' && parsed.hostname === '') return null;
  return parsed.href;
}

export const ExternalUrl = z
  .string()
  .max(4096)
  .refine((url) => toExternalUrl(url) !== null, 'must be an absolute http(s) or mailto URL');

/** A reply draft as the renderer saves it: its id is generated once by the renderer, so a retried save never makes a second draft. */
export const ReplySaveRequest = ReplyDraftRequest.extend({ replyId: z.uuid() });
export type ReplySaveRequest = z.infer<typeof ReplySaveRequest>;

/**
 * A draft kept on this computer until the backend takes it (saved while offline). `error` is
 * set when the backend refused it later: it is then kept for the operator and no longer sent.
 */
export const LocalReplyDraft = z.object({
  replyId: Id,
  mailId: Id.nullable(),
  /** A mail to a caller of "calls for you" (then mailId is null). */
  callKey: z.string().nullable(),
  subject: z.string().nullable(),
  body: z.string().nullable(),
  templateId: Id.nullable(),
  savedAt: IsoTime,
  error: z.string().nullable(),
});
export type LocalReplyDraft = z.infer<typeof LocalReplyDraft>;

export const ReplySaveResult = z.object({
  /** The backend's copy; null while the draft waits on this computer (`local`). */
  reply: ReplyView.nullable(),
  local: LocalReplyDraft.nullable(),
});
export type ReplySaveResult = z.infer<typeof ReplySaveResult>;

export const OpenExternalResult = z.object({
  url: z.string(),
  /**
   * True when the shell opened it (Electron: the system browser). False in the browser shell:
   * the renderer opens the returned URL with window.open(url, '_blank', 'noopener,noreferrer').
   */
  opened: z.boolean(),
});
export type OpenExternalResult = z.infer<typeof OpenExternalResult>;

/**
 * Remote images of a mail reach the app only through the core (mail:remoteImage), as data:
 * URLs, so neither the page nor the mail frame ever loads an http(s) image itself. Only raster
 * types: an SVG is a document that can carry script and further fetches.
 */
export const REMOTE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp'] as const;

/** Why the core did not hand back an image; the mail shows it as still hidden. */
export const REMOTE_IMAGE_REFUSALS = [
  /** The server took longer than the time limit (about 10 s). */
  'timeout',
  /** The body is larger than the size cap (about 5 MB). */
  'too_large',
  /** Not one of REMOTE_IMAGE_TYPES (SVG, HTML, no content type, …). */
  'not_an_image',
  /** More redirects than allowed, or a redirect to something other than http(s). */
  'bad_redirect',
  /** The server answered with an error status. */
  'http_error',
  /** No answer: unknown host, refused connection, broken transfer. */
  'unreachable',
] as const;
export type RemoteImageRefusal = (typeof REMOTE_IMAGE_REFUSALS)[number];

/** The URL as the core will fetch it, or null when it is not an absolute http(s) URL. */
export function toRemoteImageUrl(raw: string): string | null {
  const url = toExternalUrl(raw);
  return url !== null && /^https?:/i.test(url) ? url : null;
}

export const RemoteImageUrl = z
  .string()
  .max(4096)
  .refine((url) => toRemoteImageUrl(url) !== null, 'must be an absolute http(s) URL');

export const RemoteImageResult = z.discriminatedUnion('loaded', [
  z.object({ loaded: z.literal(true), dataUrl: z.string() }),
  z.object({ loaded: z.literal(false), refused: z.enum(REMOTE_IMAGE_REFUSALS), message: z.string() }),
]);
export type RemoteImageResult = z.infer<typeof RemoteImageResult>;

const ReplyRef = z.object({ replyId: Id });
const MailRef = z.object({ mailId: Id });

export const MAIL_IPC_CHANNELS = {
  /** The mail leased to me, or the next one (claims a lease); `not_available` when my status is not available. */
  'mail:offerNext': { request: NoPayload, result: MailOfferResponse },
  'mail:get': { request: MailRef, result: MailView },
  /** Gives the lease back: the mail is offered to someone else. */
  'mail:release': { request: MailRef, result: z.null() },
  /** Closes a mail that needs no reply. */
  'mail:close': { request: MailRef.extend({ note: z.string().trim().max(2000).default('') }), result: MailView },
  'mail:templates': { request: NoPayload, result: z.array(MailTemplate) },
  /** Mails that point at an incident without proof, waiting for an operator to match them (online only). */
  'mail:needingMatch': { request: NoPayload, result: z.array(MailView) },
  /** Files such a mail into the incident it points at, or keeps it with its sender; then it joins the queue. */
  'mail:match': { request: MailRef.extend({ target: MailMatchRequest.shape.target }), result: MailView },
  /** Saves a draft; offline it is kept on this computer and sent when the backend is reachable. */
  'reply:save': { request: ReplySaveRequest, result: ReplySaveResult },
  /** draft → pending_review (online only; a draft still waiting on this computer is sent first). */
  'reply:submit': { request: ReplyRef, result: ReplyView },
  'reply:myReplies': { request: z.object({ state: ReplyState.optional() }), result: z.array(ReplyView) },
  /** Drafts still on this computer: waiting for the backend, or refused by it. */
  'reply:localDrafts': { request: NoPayload, result: z.array(LocalReplyDraft) },
  'reply:discardLocal': { request: ReplyRef, result: z.null() },
  /** Supervisors: replies pending review, oldest first, beside the mail and incident history. */
  'review:queue': { request: NoPayload, result: z.array(ReviewQueueItem) },
  /** Needs the backend: `offline` when it cannot be reached. `body` is the reviewer's edit. */
  'review:approve': { request: ReplyRef.extend({ body: ReplyApproveRequest.shape.body }), result: ReplyView },
  'review:return': { request: ReplyRef.extend({ comment: ReplyReturnRequest.shape.comment }), result: ReplyView },
  'review:failed': { request: NoPayload, result: z.array(ReplyView) },
  'review:requeue': { request: ReplyRef, result: ReplyView },
  'supervisor:summary': { request: NoPayload, result: SupervisorSummary },
  /** A remote image of a mail, fetched by the core without cookies and returned as a data: URL (see RemoteImageResult). */
  'mail:remoteImage': { request: z.object({ url: RemoteImageUrl }), result: RemoteImageResult },
  /** The mail or fax behind an email/fax contact of the incident tree (online only). */
  'mail:byContact': { request: z.object({ contactId: Id }), result: MailView },
  /** A fax attachment as PNG pages rendered by the backend: pictures only, nothing runs or loads. */
  'mail:faxPages': { request: z.object({ attachmentId: Id }), result: FaxPagesView },
  /** A kept attachment's bytes (base64) for a download the user asked for; the backend checks and audits it. */
  'mail:attachment': {
    request: z.object({ attachmentId: Id }),
    result: z.object({ filename: z.string(), contentType: z.string(), base64: z.string() }),
  },
  /** A mail's original message (.eml, base64) for a download the user asked for; the backend checks and audits it. */
  'mail:raw': { request: z.object({ mailId: Id }), result: z.object({ filename: z.string(), base64: z.string() }) },
  /** Opens a link from content outside the app, only http(s) and mailto (see OpenExternalResult). */
  'shell:openExternal': { request: z.object({ url: ExternalUrl }), result: OpenExternalResult },
} as const;
export type MailIpcChannel = keyof typeof MAIL_IPC_CHANNELS;

/** Core → renderer events of the mail channel, relayed from the backend's /api/mail/events. */
export const MAIL_IPC_EVENTS = {
  /** The mail queue changed: an idle operator's app asks for the next mail. */
  'mail:queue': MailQueueEvent,
  'supervisor:summary': SupervisorSummary,
  /** The drafts kept on this computer changed (one was sent, or refused). */
  'mail:localDrafts': z.object({ drafts: z.array(LocalReplyDraft) }),
} as const;

/**
 * Call recordings and help on a call (issue 11): online only, answered by the backend through
 * electron/core/recordings.ts. Nothing of a recording is kept in the cache; `recordings:ticket`
 * gives the player an absolute URL on the backend (its ticket is short-lived, its first use audited).
 */
export const RECORDING_IPC_CHANNELS = {
  /** The recordings of a call contact; `forbidden` when the user may not see its customer. */
  'recordings:list': { request: z.object({ contactId: Id }), result: RecordingListResponse },
  'recordings:ticket': {
    request: z.object({ recordingId: Id, purpose: RecordingTicketRequest.shape.purpose }),
    result: z.object({ url: z.string(), expiresAt: IsoTime }),
  },
  /** What the call card shows about the recording of a call (by its SIP Call-ID). */
  'recordings:callState': { request: z.object({ callId: RecordingControlRequest.shape.callId }), result: CallRecordingState },
  /** Pause, resume or (on demand) start recording the operator's own call; audited by the backend. */
  'recordings:control': { request: RecordingControlRequest, result: CallRecordingState },
  'help:state': { request: OwnHelpRequest, result: OwnHelpState },
  /** Asks for a supervisor on the operator's own connected call (once; audited). */
  'help:request': { request: OwnHelpRequest, result: OwnHelpState },
} as const;

export const IPC_CHANNELS = {
  'app:info': { request: NoPayload, result: AppInfo },
  'session:login': {
    request: z.object({
      tenant: z.string().trim().min(1).max(100),
      login: z.string().trim().min(1).max(200),
      password: z.string().min(1).max(1000),
    }),
    result: SessionInfo,
  },
  'session:logout': { request: NoPayload, result: z.null() },
  'session:current': { request: NoPayload, result: SessionInfo.nullable() },
  'sync:status': { request: NoPayload, result: SyncStatus },
  'sync:now': { request: NoPayload, result: SyncStatus },
  'customers:search': {
    request: z.object({
      query: z.string().max(200),
      limit: z.number().int().min(1).max(100).optional(),
      /** Skips this many ranked results: the next page. */
      offset: z.number().int().min(0).max(MAX_SEARCH_OFFSET).optional(),
    }),
    result: SearchResult,
  },
  'customers:get': { request: z.object({ customerId: Id }), result: CustomerDetail },
  /** Screen pop: an IVR customer id wins over the number. Null when nobody matches. */
  'customers:lookupCaller': {
    request: z
      .object({ phone: z.string().max(64).optional(), customerId: Id.optional() })
      .refine((v) => v.phone !== undefined || v.customerId !== undefined, 'phone or customerId is required'),
    result: CustomerDetail.nullable(),
  },
  /** Short-lived SIP credentials from the backend; kept in memory only, never on disk. */
  'sip:credentials': { request: NoPayload, result: SipCredentials },
  /** Tenant telephony settings the softphone needs (cached for offline use). */
  'telephony:settings': { request: NoPayload, result: TelephonySettings },
  /** Ringing / answered / missed / transferred / ended: audited on the backend (queued while offline). */
  'calls:event': { request: CallEventInput, result: z.null() },
  /** Call events the backend refused, newest last (also pushed as the `calls:refused` event). */
  'calls:refused': { request: NoPayload, result: z.array(RefusedCallEvent) },
  /** Sends a refused call event again (it joins the queue) or discards it for good (logged). */
  'calls:resendRefused': { request: z.object({ id: z.uuid() }), result: z.array(RefusedCallEvent) },
  'calls:discardRefused': { request: z.object({ id: z.uuid() }), result: z.array(RefusedCallEvent) },
  /** The wrap-up form: saved through the outbox, shown at once as a pending call contact. */
  'calls:wrapUp': { request: CallWrapUpInput, result: CachedContact },
  /** Records the choice at once (unconfirmed) and sends it; offline it is sent when the backend is back. */
  'agent:setStatus': { request: z.object({ status: AgentStatus }), result: AgentStatusState },
  /** The latest choice of this session, null before the first. */
  'agent:status': { request: NoPayload, result: AgentStatusState.nullable() },
  /** "Create customer" from an unregistered caller's panel (online; needs the right to). */
  'customers:create': { request: CustomerCreate, result: CustomerDetail },
  /** A new incident outside a wrap-up, through the outbox: shown at once, works offline. */
  'incidents:create': {
    request: z.object({ customerId: Id, title: z.string().trim().min(1, 'must not be empty').max(300), assigneeId: Id.nullable() }),
    result: Incident,
  },
  /** Rename, close, reopen, reassign, through the outbox. */
  'incidents:update': { request: IncidentChanges, result: Incident },
  /** A contact (a mail with it) into another incident of the same customer, through the outbox. */
  'contacts:move': { request: z.object({ contactId: Id, incidentId: Id }), result: CachedContact },
  /** Who an incident of this customer may be assigned to (online; the last answer offline). */
  'customers:assignees': { request: z.object({ customerId: Id }), result: z.array(Assignee) },
  /** Edits a customer's details (online: a customer number must stay unique). */
  'customers:update': { request: z.object({ customerId: Id, changes: CustomerUpdate }), result: CustomerDetail },
  'calls:history': { request: NoPayload, result: CallHistoryView },
  /** The operator opened the history: missed calls until now are seen (the badge clears). */
  'calls:historySeen': { request: NoPayload, result: CallHistoryView },
  /** The missed-call badge alone, for while the history is not on screen (no list fetched). */
  'calls:historyCounts': { request: NoPayload, result: CallHistoryView.pick({ missedUnseen: true }) },
  /** The callback worklist (online; the last answer offline), with callbacks still in the outbox. */
  'callbacks:list': { request: NoPayload, result: CallbackListView },
  /** Marks a callback done by hand, through the outbox. */
  'callbacks:complete': { request: z.object({ callbackId: Id }), result: z.null() },
  /** "Calls for you": online from the backend, offline from the last copy; handled-but-unsent entries shown as pending. */
  'callsForYou:list': { request: z.object({ scope: CallsForYouScope }), result: CallsForYouView },
  /**
   * The same list's counts alone, with pending marks applied: what the top bar, the work-area
   * nav and the reminder show while the list is not on screen. The whole list grows with every
   * call of the shift and was sent and parsed after every sync that brought anything.
   */
  'callsForYou:counts': { request: z.object({ scope: CallsForYouScope }), result: CallsForYouResponse.shape.counts },
  /** Marks a call handled through the outbox (works offline; the backend applies it once). */
  'callsForYou:handle': { request: z.object(HandleCallFields), result: z.null() },
  /** The tenant's template filled in for one call (online). */
  'callsForYou:callbackText': { request: z.object({ callKey: CallKey }), result: CallbackText },
  'callsForYou:template': { request: NoPayload, result: CallbackTemplateResponse },
  /** Admins only (the backend enforces it). */
  'callsForYou:saveTemplate': { request: CallbackTemplateInput, result: CallbackTemplateResponse },
  /** Coming seminars with seats left (online; the last answer offline). */
  'callsForYou:seminars': { request: NoPayload, result: z.array(Seminar) },
  'notes:add': {
    request: z.object({ incidentId: Id, body: z.string().trim().min(1, 'must not be empty').max(20_000) }),
    result: CachedContact,
  },
  /**
   * System-wide phone hotkeys. The Electron shell registers them as global shortcuts and
   * reports presses as `system:shortcut`; the browser shell cannot (`global: false`) and the
   * renderer keeps its in-window hotkeys.
   */
  'system:globalShortcuts': {
    request: z.object({
      bindings: z.array(z.object({ action: z.enum(PHONE_HOTKEY_ACTIONS), combo: z.string().max(60) })).max(PHONE_HOTKEY_ACTIONS.length),
    }),
    result: z.object({ global: z.boolean(), registered: z.array(z.enum(PHONE_HOTKEY_ACTIONS)) }),
  },
  /** The audit viewer (admins, supervisors; online only): one page of events, newest first. */
  'audit:list': { request: AuditQuery, result: AuditPage },
  /** The same filters as a CSV text the renderer saves as a file. */
  'audit:exportCsv': { request: AuditQuery.omit({ cursor: true, limit: true }), result: z.object({ filename: z.string(), csv: z.string() }) },
  /** Reports (admins, supervisors; online only): one page of groups with their figures (shared/reports.ts). */
  'reports:page': { request: ReportQuery, result: ReportPage },
  /** The same report for every group as a CSV text the renderer saves as a file. */
  'reports:exportCsv': { request: ReportQuery.omit({ cursor: true, limit: true }), result: z.object({ filename: z.string(), csv: z.string() }) },
  // Mail (see MAIL_IPC_CHANNELS above)
  ...MAIL_IPC_CHANNELS,
  ...RECORDING_IPC_CHANNELS,
  ...MONITOR_IPC_CHANNELS,
  // The PII-stripped exchange (shared/exchange.ts; served by electron/core/exchange.ts): online only.
  'exchange:list': { request: NoPayload, result: z.array(ExchangeExportSummary) },
  'exchange:partners': { request: NoPayload, result: z.array(z.string()) },
  'exchange:preview': { request: ExchangePreviewRequest, result: ExchangePreview },
  'exchange:create': { request: ExchangeCreateRequest, result: ExchangeExportSummary },
  'exchange:share': { request: z.object({ exportId: Id, partnerOrg: PartnerOrg }), result: ExchangeExportSummary },
  'exchange:download': { request: z.object({ exportId: Id, format: ExchangeFormat }), result: ExchangeDownload },
  // The customer portal's staff side (shared/portal.ts)
  ...PORTAL_IPC_CHANNELS,
  // "Call me" offers (shared/callme.ts; served by electron/core/callme.ts): online only.
  ...CALLME_IPC_CHANNELS,
  // The admin console (shared/admin.ts; served by electron/core/admin.ts): online only.
  ...ADMIN_IPC_CHANNELS,
  // Screen sync (shared/screen-sync.ts; served by electron/core/screen-sync.ts): online only.
  ...SCREEN_SYNC_IPC_CHANNELS,
  // "Contact my rep" routing, admins (shared/rep-requests.ts)
  ...REP_ROUTING_IPC_CHANNELS,
} as const;

export type IpcChannel = keyof typeof IPC_CHANNELS;

/** The desk's channels (incidents, customer edits, call history): served by electron/core/desk.ts. */
export type DeskIpcChannel = Extract<
  IpcChannel,
  | 'incidents:create'
  | 'incidents:update'
  | 'contacts:move'
  | 'customers:assignees'
  | 'customers:update'
  | 'calls:history'
  | 'calls:historySeen'
  | 'calls:historyCounts'
  | 'callbacks:list'
  | 'callbacks:complete'
>;
/** The admin console's channels: served by electron/core/admin.ts. */
export type AdminIpcChannel = Extract<IpcChannel, `admin:${string}`>;
/** The customer portal's staff channels: served by electron/core/portal.ts. */
export type PortalIpcChannel = Extract<IpcChannel, `portal:${string}`>;
/** Screen sync's channels: served by electron/core/screen-sync.ts. */
export type ScreenSyncIpcChannel = Extract<IpcChannel, `screenSync:${string}`>;
/** "Contact my rep" routing channels: served by electron/core/rep-routing.ts. */
export type RepRoutingIpcChannel = Extract<IpcChannel, `repRouting:${string}`>;
/** The "calls for you" channels: served by electron/core/calls-for-you.ts. */
export type CallsForYouIpcChannel = Extract<IpcChannel, `callsForYou:${string}`>;

export type IpcRequest<C extends IpcChannel> = z.input<(typeof IPC_CHANNELS)[C]['request']>;
export type IpcResult<C extends IpcChannel> = z.infer<(typeof IPC_CHANNELS)[C]['result']>;

/** Core → renderer events. */
/** What the backend did with outbox entries (notes, wrap-ups) it was just sent. */
export const OutboxDelivery = z.object({
  entries: z.array(
    z.object({
      /** The id the app gave the entry, which is also the id of its pending contact. */
      clientId: z.string(),
      /** What the entry was (a note, a logged call, an incident change…), so a summary can count them. */
      type: z.enum(OUTBOX_ENTRY_TYPES),
      outcome: z.enum(['sent', 'rejected']),
      error: z.string().nullable(),
    }),
  ),
});
export type OutboxDelivery = z.infer<typeof OutboxDelivery>;

export const IPC_EVENTS = {
  'sync:status': SyncStatus,
  'outbox:delivered': OutboxDelivery,
  'session:expired': z.object({ reason: z.string() }),
  /** The operator's status changed, or the backend confirmed or refused it. */
  'agent:status': AgentStatusState,
  /** The backend refused a queued call event, or the operator resent or discarded one. */
  'calls:refused': z.object({ refused: z.array(RefusedCallEvent) }),
  /** A global phone hotkey was pressed (Electron shell only). */
  'system:shortcut': z.object({ action: z.enum(PHONE_HOTKEY_ACTIONS) }),
  /** The computer woke from sleep or was unlocked (Electron's powerMonitor): the phone re-registers. */
  'system:resumed': z.object({ reason: z.enum(['resume', 'unlock-screen']) }),
  ...MAIL_IPC_EVENTS,
  ...CALLME_IPC_EVENTS,
} as const;
export type IpcEvent = keyof typeof IPC_EVENTS;
export type IpcEventPayload<E extends IpcEvent> = z.infer<(typeof IPC_EVENTS)[E]>;

/** What `window.tsunagu` is, in both shells. */
export interface TsunaguBridge {
  invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>>;
  on<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void;
}

/** The core's handler table; a missing channel is a compile error. */
export type IpcHandlerTable = {
  [C in IpcChannel]: (payload: z.infer<(typeof IPC_CHANNELS)[C]['request']>) => Promise<IpcResult<C>>;
};

/**
 * Wire format of the browser shell's WebSocket (JSON text frames) at ws://127.0.0.1:PORT/ipc.
 *
 * Every window has its own session on the host (its own core, cache and phone). The first
 * frame must be a hello:
 * - `{type: 'hello', launchCode}` for a new window: the one-time code from its URL fragment
 *   (the launcher's `--app=…#launch=CODE`, or a code the app asked for to open another
 *   window). The host spends the code, opens a new window session and answers
 *   `{type: 'welcome', windowSecret}`; the code is worthless after that, so seeing it in a
 *   process list or a log line gives nobody a window.
 * - `{type: 'hello', windowSecret}` when the same window reconnects (a reload, a dropped
 *   socket): the secret is only ever in this window's sessionStorage and on the wire.
 * Anything else closes the socket with 4401. A second socket presenting the same window
 * secret (a duplicated tab) takes the session over; the first is closed with 4409.
 * `{type: 'launchUrl', id}` asks for the URL of another new window, answered like a request.
 */
export const ShellHelloFrame = z.union([
  z.object({ type: z.literal('hello'), launchCode: z.string().min(16).max(200) }).strict(),
  z.object({ type: z.literal('hello'), windowSecret: z.string().min(16).max(200) }).strict(),
]);
export type ShellHelloFrame = z.infer<typeof ShellHelloFrame>;
export const ShellWelcomeFrame = z.object({ type: z.literal('welcome'), windowSecret: z.string().min(16).max(200) });
export type ShellWelcomeFrame = z.infer<typeof ShellWelcomeFrame>;
export const ShellLaunchUrlFrame = z.object({ type: z.literal('launchUrl'), id: z.number().int().min(0) }).strict();
export const SHELL_CLOSE_UNAUTHORISED = 4401;
/** The window's session was taken over by another tab with the same window secret. */
export const SHELL_CLOSE_TAKEN_OVER = 4409;

export const ShellRequestFrame = z.object({
  id: z.number().int().min(0),
  channel: z.string().max(100),
  // Absent for channels without a payload: JSON drops `undefined`.
  payload: z.unknown().optional(),
});
export type ShellResponseFrame = { id: number; result: Result<unknown> };
export type ShellEventFrame = { event: IpcEvent; payload: unknown };

export function isIpcChannel(name: string): name is IpcChannel {
  return Object.prototype.hasOwnProperty.call(IPC_CHANNELS, name);
}

export type { CustomerRecord };

/** The recording and help channels: served by electron/core/recordings.ts. */
export type RecordingIpcChannel = keyof typeof RECORDING_IPC_CHANNELS;
