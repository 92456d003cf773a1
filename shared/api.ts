import { z } from 'zod';
import { BranchCall, CallKey, HandleCallFields } from './calls-for-you.js';
import {
  CallMeta,
  Classification,
  Contact,
  Customer,
  CustomerType,
  Id,
  Incident,
  IncidentStatus,
  IsoTime,
  AuditAction,
  PhoneKind,
  User,
  UserRights,
} from './domain.js';

/**
 * The REST API between the app's core and the backend. Request schemas are enforced by the
 * backend (400 naming the field on failure) and response schemas are checked by the core.
 * Every route except login and health needs `Authorization: Bearer <token>`.
 */
export const API = {
  health: '/api/health',
  login: '/api/auth/login',
  logout: '/api/auth/logout',
  me: '/api/auth/me',
  syncSnapshot: '/api/sync/snapshot',
  syncChanges: '/api/sync/changes',
  syncPush: '/api/sync/push',
  events: '/api/events',
  customerSearch: '/api/customers/search',
  customerByPhone: '/api/customers/by-phone',
  customer: '/api/customers/:id',
  userRights: '/api/users/:id/rights',
  customers: '/api/customers',
  incidents: '/api/incidents',
  /** GET → CallHistoryResponse: the user's own calls and callbacks, newest first. */
  callHistory: '/api/calls/history',
  /** GET → CallbackListResponse: my open callbacks by due time, and my team's overdue ones. */
  callbacks: '/api/callbacks',
  /** GET → AssigneesResponse: the users an incident of this customer may be assigned to. */
  customerAssignees: '/api/customers/:id/assignees',
} as const;

export const ApiErrorBody = z.object({
  /** `retryAfterSeconds` comes with 429 `rate_limited`, beside the Retry-After header. */
  error: z.object({ code: z.string(), message: z.string(), retryAfterSeconds: z.number().int().min(0).optional() }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

export const LoginRequest = z.object({
  tenant: z.string().min(1).max(100),
  login: z.string().min(1).max(200),
  password: z.string().min(1).max(1000),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const LoginResponse = z.object({
  token: z.string(),
  expiresAt: IsoTime,
  user: User,
  tenant: z.object({ id: Id, name: z.string(), defaultRegion: z.string().length(2) }),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

/** A customer with everything the app caches about it. */
export const CustomerRecord = z.object({
  customer: Customer,
  incidents: z.array(Incident),
  contacts: z.array(Contact),
});
export type CustomerRecord = z.infer<typeof CustomerRecord>;

/**
 * First sync: pages of customers in id order. `highWaterSeq` is the change-log sequence
 * read when the snapshot began (page without `after`); the client keeps it with its page
 * cursor so an interrupted snapshot resumes, then pulls deltas after it.
 */
export const SnapshotQuery = z.object({
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  highWaterSeq: z.coerce.number().int().min(0).optional(),
  /**
   * Rights that grew: JSON of the rights the client's cache was complete for
   * (`{ role, branch, customerLimitAuthority }`); the pages then hold only the customers the
   * user's rights show now and those did not, so growing rights fetch only what became visible.
   */
  grownFrom: z.string().max(1000).optional(),
});
/** The part of `grownFrom` the backend reads (what decides which customers a user sees). */
export const GrownFromRights = UserRights.pick({ role: true, branch: true, customerLimitAuthority: true });
export type GrownFromRights = z.infer<typeof GrownFromRights>;
/**
 * A first-sync page as the app uses it. On the wire it travels as tables of rows
 * (shared/snapshot-wire.ts: `SNAPSHOT_COLUMNS`, read back with `decodeSnapshotPage`).
 */
export interface SnapshotPage {
  records: CustomerRecord[];
  nextAfter: string | null;
  highWaterSeq: number;
  /** Number of customers this user may see, for the progress bar. */
  total: number;
  rights: User;
  /**
   * The calls of "calls for you" this user may hold (every scope they may list), read with the
   * last page (empty on the others) so that a first sync or a resync carries them too.
   */
  branchCalls: BranchCall[];
}

export const ChangesQuery = z.object({
  after: z.coerce.number().int().min(0),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

/**
 * One entry of the feed. Upserts carry the current state of the customer record they touch
 * (idempotent for the client); `delete_customer` tells the client to drop a customer and
 * all its incidents and contacts (deleted, or no longer visible to this user).
 *
 * When a customer becomes visible to the user (its classification or branch changed), the
 * feed sends the whole record: `upsert_customer` followed by all its incidents and contacts
 * under the same `seq`. An incident or contact whose customer is not in the cache may be
 * skipped: it is part of a whole record that follows. When the user's rights grow (see
 * `ChangesPage.rights`), the client takes a new snapshot: deltas never backfill.
 */
export const Change = z.discriminatedUnion('op', [
  z.object({ seq: z.number().int(), op: z.literal('upsert_customer'), customer: Customer }),
  z.object({ seq: z.number().int(), op: z.literal('upsert_incident'), incident: Incident }),
  z.object({ seq: z.number().int(), op: z.literal('upsert_contact'), contact: Contact }),
  z.object({ seq: z.number().int(), op: z.literal('delete_customer'), customerId: Id }),
  z.object({ seq: z.number().int(), op: z.literal('delete_incident'), incidentId: Id }),
  z.object({ seq: z.number().int(), op: z.literal('delete_contact'), contactId: Id }),
  /** A call of "calls for you" in some scope of this user, as it stands now (legs, outcome, handled). */
  z.object({ seq: z.number().int(), op: z.literal('upsert_branch_call'), call: BranchCall }),
  /** A call that left every scope of this user (its customer became more confidential, or was deleted). */
  z.object({ seq: z.number().int(), op: z.literal('delete_branch_call'), callKey: CallKey }),
]);
export type Change = z.infer<typeof Change>;

export const ChangesPage = z.object({
  changes: z.array(Change),
  /** The cursor to send next time; every change up to it has been delivered or filtered. */
  cursor: z.number().int().min(0),
  hasMore: z.boolean(),
  /**
   * The user's current rights. When they shrink the client purges, with the shared
   * `maySeeCustomer` rule, every cached customer it may no longer read.
   */
  rights: User,
  /** The user's previous sign-in: "calls for you" lists the calls since then (and older unhandled ones). */
  callsSince: IsoTime,
});
export type ChangesPage = z.infer<typeof ChangesPage>;

/** An outbox entry written in the app; `clientId` makes the push idempotent. */
export const OutboxEntry = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('add_note'),
    clientId: z.uuid(),
    incidentId: Id,
    body: z.string().trim().min(1, 'must not be empty').max(20_000),
    createdAt: IsoTime,
  }),
  /**
   * A call's wrap-up: becomes a contact of kind `call` in the chosen incident, or in a new
   * incident titled `newIncidentTitle` for `customerId`. Saved offline like a note.
   */
  z.object({
    type: z.literal('log_call'),
    clientId: z.uuid(),
    customerId: Id,
    incidentId: Id.nullable(),
    newIncidentTitle: z.string().trim().min(1).max(300).nullable(),
    direction: z.enum(['inbound', 'outbound']),
    summary: z.string().trim().max(500),
    body: z.string().max(20_000).default(''),
    callMeta: CallMeta,
    createdAt: IsoTime,
  }),
  /** A new incident outside a wrap-up; it takes `clientId` as its id (shown at once, pending). */
  z.object({
    type: z.literal('create_incident'),
    clientId: z.uuid(),
    customerId: Id,
    title: z.string().trim().min(1, 'must not be empty').max(300),
    assigneeId: Id.nullable(),
    createdAt: IsoTime,
  }),
  /** Rename, close, reopen or reassign (null: nobody); only the fields given change. */
  z.object({
    type: z.literal('update_incident'),
    clientId: z.uuid(),
    incidentId: Id,
    title: z.string().trim().min(1, 'must not be empty').max(300).optional(),
    status: IncidentStatus.optional(),
    assigneeId: Id.nullable().optional(),
    createdAt: IsoTime,
  }).refine((v) => v.title !== undefined || v.status !== undefined || v.assigneeId !== undefined, 'give title, status or assigneeId'),
  /** A contact (a mail with it) into another incident of the same customer. */
  z.object({
    type: z.literal('move_contact'),
    clientId: z.uuid(),
    contactId: Id,
    incidentId: Id,
    createdAt: IsoTime,
  }),
  /** A callback flagged in a wrap-up, marked done by hand. */
  z.object({
    type: z.literal('complete_callback'),
    clientId: z.uuid(),
    callbackId: Id,
    createdAt: IsoTime,
  }),
  /** A call in "calls for you" handled: a contact, a visit or a seminar booking (shared/calls-for-you.ts). */
  z.object({
    type: z.literal('handle_call'),
    clientId: z.uuid(),
    ...HandleCallFields,
    createdAt: IsoTime,
  }),
  /**
   * A customer's record shown from the app's cache (the backend never saw the read): audited
   * as `customer_viewed` at `createdAt`, the time of the view, once per clientId.
   */
  z.object({
    type: z.literal('customer_viewed'),
    clientId: z.uuid(),
    customerId: Id,
    via: z.enum(['cache_open', 'cache_screen_pop']),
    createdAt: IsoTime,
  }),
]);
export type OutboxEntry = z.infer<typeof OutboxEntry>;
export const OUTBOX_ENTRY_TYPES = OutboxEntry.options.map((option) => option.shape.type.value) as [OutboxEntry['type'], ...OutboxEntry['type'][]];

export const PushRequest = z.object({ entries: z.array(OutboxEntry).min(1).max(500) });
export type PushRequest = z.infer<typeof PushRequest>;

export const PushResult = z.object({
  clientId: z.string(),
  status: z.enum(['applied', 'duplicate', 'rejected']),
  contactId: Id.nullable(),
  error: z.string().nullable(),
});
export const PushResponse = z.object({ results: z.array(PushResult) });
export type PushResponse = z.infer<typeof PushResponse>;

export const SearchQuery = z.object({
  q: z.string().trim().min(1).max(200),
  limit: z.coerce.number().int().min(1).max(100).default(30),
});
export const CustomerSummary = Customer.pick({
  id: true,
  code: true,
  name: true,
  nameKana: true,
  phones: true,
  emails: true,
  address: true,
  classification: true,
  type: true,
  branch: true,
});
export type CustomerSummary = z.infer<typeof CustomerSummary>;
export const SearchResponse = z.object({ customers: z.array(CustomerSummary) });
export type SearchResponse = z.infer<typeof SearchResponse>;

export const ByPhoneQuery = z.object({ phone: z.string().min(1).max(64) });
export const ByPhoneResponse = z.object({ record: CustomerRecord.nullable() });
export type ByPhoneResponse = z.infer<typeof ByPhoneResponse>;

export const RightsUpdate = z
  .object({
    customerLimitAuthority: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
    branch: z.string().max(100).nullable().optional(),
    mayHandleUnregisteredCallers: z.boolean().optional(),
    callsViewOnly: z.boolean().optional(),
    callsAllBranches: z.boolean().optional(),
  })
  .refine(
    (v) => Object.keys(v).length > 0,
    'at least one of customerLimitAuthority, branch, mayHandleUnregisteredCallers, callsViewOnly, callsAllBranches',
  );

/** Server-sent event names on GET /api/events. `changed` carries a `ChangedEvent`. */
export const SSE_EVENTS = ['changed', 'ping'] as const;

/**
 * The data of a `changed` event:
 * - `{ seq }`: the change log advanced to `seq`; an app whose cursor is behind pulls;
 * - `{ seq, rights: true }`: this user's rights changed (no log entry names that): pull;
 * - `{ seq, from, changes }`, a delta: the changes after `from` up to `seq` that this user may
 *   see, exactly as a pull after `from` would have given them (backend/src/sync/delta-pokes.ts).
 *   An app whose cursor is within `[from, seq)` applies those with a `seq` above its cursor and
 *   moves its cursor to `seq` without pulling; one behind `from` (a gap) pulls.
 */
export const ChangedEvent = z.object({
  seq: z.number().int().nonnegative(),
  rights: z.literal(true).optional(),
  from: z.number().int().nonnegative().optional(),
  changes: z.array(Change).optional(),
});
export type ChangedEvent = z.infer<typeof ChangedEvent>;

/** GET /api/auth/me: the session's user (with current rights) and tenant. */
export const MeResponse = z.object({
  user: User,
  tenant: z.object({ id: Id, name: z.string(), defaultRegion: z.string().length(2) }),
  expiresAt: IsoTime,
});
export type MeResponse = z.infer<typeof MeResponse>;

/** A phone number as a person writes it; the backend normalises it to E.164 with the tenant's region. */
export const PhoneInput = z
  .object({
    number: z.string().trim().min(1).max(64),
    /** Omitted: guessed from the number (mobile ranges are known per country). */
    kind: PhoneKind.optional(),
  })
  .strict();
export type PhoneInput = z.infer<typeof PhoneInput>;

const customerFields = {
  code: z.string().trim().min(1).max(40),
  name: z.string().trim().min(1).max(200),
  nameKana: z.string().trim().max(200),
  phones: z.array(PhoneInput).max(20),
  emails: z.array(z.email()).max(20),
  postalCode: z.string().trim().max(20),
  address: z.string().trim().max(400),
  branch: z.string().trim().min(1).max(100).nullable(),
  assignedRepId: Id.nullable(),
  classification: Classification,
  type: CustomerType,
};

/** POST /api/customers (supervisors, admins, and users who may handle unregistered callers). */
export const CustomerCreate = z
  .object({
    ...customerFields,
    nameKana: customerFields.nameKana.default(''),
    phones: customerFields.phones.default([]),
    emails: customerFields.emails.default([]),
    postalCode: customerFields.postalCode.default(''),
    address: customerFields.address.default(''),
    /** Omitted: the creating user's branch. */
    branch: customerFields.branch.optional(),
    assignedRepId: customerFields.assignedRepId.default(null),
    classification: customerFields.classification.default(3),
    type: customerFields.type.default('new'),
  })
  .strict();
export type CustomerCreate = z.infer<typeof CustomerCreate>;

/**
 * PATCH /api/customers/:id: only the fields given change; `phones` and `emails` replace the
 * whole list. Classification, branch and assigned rep are for supervisors and admins.
 */
export const CustomerUpdate = z
  .object(customerFields)
  .partial()
  .strict()
  .refine((v) => Object.values(v).some((value) => value !== undefined), 'give at least one field to change');
export type CustomerUpdate = z.infer<typeof CustomerUpdate>;

export const CustomerResponse = z.object({ customer: Customer });
export type CustomerResponse = z.infer<typeof CustomerResponse>;

/** POST /api/incidents: a new incident of a customer the user may see. */
export const IncidentCreate = z
  .object({
    customerId: Id,
    title: z.string().trim().min(1).max(300),
    status: IncidentStatus.default('open'),
    assigneeId: Id.nullable().default(null),
  })
  .strict();
export type IncidentCreate = z.infer<typeof IncidentCreate>;

export const IncidentResponse = z.object({ incident: Incident });
export type IncidentResponse = z.infer<typeof IncidentResponse>;

/** PATCH /api/users/:id/rights answers with the user as changed. */
export const UserResponse = z.object({ user: User });
export type UserResponse = z.infer<typeof UserResponse>;

// ─────────────────────────────────────────────────────────────────────────────────────────
// E-mail channel, reply review, agent presence and the supervisor's live view
// (backend/src/mail). Every route needs `Authorization: Bearer <token>` like the rest.
// ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * Routes of the e-mail channel. Methods:
 * - agentStatus PUT {status, changedAt?} → AgentStatusResponse; agentHeartbeat POST → AgentPresence (every ≤ 30 s
 *   while the app is open: an operator silent for 60 s has disconnected and loses their lease).
 * - mailOffer POST → MailOfferResponse: the mail leased to me, or the next one (claims a lease).
 * - mailMessage GET → MailView; mailByContact GET → MailView (the mail behind an email/fax contact).
 * - mailRaw GET → the .eml (download only); mailAttachment GET → the file (download only,
 *   `application/octet-stream`, never rendered by the browser).
 * - mailRelease POST → 204 (give the lease back); mailClose POST MailCloseRequest → MailView
 *   (no reply needed).
 * - mailsNeedingMatch GET → MailsNeedingMatchResponse: mails that point at an incident without
 *   proof (not offered until matched); mailMatch POST MailMatchRequest → MailView (file it into
 *   the incident it points at, or keep it with its sender).
 * - mailTemplates GET → MailTemplatesResponse, POST MailTemplateInput → MailTemplate
 *   (supervisor/admin); mailTemplate PUT MailTemplateInput → MailTemplate, DELETE → 204.
 * - reply GET → ReplyView; PUT ReplyDraftRequest → ReplyView (creates the draft with this
 *   client-generated id, or updates it: idempotent, so the app's outbox may retry it);
 *   DELETE → 204 (discard a draft).
 * - replySubmit POST → ReplyView (draft → pending_review; the mail counts as answered).
 * - reviewQueue GET → ReviewQueueResponse (supervisor/admin; oldest first).
 * - replyApprove POST ReplyApproveRequest → ReplyView (supervisor/admin, not the author).
 * - replyReturn POST ReplyReturnRequest → ReplyView (supervisor/admin, not the author).
 * - myReplies GET ?state= → RepliesResponse (my replies, e.g. the returned ones with comment).
 * - failedReplies GET → RepliesResponse (supervisor/admin: relay refused or send interrupted).
 * - replyRequeue POST → ReplyView (supervisor/admin: send a failed reply again).
 * - supervisorSummary GET → SupervisorSummary (supervisor/admin).
 * - mailEvents GET: Server-Sent Events, see MAIL_SSE_EVENTS (token in the header only).
 * - mailSettings GET → MailSettings (any user), PUT MailSettingsUpdate → MailSettings (admin).
 * - mailAddresses GET → MailAddressesResponse (supervisor/admin), POST MailAddressInput →
 *   MailAddress (admin); mailAddress DELETE → 204 (admin).
 */
export const MAIL_API = {
  agentStatus: '/api/agents/me/status',
  agentHeartbeat: '/api/agents/me/heartbeat',
  mailOffer: '/api/mail/offer',
  mailMessage: '/api/mail/messages/:id',
  mailByContact: '/api/mail/by-contact/:contactId',
  mailRaw: '/api/mail/messages/:id/raw',
  mailAttachment: '/api/mail/attachments/:id',
  mailRelease: '/api/mail/messages/:id/release',
  mailClose: '/api/mail/messages/:id/close',
  mailsNeedingMatch: '/api/mail/needs-matching',
  mailMatch: '/api/mail/messages/:id/match',
  mailTemplates: '/api/mail/templates',
  mailTemplate: '/api/mail/templates/:id',
  reply: '/api/mail/replies/:id',
  replySubmit: '/api/mail/replies/:id/submit',
  replyApprove: '/api/mail/replies/:id/approve',
  replyReturn: '/api/mail/replies/:id/return',
  replyRequeue: '/api/mail/replies/:id/requeue',
  myReplies: '/api/mail/my-replies',
  reviewQueue: '/api/mail/review-queue',
  failedReplies: '/api/mail/failed-replies',
  supervisorSummary: '/api/mail/supervisor/summary',
  mailEvents: '/api/mail/events',
  mailSettings: '/api/mail/settings',
  mailAddresses: '/api/mail/addresses',
  mailAddress: '/api/mail/addresses/:address',
  /** A fax attachment rendered to PNG pages on the backend (FaxPagesView). */
  faxPages: '/api/mail/attachments/:id/fax-pages',
} as const;

/** A fax as pictures only: PNG pages (base64), so nothing in the document can run or load. */
export const FaxPagesView = z.object({
  attachmentId: Id,
  /** Pages in the document; more than `pages.length` when it was cut at the page limit. */
  pageCount: z.number().int().min(0),
  pages: z.array(z.object({ pngBase64: z.string() })),
});
export type FaxPagesView = z.infer<typeof FaxPagesView>;

export const AGENT_STATUSES = ['available', 'on_call', 'after_call_work', 'break', 'offline'] as const;
export const AgentStatus = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof AgentStatus>;

/**
 * `changedAt`: when the operator chose the status (the app's clock). The app re-sends a status
 * chosen offline once it is back, so a change may arrive late: the backend keeps the newest by
 * this time and answers `applied: false` to an older one. Without it the change always applies.
 */
export const AgentStatusRequest = z.object({ status: AgentStatus, changedAt: IsoTime.optional() }).strict();
export type AgentStatusRequest = z.infer<typeof AgentStatusRequest>;

export const AgentPresence = z.object({
  userId: Id,
  status: AgentStatus,
  since: IsoTime,
  lastSeenAt: IsoTime,
});
export type AgentPresence = z.infer<typeof AgentPresence>;

/** The answer to a status change: the presence in force, and whether this change is what put it there. */
export const AgentStatusResponse = AgentPresence.extend({ applied: z.boolean() });
export type AgentStatusResponse = z.infer<typeof AgentStatusResponse>;

export const MailAttachmentInfo = z.object({
  id: Id,
  filename: z.string(),
  contentType: z.string(),
  size: z.number().int().min(0),
  /** Refused attachments keep only this metadata; there is nothing to download. */
  rejected: z.enum(['too_large', 'type_not_allowed', 'too_many']).nullable(),
});
export type MailAttachmentInfo = z.infer<typeof MailAttachmentInfo>;

export const MAIL_QUEUE_STATES = ['waiting', 'answered', 'closed'] as const;
export const THREAD_MATCHES = ['in_reply_to', 'references', 'subject_token', 'sender', 'new_customer'] as const;
/**
 * Why a mail needs matching. unknown_sender: it points at an incident, but its sender is not one
 * of that customer's addresses. customer_mismatch: its sender is another customer's address.
 * unverified_token: its subject token lacks the incident's key (an old or a guessed token).
 */
export const MATCH_PROBLEMS = ['unknown_sender', 'customer_mismatch', 'unverified_token'] as const;
export const MatchProblem = z.enum(MATCH_PROBLEMS);
export type MatchProblem = z.infer<typeof MatchProblem>;

/** The incident a mail points at, when the user may see its customer. */
export const ClaimedIncident = z.object({
  incidentId: Id,
  incidentRef: z.string().nullable(),
  incidentTitle: z.string(),
  customerId: Id,
  customerName: z.string(),
});
export type ClaimedIncident = z.infer<typeof ClaimedIncident>;

/**
 * An inbound mail. `html` was sanitised by the backend, but it is still untrusted: sanitise it
 * again and show it only in a sandboxed frame with a CSP that blocks script and remote content.
 */
export const MailView = z.object({
  id: Id,
  kind: z.enum(['email', 'fax']),
  messageId: z.string(),
  subject: z.string(),
  fromAddress: z.string(),
  fromName: z.string(),
  replyTo: z.string().nullable(),
  to: z.array(z.string()),
  cc: z.array(z.string()),
  /** Our address it was delivered to. */
  recipientAddress: z.string(),
  receivedAt: IsoTime,
  /** The sender's Date header, if it parsed (the sender's clock: do not sort by it). */
  dateHeader: IsoTime.nullable(),
  text: z.string(),
  html: z.string().nullable(),
  rawSize: z.number().int().min(0),
  rawTruncated: z.boolean(),
  attachments: z.array(MailAttachmentInfo),
  customerId: Id,
  customerName: z.string(),
  incidentId: Id,
  /** `INC-123`; null for an incident that has never had mail. */
  incidentRef: z.string().nullable(),
  incidentTitle: z.string(),
  contactId: Id,
  threadMatch: z.enum(THREAD_MATCHES),
  queueState: z.enum(MAIL_QUEUE_STATES),
  leaseUserId: Id.nullable(),
  leaseExpiresAt: IsoTime.nullable(),
  handledBy: Id.nullable(),
  closeNote: z.string().nullable(),
  /** needs_matching: filed with its sender meanwhile, and not offered until an operator matches it. */
  matchState: z.enum(['matched', 'needs_matching']),
  matchProblem: MatchProblem.nullable(),
  /** What the mail pointed at; null when it pointed at nothing or at a customer the user may not see. */
  claimedIncident: ClaimedIncident.nullable(),
  /** The mail pointed at an incident of a customer this user may not see. */
  claimedIncidentHidden: z.boolean(),
  /** The sender's address is one of the mail's customer's addresses. */
  senderKnown: z.boolean(),
  /** Other customers (that the user may see) whose address the sender is: a mismatch to show. */
  senderCustomers: z.array(z.object({ id: Id, name: z.string() })),
  /** The mail's customer's known addresses: where replies go unless the author chooses otherwise. */
  customerEmails: z.array(z.string()),
  /** The sanitiser could not keep all of the HTML part's text: say so, and offer the plain text. */
  htmlLostText: z.boolean(),
  /** A fax's sender number (E.164) as its gateway named it; a fax is never answered by e-mail. */
  faxSender: z.string().nullable().optional(),
});
export type MailView = z.infer<typeof MailView>;

export const MailsNeedingMatchResponse = z.object({ mails: z.array(MailView) });
export type MailsNeedingMatchResponse = z.infer<typeof MailsNeedingMatchResponse>;

/**
 * claimed: move the mail into the incident it pointed at (the operator has seen the warning);
 * sender: it belongs with its sender, where it is filed already. Either way it joins the queue.
 */
export const MailMatchRequest = z.object({ target: z.enum(['claimed', 'sender']) }).strict();
export type MailMatchRequest = z.infer<typeof MailMatchRequest>;

/**
 * POST mailOffer. offered: `mail` is leased to me until `leaseExpiresAt` (saving a draft for it
 * extends the lease); none: the queue has nothing for me; paused: calls are waiting, answer
 * those first; not_available: my status is not `available`.
 */
export const MailOfferResponse = z.object({
  status: z.enum(['offered', 'none', 'paused', 'not_available']),
  mail: MailView.nullable(),
  leaseExpiresAt: IsoTime.nullable(),
  agentStatus: AgentStatus,
});
export type MailOfferResponse = z.infer<typeof MailOfferResponse>;

export const MailCloseRequest = z.object({ note: z.string().trim().max(2000).default('') }).strict();
export type MailCloseRequest = z.infer<typeof MailCloseRequest>;

/** Placeholders a template may use; anything else in `{{…}}` is refused when it is saved. */
export const TEMPLATE_PLACEHOLDERS = ['customerName', 'incidentRef', 'operatorName'] as const;

export const MailTemplate = z.object({
  id: Id,
  name: z.string(),
  subject: z.string(),
  body: z.string(),
  updatedAt: IsoTime,
});
export type MailTemplate = z.infer<typeof MailTemplate>;
export const MailTemplatesResponse = z.object({ templates: z.array(MailTemplate) });
export type MailTemplatesResponse = z.infer<typeof MailTemplatesResponse>;

export const MailTemplateInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** Empty: the reply keeps `Re: <customer's subject>`. */
    subject: z.string().trim().max(300).default(''),
    body: z.string().min(1).max(20_000),
  })
  .strict();
export type MailTemplateInput = z.infer<typeof MailTemplateInput>;

export const REPLY_STATES = ['draft', 'pending_review', 'approved', 'sending', 'sent', 'returned', 'failed'] as const;
export const ReplyState = z.enum(REPLY_STATES);
export type ReplyState = z.infer<typeof ReplyState>;

export const ReplyView = z.object({
  id: Id,
  /** The inbound mail it answers; null for a mail to a caller of "calls for you" (`callKey`). */
  mailId: Id.nullable(),
  callKey: CallKey.nullable(),
  incidentId: Id,
  incidentRef: z.string().nullable(),
  customerId: Id,
  authorId: Id,
  authorName: z.string(),
  state: ReplyState,
  subject: z.string(),
  body: z.string(),
  /** What the author submitted, when a reviewer changed it before approving. */
  submittedBody: z.string().nullable(),
  editedByReviewer: z.boolean(),
  toAddress: z.string(),
  /** The recipient is one of the customer's known addresses; otherwise author and reviewer are warned. */
  toAddressKnown: z.boolean(),
  fromAddress: z.string(),
  messageId: z.string().nullable(),
  reviewComment: z.string().nullable(),
  reviewerId: Id.nullable(),
  reviewerName: z.string().nullable(),
  reviewedAt: IsoTime.nullable(),
  submittedAt: IsoTime.nullable(),
  attempts: z.number().int().min(0),
  nextAttemptAt: IsoTime.nullable(),
  lastError: z.string().nullable(),
  /**
   * Why a `failed` reply failed. rejected: the relay refused it (5xx). gave_up: temporary
   * failures until the attempt limit. interrupted: the sender stopped while handing it to
   * the relay, so it may or may not have gone out: check before sending it again.
   */
  failure: z.enum(['rejected', 'interrupted', 'gave_up']).nullable(),
  sentAt: IsoTime.nullable(),
  contactId: Id.nullable(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type ReplyView = z.infer<typeof ReplyView>;

/**
 * PUT reply: creates the draft (exactly one of `mailId` or `callKey` required; the body comes
 * from `body`, else from `templateId`, else for a call from the tenant's callback template) or
 * updates it (only the author, only while draft or returned; editing a returned reply makes it
 * a draft again).
 */
export const ReplyDraftRequest = z
  .object({
    mailId: Id.optional(),
    /** A "calls for you" call of a registered customer with an e-mail address: a new message to the caller. */
    callKey: CallKey.optional(),
    templateId: Id.nullable().optional(),
    subject: z.string().trim().min(1).max(300).optional(),
    body: z.string().max(20_000).optional(),
    /**
     * Where the reply goes. Omitted on creation: the sender's address when it is one of the
     * customer's, else the customer's first address (never the mail's Reply-To on its own).
     */
    toAddress: z.email().max(320).optional(),
  })
  .strict();
export type ReplyDraftRequest = z.infer<typeof ReplyDraftRequest>;

export const ReplyApproveRequest = z
  .object({
    /** The reviewer's edited body; omitted: approve as submitted. */
    body: z.string().trim().min(1).max(20_000).optional(),
  })
  .strict();
export type ReplyApproveRequest = z.infer<typeof ReplyApproveRequest>;

export const ReplyReturnRequest = z.object({ comment: z.string().trim().min(1, 'must not be empty').max(2000) }).strict();
export type ReplyReturnRequest = z.infer<typeof ReplyReturnRequest>;

export const MyRepliesQuery = z.object({ state: ReplyState.optional() });
export const RepliesResponse = z.object({ replies: z.array(ReplyView) });
export type RepliesResponse = z.infer<typeof RepliesResponse>;

/** One reply waiting for review, beside the customer's mail and the incident's history. */
/** The call a mail to a caller answers, as the reviewer is shown it. */
export const ReviewCall = z.object({
  key: CallKey,
  startedAt: IsoTime,
  /** The caller's number. */
  remote: z.string(),
  outcome: z.enum(['answered', 'missed', 'ringing']),
  answeredBy: z.string().nullable(),
  /** Whose phones rang. */
  receivedBy: z.array(z.string()),
});
export type ReviewCall = z.infer<typeof ReviewCall>;

export const ReviewQueueItem = z.object({
  reply: ReplyView,
  /** Null for a mail to a caller: then `call` is set. */
  mail: MailView.nullable(),
  call: ReviewCall.nullable(),
  incident: Incident,
  /** The incident's contacts, oldest first. */
  contacts: z.array(Contact),
});
export type ReviewQueueItem = z.infer<typeof ReviewQueueItem>;
export const ReviewQueueResponse = z.object({ items: z.array(ReviewQueueItem) });
export type ReviewQueueResponse = z.infer<typeof ReviewQueueResponse>;

export const SupervisorAgent = z.object({
  userId: Id,
  displayName: z.string(),
  role: z.enum(['agent', 'supervisor', 'admin']),
  /** `offline` also when the app has sent no heartbeat for 60 s. */
  status: AgentStatus,
  since: IsoTime,
  secondsInStatus: z.number().int().min(0),
});
export type SupervisorAgent = z.infer<typeof SupervisorAgent>;

export const HourlyVolume = z.object({
  /** 0–23 in `timeZone`. */
  hour: z.number().int().min(0).max(23),
  calls: z.number().int().min(0),
  mails: z.number().int().min(0),
});

/** A caller held in the call queue (the CTI server's ACD), for the live view. */
export const QueuedCallerView = z.object({
  callId: z.string(),
  /** The number as the PBX had it. */
  caller: z.string(),
  /** Null when the caller is unknown or the viewer may not see the customer. */
  customerName: z.string().nullable(),
  position: z.number().int().min(1),
  enteredAt: IsoTime,
  secondsWaiting: z.number().int().min(0),
});
export type QueuedCallerView = z.infer<typeof QueuedCallerView>;

export const SupervisorSummary = z.object({
  now: IsoTime,
  /** Mail offering paused: ringing calls per available agent above `busyCallsPerAgent`. */
  paused: z.boolean(),
  busyCallsPerAgent: z.number().min(0),
  agents: z.array(SupervisorAgent),
  calls: z.object({ ringing: z.number().int().min(0), connected: z.number().int().min(0) }),
  mails: z.object({
    /** Unanswered and not leased. */
    waiting: z.number().int().min(0),
    /** Unanswered and leased to an operator now. */
    offered: z.number().int().min(0),
    pendingReview: z.number().int().min(0),
    /** Approved and not yet sent (including retries after temporary failures). */
    sending: z.number().int().min(0),
    failed: z.number().int().min(0),
    /**
     * Approved replies the relay has not taken yet after at least one failed attempt, with the
     * newest error: shown at the first failure, not only once the sender gives up. Null when
     * none is waiting for a retry.
     */
    relayTrouble: z.object({ retrying: z.number().int().min(1), lastError: z.string() }).nullable(),
  }),
  today: z.object({ date: z.string(), timeZone: z.string(), hours: z.array(HourlyVolume).length(24) }),
  /** Callers waiting in the call queue, first in line first, and those who gave up today. */
  callQueue: z.object({ callers: z.array(QueuedCallerView), abandonedToday: z.number().int().min(0) }),
});
export type SupervisorSummary = z.infer<typeof SupervisorSummary>;

/**
 * GET mailEvents (Server-Sent Events). `queue` `{ waiting }` to everyone when the mail queue
 * changed (an idle operator's app then asks mailOffer); `summary` (a SupervisorSummary) to
 * supervisors and admins on connect and after every change; `ping` every 25 s.
 */
export const MAIL_SSE_EVENTS = ['queue', 'summary', 'ping'] as const;
export const MailQueueEvent = z.object({
  waiting: z.number().int().min(0),
  /** Mails waiting for an operator to match them (not offered meanwhile). */
  needsMatching: z.number().int().min(0).default(0),
});

export const MailSettings = z.object({
  leaseSeconds: z.number().int().min(1),
  busyCallsPerAgent: z.number().min(0),
  presenceTimeoutSeconds: z.number().int().min(1),
  preferenceSeconds: z.number().int().min(0),
});
export type MailSettings = z.infer<typeof MailSettings>;

/** null resets a value to the backend's configured default. */
export const MailSettingsUpdate = z
  .object({
    leaseSeconds: z.number().int().min(10).max(86_400).nullable().optional(),
    busyCallsPerAgent: z.number().min(0).max(1000).nullable().optional(),
  })
  .strict()
  .refine((v) => v.leaseSeconds !== undefined || v.busyCallsPerAgent !== undefined, 'give leaseSeconds or busyCallsPerAgent');
export type MailSettingsUpdate = z.infer<typeof MailSettingsUpdate>;

export const MailAddress = z.object({ address: z.email(), kind: z.enum(['support', 'fax']) });
export type MailAddress = z.infer<typeof MailAddress>;
export const MailAddressInput = MailAddress.strict();
export const MailAddressesResponse = z.object({ addresses: z.array(MailAddress) });
export type MailAddressesResponse = z.infer<typeof MailAddressesResponse>;

// ─────────────────────────────────────────────────────────────────────────────────────────
// Call history and callbacks (backend/src/calls). A callback is the wrap-up's "callback
// needed": open until a later call with that customer is logged, or it is marked done.
// ─────────────────────────────────────────────────────────────────────────────────────────

export const CALLBACK_DONE_REASONS = ['called', 'marked'] as const;

export const Callback = z.object({
  /** The wrap-up's outbox clientId, so the app can name it before the push. */
  id: Id,
  customerId: Id,
  customerName: z.string(),
  /** The SIP Call-ID of the call whose wrap-up asked for it. */
  callId: z.string().nullable(),
  contactId: Id.nullable(),
  /** The number to call back: the call's other party. */
  remote: z.string(),
  flaggedBy: Id,
  flaggedAt: IsoTime,
  /** Set in the wrap-up; null: as soon as possible (a callback flagged before due times existed). */
  dueAt: IsoTime.nullable(),
  doneAt: IsoTime.nullable(),
  doneReason: z.enum(CALLBACK_DONE_REASONS).nullable(),
});
export type Callback = z.infer<typeof Callback>;

/** A callback as a task on a worklist: who asked for it, and whether it is late. */
export const CallbackTask = Callback.extend({
  flaggedByName: z.string(),
  /** Due before the backend's clock at the time of the answer (null due: due at once). */
  overdue: z.boolean(),
});
export type CallbackTask = z.infer<typeof CallbackTask>;

/**
 * The callback worklist: my own open callbacks, soonest due first; and the overdue open ones
 * of my team that others flagged (shared/permissions.ts maySeeTeamCallbacks), most overdue first.
 */
export const CallbackListResponse = z.object({
  mine: z.array(CallbackTask),
  teamOverdue: z.array(CallbackTask),
  now: IsoTime,
});
export type CallbackListResponse = z.infer<typeof CallbackListResponse>;

/** answered; missed (rang out or the caller gave up); declined (refused, or busy); no_answer (an outbound call nobody took); ringing. */
export const CALL_OUTCOMES = ['answered', 'missed', 'declined', 'no_answer', 'ringing'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export const CallHistoryEntry = z.object({
  callId: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  outcome: z.enum(CALL_OUTCOMES),
  /** The other party: E.164 when it parsed, else as received. */
  remote: z.string(),
  /** Null when nobody matched, or the customer is not visible to this user. */
  customerId: Id.nullable(),
  customerName: z.string().nullable(),
  startedAt: IsoTime,
  answeredAt: IsoTime.nullable(),
  endedAt: IsoTime.nullable(),
});
export type CallHistoryEntry = z.infer<typeof CallHistoryEntry>;

export const CallHistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(200) });
export const CallHistoryResponse = z.object({
  calls: z.array(CallHistoryEntry),
  /** Open callbacks I flagged, and the ones done in the last days (so the history can show them done). */
  callbacks: z.array(Callback),
});
export type CallHistoryResponse = z.infer<typeof CallHistoryResponse>;

export const Assignee = z.object({ id: Id, displayName: z.string(), role: z.enum(['agent', 'supervisor', 'admin']) });
export type Assignee = z.infer<typeof Assignee>;
export const AssigneesResponse = z.object({ users: z.array(Assignee) });
export type AssigneesResponse = z.infer<typeof AssigneesResponse>;

// ── Audit viewer (backend/src/audit-viewer.ts) ──

export const AUDIT_API = {
  /** Admins and supervisors (supervisors: events of customers they may see, and events of no customer). */
  list: '/api/audit',
  /** The same filters as a CSV file (every matching event up to AUDIT_CSV_MAX_ROWS). */
  exportCsv: '/api/audit/export.csv',
} as const;

export const AUDIT_PAGE_MAX = 200;
export const AUDIT_CSV_MAX_ROWS = 50_000;

/** Filters of the audit viewer, every one optional (`from` inclusive, `to` exclusive), and the page. */
export const AuditQuery = z
  .object({
    userId: Id.optional(),
    customerId: Id.optional(),
    action: AuditAction.optional(),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    /** `nextCursor` of the previous page; omitted: the newest events. */
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(50),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  action: z.string(),
  userId: Id.nullable(),
  userName: z.string().nullable(),
  customerId: Id.nullable(),
  customerName: z.string().nullable(),
  /** Action-specific facts, as recorded (JSON object). */
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditPage = z.object({
  entries: z.array(AuditEntry),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AuditPage = z.infer<typeof AuditPage>;
