import { z } from 'zod';
import { Classification, Id, IsoTime } from './domain.js';
import { RepRequestDetails } from './rep-requests.js';

/**
 * "Calls for you": a branch rep's list of the calls that rang for them or came from their
 * customers, and what they did about each. REST contract (backend/src/branch-calls) and the
 * payloads the app's core passes on.
 */

export const CALLS_FOR_YOU_API = {
  /** GET ?scope= → CallsForYouResponse. */
  list: '/api/branch-calls',
  /** GET → CallbackTemplateResponse; PUT CallbackTemplateInput (admins). */
  template: '/api/branch-calls/template',
  /** GET → CallbackText: the template filled in for one call. */
  callbackText: '/api/branch-calls/:key/callback-text',
  /** GET → SeminarsResponse: the tenant's coming seminars with the seats left. */
  seminars: '/api/seminars',
} as const;

export const CALLS_FOR_YOU_SCOPES = ['mine', 'branch', 'all', 'unregistered'] as const;
export const CallsForYouScope = z.enum(CALLS_FOR_YOU_SCOPES);

export const CallsForYouQuery = z.object({ scope: CallsForYouScope.default('mine') });

/** A call is known by its SIP Call-ID (all legs of one call are one entry). */
export const CallKey = z.string().min(1).max(200);

export const CALL_HANDLING_KINDS = ['contact', 'visit', 'seminar'] as const;
export const CallHandlingKind = z.enum(CALL_HANDLING_KINDS);
export type CallHandlingKind = z.infer<typeof CallHandlingKind>;

const Person = z.object({ id: Id, name: z.string() });

export const CallForYou = z.object({
  key: CallKey,
  startedAt: IsoTime,
  /** `request`: not a call but a customer's request from the portal ("contact my rep"), see `request`. */
  outcome: z.enum(['answered', 'missed', 'ringing', 'request']),
  /** The caller's number (E.164 when it parsed). */
  remote: z.string(),
  /** Null: nobody registered has this number (only shown to users who may create customers). */
  customer: z
    .object({ id: Id, code: z.string(), name: z.string(), branch: z.string().nullable(), assignedRep: Person.nullable() })
    .nullable(),
  /** Who picked up; null when nobody did. */
  answeredBy: Person.nullable(),
  /** Whose phone rang (may differ from the assigned rep), and their branch. */
  receivedBy: z.array(Person.extend({ branch: z.string().nullable() })),
  handled: z
    .object({ at: IsoTime, by: Person, kind: CallHandlingKind, contactId: Id.nullable() })
    .nullable(),
  /** A portal request's details (key `req:<id>`, receivedBy: the rep it was routed to); absent for calls. */
  request: RepRequestDetails.optional(),
});
export type CallForYou = z.infer<typeof CallForYou>;

/**
 * A call as the sync feed carries it to the app's cache: the entry with the customer's
 * classification, which the app needs to decide with the shared `callInScope` which of its
 * scopes list the call (and to purge it when the user's rights shrink).
 */
export const BranchCall = CallForYou.extend({
  customer: CallForYou.shape.customer.unwrap().extend({ classification: Classification }).nullable(),
});
export type BranchCall = z.infer<typeof BranchCall>;

/** Unhandled calls stay listed this long; older ones are history (the call log keeps them). */
export const UNHANDLED_KEPT_DAYS = 30;

/** The oldest call "calls for you" may list: since the previous sign-in, or UNHANDLED_KEPT_DAYS ago if that is earlier. */
export function callsWindowStart(since: string, now: Date): string {
  const kept = now.getTime() - UNHANDLED_KEPT_DAYS * 86_400_000;
  return new Date(Math.min(Date.parse(since), kept)).toISOString();
}

/**
 * The times, in ms since the epoch, that decide whether the list shows a call (`listedSince`):
 * `sinceMs`, the previous sign-in, and `windowStartMs`, the oldest call listed at all. The app's
 * cache applies the same two bounds in SQL (electron/core/cache/calls-for-you-sql.ts).
 */
export function listedWindow(since: string, now: Date): { sinceMs: number; windowStartMs: number } {
  const sinceMs = Date.parse(since);
  if (Number.isNaN(sinceMs)) throw new RangeError(`since: "${since}" is not a time`);
  return { sinceMs, windowStartMs: Date.parse(callsWindowStart(since, now)) };
}

/**
 * Whether the list shows a call (the scope aside, see `callInScope`): every call since the
 * previous sign-in, and an older one within the window only while nobody handled it. The
 * backend's list decides with this, the app's cache with the same bounds in SQL. The window is
 * worked out once for the calls tested (a list tests every call of a shift; parsing and
 * formatting its dates per call grew with the shift).
 */
export function listedSince(since: string, now: Date): (call: Pick<CallForYou, 'startedAt' | 'handled'>) => boolean {
  const { sinceMs, windowStartMs } = listedWindow(since, now);
  return (call) => {
    const started = Date.parse(call.startedAt);
    if (started < windowStartMs) return false;
    return started >= sinceMs || call.handled === null;
  };
}

/** The handled and unhandled counts of a list. */
export function countCalls(entries: readonly Pick<CallForYou, 'handled'>[]): { handled: number; unhandled: number } {
  const unhandled = entries.filter((entry) => entry.handled === null).length;
  return { handled: entries.length - unhandled, unhandled };
}

export const CallsForYouResponse = z.object({
  scope: CallsForYouScope,
  /** Calls since this time are listed, and any older call still unhandled. */
  since: IsoTime,
  entries: z.array(CallForYou),
  counts: z.object({ handled: z.number().int().min(0), unhandled: z.number().int().min(0) }),
});
export type CallsForYouResponse = z.infer<typeof CallsForYouResponse>;

export const CALLBACK_PLACEHOLDERS = ['customerName', 'repName', 'branch', 'callDate', 'callTime', 'callerNumber'] as const;

export const CallbackTemplateInput = z
  .object({ subject: z.string().trim().max(300), body: z.string().trim().min(1, 'must not be empty').max(10_000) })
  .strict();
export type CallbackTemplateInput = z.infer<typeof CallbackTemplateInput>;

export const CallbackTemplateResponse = z.object({
  subject: z.string(),
  body: z.string(),
  placeholders: z.array(z.string()),
  /** Null: the built-in default is in use. */
  updatedAt: IsoTime.nullable(),
});
export type CallbackTemplateResponse = z.infer<typeof CallbackTemplateResponse>;

export const CallbackText = z.object({ subject: z.string(), body: z.string(), toAddress: z.string().nullable() });
export type CallbackText = z.infer<typeof CallbackText>;

export const Seminar = z.object({
  id: Id,
  title: z.string(),
  startsAt: IsoTime,
  place: z.string(),
  capacity: z.number().int().min(1),
  seatsLeft: z.number().int().min(0),
});
export type Seminar = z.infer<typeof Seminar>;
export const SeminarsResponse = z.object({ seminars: z.array(Seminar) });
export type SeminarsResponse = z.infer<typeof SeminarsResponse>;

/** What was done about a call; each becomes a contact in the customer's incident tree. */
export const CallHandlingAction = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('contact'),
    summary: z.string().trim().min(1, 'must not be empty').max(500),
    body: z.string().max(20_000).default(''),
  }),
  z.object({
    kind: z.literal('visit'),
    date: z.iso.date(),
    time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time such as 14:30'),
    place: z.string().trim().min(1, 'must not be empty').max(300),
    note: z.string().max(5_000).default(''),
  }),
  z.object({
    kind: z.literal('seminar'),
    seminarId: Id,
    seats: z.number().int().min(1).max(20),
  }),
]);
export type CallHandlingAction = z.infer<typeof CallHandlingAction>;

/** The outbox entry that marks a call handled (shared/api.ts OutboxEntry `handle_call`). */
export const HandleCallFields = {
  callKey: CallKey,
  /** The call's customer; for an unregistered caller, the customer just created from the entry. */
  customerId: Id,
  /** Null: the customer's open "calls for you" incident (opened on first use). */
  incidentId: Id.nullable(),
  action: CallHandlingAction,
};

/** The incident handled calls go into when the rep picks none. */
export const CALLS_FOR_YOU_INCIDENT_TITLE = '営業店着信対応';
