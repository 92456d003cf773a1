import { z } from 'zod';
import { Id, IsoTime } from './domain.js';
import { plainText } from './portal.js';

/**
 * "Call me" (issue 10 item 6): a customer asks in the portal to be called back; the request is
 * offered to one available operator at a time (the previous handler first, else the longest
 * idle); the operator who accepts has the app dial the customer. Backend: backend/src/callme.
 * Portal: portal/src/CallMe.tsx. App: electron/core/callme.ts, renderer/src/callme.
 */

/** A request's life: waiting (maybe booked for later) → offered → dialling → done, or cancelled. */
export const CALLME_STATES = ['waiting', 'offered', 'dialling', 'done', 'cancelled'] as const;
export type CallMeState = (typeof CALLME_STATES)[number];

/** How a dialled request ended: the customer answered, or the call was not answered. */
export const CALLME_OUTCOMES = ['answered', 'no_answer'] as const;
export const CallMeOutcome = z.enum(CALLME_OUTCOMES);
export type CallMeOutcome = z.infer<typeof CallMeOutcome>;

/** Portal routes, below `/portal/:tenant` (a portal session; CSRF header on writes). */
export const CALLME_PORTAL_API = {
  /** GET → CallMeStatus; POST CallMeInput → CallMeView (201 new, 200 the open one again). */
  callme: '/api/callme',
  /** POST → CallMeView: cancels while not yet dialled (409 once dialling). */
  cancel: '/api/callme/:id/cancel',
} as const;

/** Staff routes (bearer session). */
export const CALLME_API = {
  /** GET → CallMeOfferResponse: the offer standing for me, if any. */
  offer: '/api/callme/offer',
  /** POST → CallMeAccepted. */
  accept: '/api/callme/:id/accept',
  /** POST → 204: the next operator gets it. */
  decline: '/api/callme/:id/decline',
  /** POST CallMeCompleteInput → 204: the call the app placed ended. */
  complete: '/api/callme/:id/complete',
  /** GET → CallMeHours; PUT CallMeHours (admins). */
  hours: '/api/callme/hours',
} as const;

export function callmePath(template: string, id: string): string {
  return template.replace(':id', encodeURIComponent(id));
}

export const CallMeInput = z
  .object({
    /** The page's id for this press: a second press (or a retry) with it is the same request. */
    clientId: z.uuid(),
    /** One of the customer's numbers or one typed in; the backend normalises and validates it. */
    number: z.string().trim().min(1, 'must not be empty').max(40),
    /** Optional: when the customer would like the call (booked at the next opening if outside hours). */
    preferredAt: IsoTime.nullable().default(null),
    reason: plainText(500).default(''),
  })
  .strict();
export type CallMeInput = z.input<typeof CallMeInput>;

export const CallMeView = z.object({
  id: Id,
  state: z.enum(CALLME_STATES),
  /** E.164. */
  number: z.string(),
  reason: z.string(),
  preferredAt: IsoTime.nullable(),
  /** Not before this time (a booking outside business hours, or the preferred time). */
  dueAt: IsoTime,
  /** True when dueAt lies ahead: the portal shows the booked time, not "shortly". */
  booked: z.boolean(),
  outcome: CallMeOutcome.nullable(),
  createdAt: IsoTime,
});
export type CallMeView = z.infer<typeof CallMeView>;

export const CallMeStatus = z.object({
  /** The customer's registered numbers (E.164), to choose from. */
  numbers: z.array(z.string()),
  /** The newest request (open, or ended within the last hour), if any. */
  request: CallMeView.nullable(),
});
export type CallMeStatus = z.infer<typeof CallMeStatus>;

export const CallMeOffer = z.object({
  id: Id,
  customerId: Id,
  customerCode: z.string(),
  customerName: z.string(),
  number: z.string(),
  reason: z.string(),
  preferredAt: IsoTime.nullable(),
  /** Why this operator: the previous handler, or the longest idle. */
  offerReason: z.string(),
  expiresAt: IsoTime,
});
export type CallMeOffer = z.infer<typeof CallMeOffer>;
export const CallMeOfferResponse = z.object({ offer: CallMeOffer.nullable() });
export type CallMeOfferResponse = z.infer<typeof CallMeOfferResponse>;

export const CallMeAccepted = z.object({ id: Id, customerId: Id, number: z.string() });
export type CallMeAccepted = z.infer<typeof CallMeAccepted>;

export const CallMeCompleteInput = z.object({ outcome: CallMeOutcome, callId: z.string().max(200).nullable().default(null) }).strict();

const HhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM');
export const CallMeHours = z
  .object({
    /** An IANA time zone, e.g. Asia/Tokyo. */
    timeZone: z.string().min(1).max(60),
    /** Days open, 0 = Sunday … 6 = Saturday. */
    days: z.array(z.number().int().min(0).max(6)).max(7),
    opensAt: HhMm,
    closesAt: HhMm,
  })
  .strict()
  .refine((hours) => hours.opensAt < hours.closesAt, { message: 'must be after opensAt', path: ['closesAt'] });
export type CallMeHours = z.infer<typeof CallMeHours>;
/** GET/PUT hours answer: null while none are set (requests are taken around the clock). */
export const CallMeHoursResponse = z.object({ hours: CallMeHours.nullable() });

/** IPC channels (spread into IPC_CHANNELS; served by electron/core/callme.ts). Online only. */
const NoPayload = z.undefined().or(z.null()).or(z.object({}).strict());
export const CALLME_IPC_CHANNELS = {
  'callme:offer': { request: NoPayload, result: CallMeOfferResponse },
  'callme:accept': { request: z.object({ id: Id }), result: CallMeAccepted },
  'callme:decline': { request: z.object({ id: Id }), result: z.object({}) },
  'callme:complete': { request: z.object({ id: Id, outcome: CallMeOutcome, callId: z.string().max(200).nullable() }), result: z.object({}) },
} as const;

/** Core → renderer: the offer standing for this operator changed (null: none now). */
export const CALLME_IPC_EVENTS = { 'callme:offer': CallMeOfferResponse } as const;
