import type { CustomerRecord } from '../../../shared/api.js';
import type { Contact, Customer, Incident } from '../../../shared/domain.js';
import { readConsistently, type DatabaseHandle } from '../db/database.js';
import { databaseSource, type ChangeLogEntry, type ChangeSource } from './changes.js';

/** How many change-log entries each tenant keeps in memory (about 100 s of a thousand agents' notes). */
export const RECENT_CHANGES_PER_TENANT = 10_000;
/** Tenants whose recent changes are kept; the least recently pulled one goes first. */
export const RECENT_CHANGES_TENANTS = 64;

/** What one entity looked like when last read, and how many held entries name it. */
interface Held<T> {
  value: T | undefined;
  refs: number;
}

/**
 * One tenant's recent change-log entries, contiguous: every entry with `tail < seq <= head`,
 * and the current state of the customers, incidents and contacts they name (as of the last
 * catch-up; every write to those records appends an entry, so a newer state always arrives with
 * a newer entry). Entities no held entry names any more are dropped.
 */
class TenantChanges {
  readonly entries: ChangeLogEntry[] = [];
  readonly customers = new Map<string, Held<Customer>>();
  readonly incidents = new Map<string, Held<Incident>>();
  readonly contacts = new Map<string, Held<Contact>>();
  #loading: Promise<boolean> | null = null;

  constructor(
    public tail: number,
    public head: number,
  ) {}

  /**
   * Reads what was committed after `head` until `head >= target`; one read at a time, however
   * many pulls wait for it. False when the log cannot be followed (nothing new was readable).
   */
  async catchUp(target: number, load: (after: number, target: number) => Promise<boolean>): Promise<boolean> {
    while (this.head < target) {
      this.#loading ??= load(this.head, target).finally(() => {
        this.#loading = null;
      });
      if (!(await this.#loading)) return false;
    }
    return true;
  }

  append(
    entries: readonly ChangeLogEntry[],
    state: { customers: Map<string, Customer>; incidents: Map<string, Incident>; contacts: Map<string, Contact> },
    capacity: number,
  ): void {
    for (const entry of entries) {
      this.entries.push(entry);
      if (entry.customer_id !== null) {
        const held = heldOf(this.customers, entry.customer_id);
        held.refs++;
        held.value = state.customers.get(entry.customer_id);
      }
      if (entry.entity === 'incident') track(this.incidents, entry, state.incidents);
      else if (entry.entity === 'contact') track(this.contacts, entry, state.contacts);
    }
    this.head = entries.at(-1)?.seq ?? this.head;
    const excess = this.entries.length - capacity;
    if (excess <= 0) return;
    for (const entry of this.entries.splice(0, excess)) {
      if (entry.customer_id !== null) release(this.customers, entry.customer_id);
      if (entry.entity === 'incident') release(this.incidents, entry.entity_id);
      else if (entry.entity === 'contact') release(this.contacts, entry.entity_id);
      this.tail = entry.seq;
    }
  }

  /** Drops everything: the log moved on too far to be followed entry by entry. */
  restartAt(seq: number): void {
    this.entries.length = 0;
    this.customers.clear();
    this.incidents.clear();
    this.contacts.clear();
    this.tail = seq;
    this.head = seq;
  }

  /** Index of the first held entry after `after` (entries are in sequence order). */
  firstAfter(after: number): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle]!.seq <= after) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function heldOf<T>(map: Map<string, Held<T>>, id: string): Held<T> {
  let held = map.get(id);
  if (!held) {
    held = { value: undefined, refs: 0 };
    map.set(id, held);
  }
  return held;
}

/** An incident or contact entry: an upsert holds the state just read (absent: deleted since), a delete holds nothing. */
function track<T>(map: Map<string, Held<T>>, entry: ChangeLogEntry, read: Map<string, T>): void {
  const held = heldOf(map, entry.entity_id);
  held.refs++;
  held.value = entry.op === 'upsert' ? read.get(entry.entity_id) : undefined;
}

function release<T>(map: Map<string, Held<T>>, id: string): void {
  const held = map.get(id);
  if (held && --held.refs <= 0) map.delete(id);
}

function pick<T>(map: Map<string, T>, ids: readonly string[]): Map<string, T> {
  const picked = new Map<string, T>();
  for (const id of ids) {
    const value = map.get(id);
    if (value !== undefined) picked.set(id, value);
  }
  return picked;
}

/**
 * The per-tenant change feed in memory. With a thousand agents each pulling about once a second
 * (poke-pacing.ts), reading every pull's page from the database cost most of the backend's time,
 * though all of them read the same few hundred entries. Here each tenant's new entries, and the
 * records they name, are read once per batch of commits (by the first pull that finds the log
 * ahead of memory; the others wait for that read) and every pull whose cursor is held is served
 * from memory through the same filter as the database path (changes.ts), so per-user visibility
 * is decided by one piece of code. A cursor older than what is held, and a page with a
 * visibility change (which needs whole records), are read from the database as before.
 *
 * Each backend instance keeps its own; nothing is shared through it, so several instances on
 * one PostgreSQL stay correct: each catches up to the sequence it read from the database.
 */
export class RecentChanges {
  readonly #tenants = new Map<string, TenantChanges>();
  readonly #capacity: number;
  readonly #maxTenants: number;
  /** Pages served from memory and pages left to the database (for tests and diagnostics). */
  readonly counts = { memory: 0, database: 0 };

  constructor(
    private readonly handle: DatabaseHandle,
    options: { capacity?: number; maxTenants?: number } = {},
  ) {
    this.#capacity = options.capacity ?? RECENT_CHANGES_PER_TENANT;
    this.#maxTenants = options.maxTenants ?? RECENT_CHANGES_TENANTS;
  }

  /**
   * A source for the page of at most `limit` entries after `after`, caught up to `lastSeq` (the
   * sequence the caller read from the database); undefined when memory cannot serve that page.
   * The page is taken whole at once: a later catch-up cannot change it under the filter.
   */
  async sourceAfter(tenantId: string, after: number, limit: number, lastSeq: number): Promise<ChangeSource | undefined> {
    const tenant = this.#tenant(tenantId, lastSeq);
    const served = after >= tenant.tail && (await tenant.catchUp(lastSeq, (from, target) => this.#load(tenantId, tenant, from, target)));
    if (!served || after < tenant.tail) {
      this.counts.database++;
      return undefined;
    }
    const start = tenant.firstAfter(after);
    const entries = tenant.entries.slice(start, start + limit);
    // Whole records (a visibility change), branch calls and the calls a customer takes along when it
    // moves or goes are read from the database: memory holds customers, incidents and contacts only.
    if (entries.some((entry) => entry.entity === 'branch_call' || (entry.entity === 'customer' && (entry.op === 'delete' || entry.visibility_changed === 1)))) {
      this.counts.database++;
      return undefined;
    }
    const customers = new Map<string, Customer>();
    const incidents = new Map<string, Incident>();
    const contacts = new Map<string, Contact>();
    for (const entry of entries) {
      const customer = entry.customer_id === null ? undefined : tenant.customers.get(entry.customer_id)?.value;
      if (customer) customers.set(customer.id, customer);
      const held = entry.entity === 'incident' ? tenant.incidents : entry.entity === 'contact' ? tenant.contacts : null;
      const value = held?.get(entry.entity_id)?.value;
      if (value && entry.entity === 'incident') incidents.set(entry.entity_id, value as Incident);
      if (value && entry.entity === 'contact') contacts.set(entry.entity_id, value as Contact);
    }
    this.counts.memory++;
    return {
      entries: async (from, count) => entries.filter((entry) => entry.seq > from).slice(0, count),
      customers: async (ids) => pick(customers, ids),
      incidents: async (ids) => pick(incidents, ids),
      contacts: async (ids) => pick(contacts, ids),
      records: async (customerIds): Promise<CustomerRecord[]> => {
        // Pages with a visibility change were left to the database above.
        if (customerIds.length > 0) throw new Error('recent changes: whole records are read from the database');
        return [];
      },
      branchCalls: async (keys) => {
        // Pages with branch calls were left to the database above.
        if (keys.length > 0) throw new Error('recent changes: branch calls are read from the database');
        return new Map();
      },
      branchCallKeysOfCustomers: async (customerIds) => {
        if (customerIds.length > 0) throw new Error('recent changes: the calls of a moved customer are read from the database');
        return [];
      },
    };
  }

  /**
   * Starts holding a tenant's changes after `seq` when none are held yet (delta-pokes.ts: the
   * first delta after a stream opened is then served from memory, not left to the pulls).
   */
  follow(tenantId: string, seq: number): void {
    if (!this.#tenants.has(tenantId)) this.#tenant(tenantId, seq);
  }

  #tenant(tenantId: string, lastSeq: number): TenantChanges {
    let tenant = this.#tenants.get(tenantId);
    if (tenant) {
      // Re-inserted: the map's order is the recency order.
      this.#tenants.delete(tenantId);
    } else {
      // Starts empty at the current sequence: cursors behind it are read from the database.
      tenant = new TenantChanges(lastSeq, lastSeq);
      if (this.#tenants.size >= this.#maxTenants) this.#tenants.delete(this.#tenants.keys().next().value as string);
    }
    this.#tenants.set(tenantId, tenant);
    return tenant;
  }

  /** Reads the entries after `from` and the current state of what they name, in one consistent read. */
  async #load(tenantId: string, tenant: TenantChanges, from: number, target: number): Promise<boolean> {
    const read = await readConsistently(this.handle, async (db) => {
      const source = databaseSource(db, tenantId);
      const entries = await source.entries(from, this.#capacity + 1);
      if (entries.length > this.#capacity) return null;
      const upserts = (entity: ChangeLogEntry['entity']) =>
        entries.filter((entry) => entry.entity === entity && entry.op === 'upsert').map((entry) => entry.entity_id);
      const [customers, incidents, contacts] = await Promise.all([
        source.customers(entries.flatMap((entry) => (entry.customer_id === null ? [] : [entry.customer_id]))),
        source.incidents(upserts('incident')),
        source.contacts(upserts('contact')),
      ]);
      return { entries, customers, incidents, contacts };
    });
    if (read === null) {
      tenant.restartAt(target);
      return true;
    }
    if (read.entries.length === 0) return false;
    tenant.append(read.entries, read, this.#capacity);
    return true;
  }
}
