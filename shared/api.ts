import { z } from 'zod';
import { Contact, Customer, Id, Incident, IsoTime, User } from './domain.js';

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
} as const;

export const ApiErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
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
  limit: z.coerce.number().int().min(1).max(2000).default(500),
  highWaterSeq: z.coerce.number().int().min(0).optional(),
});
export const SnapshotPage = z.object({
  records: z.array(CustomerRecord),
  nextAfter: z.string().nullable(),
  highWaterSeq: z.number().int().min(0),
  /** Number of customers this user may see, for the progress bar. */
  total: z.number().int().min(0),
  rights: User,
});
export type SnapshotPage = z.infer<typeof SnapshotPage>;

export const ChangesQuery = z.object({
  after: z.coerce.number().int().min(0),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

/**
 * One entry of the feed. Upserts carry the current state of the customer record they touch
 * (idempotent for the client); `delete_customer` tells the client to drop a customer and
 * all its incidents and contacts (deleted, or no longer visible to this user).
 */
export const Change = z.discriminatedUnion('op', [
  z.object({ seq: z.number().int(), op: z.literal('upsert_customer'), customer: Customer }),
  z.object({ seq: z.number().int(), op: z.literal('upsert_incident'), incident: Incident }),
  z.object({ seq: z.number().int(), op: z.literal('upsert_contact'), contact: Contact }),
  z.object({ seq: z.number().int(), op: z.literal('delete_customer'), customerId: Id }),
  z.object({ seq: z.number().int(), op: z.literal('delete_incident'), incidentId: Id }),
  z.object({ seq: z.number().int(), op: z.literal('delete_contact'), contactId: Id }),
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
]);
export type OutboxEntry = z.infer<typeof OutboxEntry>;

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

export const ByPhoneQuery = z.object({ phone: z.string().min(1).max(64) });
export const ByPhoneResponse = z.object({ record: CustomerRecord.nullable() });

export const RightsUpdate = z
  .object({
    customerLimitAuthority: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
    branch: z.string().max(100).nullable().optional(),
    mayHandleUnregisteredCallers: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'at least one of customerLimitAuthority, branch, mayHandleUnregisteredCallers');

/** Server-sent event names on GET /api/events. `changed` carries `{ seq }`. */
export const SSE_EVENTS = ['changed', 'ping'] as const;
