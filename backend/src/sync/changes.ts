import type { Kysely, Selectable } from 'kysely';
import type { z } from 'zod';
import type { Change, ChangesPage, ChangesQuery, CustomerRecord } from '../../../shared/api.js';
import { callsWindowStart, type BranchCall } from '../../../shared/calls-for-you.js';
import type { Classification, Contact, Customer, Incident } from '../../../shared/domain.js';
import { mayHoldBranchCall, maySeeCustomer } from '../../../shared/permissions.js';
import { assertNever } from '../../../shared/result.js';
import type { AuthContext } from '../auth/sessions.js';
import { loginOrLookback } from '../branch-calls/list.js';
import { branchCallKeysOfCustomers, loadBranchCalls } from '../branch-calls/load.js';
import { loadContacts, loadCustomerRecords, loadCustomers, loadIncidents } from '../customers/records.js';
import { readConsistently, type DatabaseHandle } from '../db/database.js';
import type { ChangeLogTable, Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { currentSeq } from './changelog.js';
import type { RecentChanges } from './recent-changes.js';

/** A change-log row as the feed reads it. */
export type ChangeLogEntry = Pick<Selectable<ChangeLogTable>, 'entity' | 'entity_id' | 'customer_id' | 'op' | 'visibility_changed' | 'visibility_before'> & {
  seq: number;
};

/**
 * Where a page's change-log entries and the current state of what they touch come from: the
 * database (`databaseSource`) or the recent changes held in memory (recent-changes.ts). Both
 * feed the one filter below, so what a user receives cannot depend on where it was read.
 */
export interface ChangeSource {
  /** Entries after `after`, in sequence order, at most `limit`. */
  entries(after: number, limit: number): Promise<ChangeLogEntry[]>;
  customers(ids: readonly string[]): Promise<Map<string, Customer>>;
  incidents(ids: readonly string[]): Promise<Map<string, Incident>>;
  contacts(ids: readonly string[]): Promise<Map<string, Contact>>;
  records(customerIds: readonly string[]): Promise<CustomerRecord[]>;
  /** Branch calls by key (Call-ID, else the leg id), current state. */
  branchCalls(keys: readonly string[]): Promise<Map<string, BranchCall>>;
  /** The calls since `since` of these customers (a customer that moved takes its calls along). */
  branchCallKeysOfCustomers(customerIds: readonly string[], since: string): Promise<{ key: string; customerId: string }[]>;
}

export function databaseSource(db: Kysely<Database>, tenantId: string): ChangeSource {
  return {
    async entries(after, limit) {
      const rows = await db
        .selectFrom('change_log')
        .select(['seq', 'entity', 'entity_id', 'customer_id', 'op', 'visibility_changed', 'visibility_before'])
        .where('tenant_id', '=', tenantId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
    },
    customers: (ids) => loadCustomers(db, tenantId, ids),
    incidents: (ids) => loadIncidents(db, tenantId, ids),
    contacts: (ids) => loadContacts(db, tenantId, ids),
    records: (customerIds) => loadCustomerRecords(db, tenantId, customerIds),
    branchCalls: (keys) => loadBranchCalls(db, tenantId, keys),
    branchCallKeysOfCustomers: (customerIds, since) => branchCallKeysOfCustomers(db, tenantId, customerIds, since),
  };
}

/**
 * One page of the delta feed after the client's cursor. Each change-log entry becomes the
 * CURRENT state of what it touched, filtered by what this user may see now:
 *
 * - a customer that this user may not see (any more) or that is gone becomes
 *   `delete_customer` when its entry is a deletion or changed its visibility and the user
 *   could see it before (so a cached copy is purged when a classification rises); other entries of invisible customers are
 *   left out, since such a customer cannot be in this user's cache;
 * - a customer whose visibility changed and that this user may see comes whole (customer,
 *   incidents, contacts): the cache may never have held its incidents;
 * - entries of things deleted later are left out; their deletion follows in the log.
 *
 * - a call of "calls for you" comes as it stands now when it is in some scope of this user
 *   (`mayHoldBranchCall`); when its customer's visibility changed (or it was matched to a
 *   customer), every user who could have held it but no longer may gets `delete_branch_call`.
 *
 * Rights of the user themselves travel in `rights`: when they shrink the app purges its cache
 * with `maySeeCustomer` (and its calls with `mayHoldBranchCall`); when they grow it takes a new
 * snapshot.
 */
export async function readChangesPage(
  handle: DatabaseHandle,
  auth: AuthContext,
  query: z.infer<typeof ChangesQuery>,
  recent?: RecentChanges,
): Promise<ChangesPage> {
  const { user, tenant } = auth;
  // Read with the session as the request began (auth/sessions.ts): a page up to that position
  // is a page the client could have been given a moment earlier. A cursor beyond it may come
  // from a commit since (another instance's client): that is checked against the log itself.
  let lastSeq = auth.readWithSession.lastSeq;
  if (query.after > lastSeq) lastSeq = await currentSeq(handle, tenant.id);
  if (query.after > lastSeq) {
    throw new HttpError('conflict', `query.after: ${query.after} is ahead of this server's change log (${lastSeq}); take a new snapshot`);
  }
  const callsSince = loginOrLookback(auth.readWithSession.previousLoginAt, new Date());
  const assemble = (source: ChangeSource) => assembleChangesPage(source, user, query.after, query.limit, callsSince);
  // Served from memory when the recent changes cover the cursor (they are caught up to lastSeq first).
  const fromMemory = await recent?.sourceAfter(tenant.id, query.after, query.limit + 1, lastSeq);
  return fromMemory ? assemble(fromMemory) : readConsistently(handle, (db) => assemble(databaseSource(db, tenant.id)));
}

/**
 * The page of at most `limit` entries after `after` that `user` receives, read from `source`:
 * the filter described at readChangesPage. Used by the pull route and by the delta pokes
 * (delta-pokes.ts), which run it once per rights profile rather than once per stream.
 */
export async function assembleChangesPage(source: ChangeSource, user: AuthContext['user'], after: number, limit: number, callsSince: string): Promise<ChangesPage> {
  const entries = await source.entries(after, limit + 1);
  const hasMore = entries.length > limit;
  const page = entries.slice(0, limit);

  const customers = await source.customers(page.flatMap((entry) => (entry.customer_id === null ? [] : [entry.customer_id])));
  const visible = (customerId: string | null) => {
    const customer = customerId === null ? undefined : customers.get(customerId);
    return customer !== undefined && maySeeCustomer(user, customer);
  };
  const upsertsOf = (entity: string) =>
    page.filter((entry) => entry.entity === entity && entry.op === 'upsert' && visible(entry.customer_id)).map((entry) => entry.entity_id);
  const revealed = page
    .filter((entry) => entry.entity === 'customer' && entry.op === 'upsert' && entry.visibility_changed === 1 && visible(entry.customer_id))
    .flatMap((entry) => (entry.customer_id === null ? [] : [entry.customer_id]));
  // A customer whose visibility changed (or that was deleted) takes its calls along: they are re-sent or deleted.
  const movedCustomers = page
    .filter((entry) => entry.entity === 'customer' && (entry.op === 'delete' || entry.visibility_changed === 1))
    .flatMap((entry) => (entry.customer_id === null ? [] : [entry.customer_id]));
  const callsOfMoved = await source.branchCallKeysOfCustomers(movedCustomers, callsWindowStart(callsSince, new Date()));
  const callKeys = page.filter((entry) => entry.entity === 'branch_call').map((entry) => entry.entity_id);
  const [incidents, contacts, records, calls] = await Promise.all([
    source.incidents(upsertsOf('incident')),
    source.contacts(upsertsOf('contact')),
    source.records(revealed),
    source.branchCalls([...callKeys, ...callsOfMoved.map((call) => call.key)]),
  ]);
  const recordOf = new Map(records.map((record) => [record.customer.id, record]));

  // Important: a delete names a customer id, so it goes only to users who could have held the
  // customer: those who could see it just before the change. Telling everyone else would
  // announce that a customer they never saw exists (and when it became more confidential).
  const couldHaveHeld = (before: string | null) => {
    if (before === null) return true;
    const { classification, branch } = JSON.parse(before) as { classification: number; branch: string | null };
    return maySeeCustomer(user, { classification: classification as Classification, branch });
  };
  // `before`: what decided the call's visibility before the entry: its customer's classification
  // and branch (JSON, as in visibility_before), 'unregistered' for a call just matched to a
  // customer, null when unknown. As with customers, a delete goes only to users who could have held the call.
  const callChange = (seq: number, key: string, before: string | null, mayHaveMoved: boolean): Change | null => {
    const call = calls.get(key);
    if (call && mayHoldBranchCall(user, call)) return { seq, op: 'upsert_branch_call', call };
    if (!mayHaveMoved) return null;
    return !call || couldHaveHeldCall(call, before) ? { seq, op: 'delete_branch_call', callKey: key } : null;
  };
  const couldHaveHeldCall = (call: BranchCall, before: string | null) => {
    if (before === 'unregistered') return mayHoldBranchCall(user, { ...call, customer: null });
    if (before === null || call.customer === null) return true;
    const { classification, branch } = JSON.parse(before) as { classification: Classification; branch: string | null };
    return mayHoldBranchCall(user, { ...call, customer: { ...call.customer, classification, branch } });
  };
  const changes: Change[] = [];
  for (const entry of page) {
    const { seq } = entry;
    const canSee = visible(entry.customer_id);
    switch (entry.entity) {
      case 'customer': {
        const customerId = entry.entity_id;
        for (const call of callsOfMoved) {
          if (call.customerId !== customerId) continue;
          const change = callChange(seq, call.key, entry.visibility_before, true);
          if (change) changes.push(change);
        }
        const customer = customers.get(customerId);
        if (entry.op === 'delete' || !canSee || !customer) {
          if (entry.op === 'delete' || (entry.visibility_changed === 1 && couldHaveHeld(entry.visibility_before))) {
            changes.push({ seq, op: 'delete_customer', customerId });
          }
          break;
        }
        const record = entry.visibility_changed === 1 ? recordOf.get(customerId) : undefined;
        changes.push({ seq, op: 'upsert_customer', customer });
        for (const incident of record?.incidents ?? []) changes.push({ seq, op: 'upsert_incident', incident });
        for (const contact of record?.contacts ?? []) changes.push({ seq, op: 'upsert_contact', contact });
        break;
      }
      case 'incident': {
        if (!canSee) break;
        if (entry.op === 'delete') {
          changes.push({ seq, op: 'delete_incident', incidentId: entry.entity_id });
          break;
        }
        const incident = incidents.get(entry.entity_id);
        if (incident) changes.push({ seq, op: 'upsert_incident', incident });
        break;
      }
      case 'contact': {
        if (!canSee) break;
        if (entry.op === 'delete') {
          changes.push({ seq, op: 'delete_contact', contactId: entry.entity_id });
          break;
        }
        const contact = contacts.get(entry.entity_id);
        if (contact) changes.push({ seq, op: 'upsert_contact', contact });
        break;
      }
      case 'branch_call': {
        // A branch_call entry changes visibility only when the call was just matched to a customer (see recordBranchCallChange).
        const change = callChange(seq, entry.entity_id, entry.visibility_changed === 1 ? 'unregistered' : null, entry.op === 'delete' || entry.visibility_changed === 1);
        if (change) changes.push(change);
        break;
      }
      default:
        assertNever(entry.entity, 'change-log entity');
    }
  }
  const last = page[page.length - 1];
  return { changes, cursor: last ? last.seq : after, hasMore, rights: user, callsSince };
}
