import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { CustomerRecord } from '../../../shared/api.js';
import type { Role } from '../../../shared/domain.js';
import { tenantSipUser } from '../../../shared/sip-identity.js';
import { hashPassword } from '../auth/passwords.js';
import type { Argon2Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { CustomerGenerator, type SeedUser } from './generator.js';
import { Prng } from './prng.js';
import { seedCallsForYou } from '../branch-calls/fixtures.js';
import { seedMailFixtures } from '../mail/fixtures.js';
import { recordingsDb } from '../recordings/schema.js';
import { saveRecordingSettings } from '../recordings/store.js';
import { resolvePolicy } from '../../../shared/exchange.js';
import { createExchangeExport, shareExchangeExport } from '../exchange/exports.js';
import { HttpError } from '../http/errors.js';
import { DEMO_PORTAL_ACCOUNT, seedPortal } from '../portal/seed.js';
import { seedRepRouting } from '../rep-requests/seed.js';

export interface SeedTenant {
  slug: string;
  name: string;
  region: string;
}

export interface SeedUserAccount {
  login: string;
  password: string;
  displayName: string;
  role: Role;
  branch: string | null;
  customerLimitAuthority: 1 | 2 | 3;
  mayHandleUnregisteredCallers: boolean;
  /** "Calls for you": sees the list, may not mark calls handled. */
  callsViewOnly?: boolean;
  /** Assigned as a customer's rep by the generator. */
  isRep: boolean;
  /** A `partner` user's organisation (the PII-stripped exchange). */
  partnerOrg?: string;
}

export const DEMO_TENANT: SeedTenant = { slug: 'demo', name: 'デモ株式会社', region: 'JP' };

/**
 * The demo accounts. Important: these passwords are printed and documented; they exist for
 * demos and tests on loopback and must never be used on a reachable backend.
 */
export const DEMO_USERS: readonly SeedUserAccount[] = [
  { login: 'agent1', password: 'agent1-pass', displayName: 'オペレーター 一号', role: 'agent', branch: null, customerLimitAuthority: 2, mayHandleUnregisteredCallers: true, isRep: true },
  { login: 'agent2', password: 'agent2-pass', displayName: 'オペレーター 二号', role: 'agent', branch: null, customerLimitAuthority: 3, mayHandleUnregisteredCallers: false, isRep: true },
  { login: 'super1', password: 'super1-pass', displayName: 'スーパーバイザー 一号', role: 'supervisor', branch: null, customerLimitAuthority: 1, mayHandleUnregisteredCallers: true, isRep: true },
  { login: 'admin', password: 'admin-pass', displayName: '管理者', role: 'admin', branch: null, customerLimitAuthority: 1, mayHandleUnregisteredCallers: true, isRep: false },
  { login: 'rep-shibuya', password: 'rep-shibuya-pass', displayName: '渋谷支店 営業担当', role: 'agent', branch: '渋谷支店', customerLimitAuthority: 2, mayHandleUnregisteredCallers: false, isRep: true },
  // Sees the branch's calls for you, may not respond to them. Last, so the other ids stay as they were.
  { login: 'viewer-shibuya', password: 'viewer-shibuya-pass', displayName: '渋谷支店 閲覧者', role: 'agent', branch: '渋谷支店', customerLimitAuthority: 2, mayHandleUnregisteredCallers: false, callsViewOnly: true, isRep: false },
  // A partner business's user: sees only the exchange's exports shared with its organisation.
  { login: 'partner1', password: 'partner1-pass', displayName: '協力会社 担当者', role: 'partner', branch: null, customerLimitAuthority: 3, mayHandleUnregisteredCallers: false, isRep: false, partnerOrg: '協力サポート株式会社' },
];

/** A second tenant whose only purpose is to prove that tenants never see each other's data. */
export const OTHER_TENANT: SeedTenant = { slug: 'other', name: 'アザー商事株式会社', region: 'JP' };
export const OTHER_USERS: readonly SeedUserAccount[] = [
  { login: 'agent1', password: 'other-agent1-pass', displayName: 'Other Agent', role: 'agent', branch: null, customerLimitAuthority: 1, mayHandleUnregisteredCallers: false, isRep: true },
  { login: 'admin', password: 'other-admin-pass', displayName: 'Other Admin', role: 'admin', branch: null, customerLimitAuthority: 1, mayHandleUnregisteredCallers: true, isRep: false },
];
export const OTHER_TENANT_CUSTOMERS = 25;

export class SeedTargetNotEmptyError extends Error {
  constructor(slug: string) {
    super(`Tenant "${slug}" already exists in the target database; seed an empty database (or pass --reset to drop every table first)`);
    this.name = 'SeedTargetNotEmptyError';
  }
}

export interface SeedBackendOptions {
  /** An open database, already migrated to the latest schema. */
  handle: DatabaseHandle;
  argon2: Argon2Config;
  customers: number;
  seed: number;
  now: Date;
  otherTenantCustomers?: number;
  /** Called after each written chunk of demo-tenant customers. */
  onProgress?: (written: number, total: number) => void;
}

export interface SeededTenant {
  slug: string;
  id: string;
  customers: number;
  incidents: number;
  contacts: number;
  /** `sipUser`: the user's phone on the PBX (shared/sip-identity.ts); null for admins. */
  users: { login: string; password: string; role: Role; branch: string | null; sipUser: string | null }[];
  /** The customer who can sign in to the tenant's portal (backend/src/portal/seed.ts), if any. */
  portalCustomerCode?: string | null;
  /** A second portal customer without an assigned rep (backend/src/rep-requests/seed.ts), if any. */
  portalNoRepCustomerCode?: string | null;
}

/** The demo tenant's seed stream and the other tenant's never meet: different ids, numbers. */
function otherTenantSeed(seed: number): number {
  return (seed + 0x9e3779b9) >>> 0;
}

/**
 * Fills an empty, migrated central database with the demo tenant (its users and `customers`
 * generated customers with incidents and contacts) and the small `other` tenant. The change
 * log stays empty: apps get seeded rows from the snapshot, which reads the tables.
 */
export async function seedBackend(options: SeedBackendOptions): Promise<SeededTenant[]> {
  const { handle } = options;
  for (const tenant of [DEMO_TENANT, OTHER_TENANT]) {
    const existing = await handle.db.selectFrom('tenants').select('id').where('slug', '=', tenant.slug).executeTakeFirst();
    if (existing) throw new SeedTargetNotEmptyError(tenant.slug);
  }
  const demo = await seedTenant(options, DEMO_TENANT, DEMO_USERS, options.seed, options.customers, options.onProgress);
  const other = await seedTenant(
    options,
    OTHER_TENANT,
    OTHER_USERS,
    otherTenantSeed(options.seed),
    options.otherTenantCustomers ?? OTHER_TENANT_CUSTOMERS,
  );
  // Support and fax addresses plus reply templates, so mail works on a fresh demo install.
  for (const tenant of [demo, other]) await seedMailFixtures(handle, tenant);
  // Calls to the branch rep, seminars and the callback template: "calls for you" on a fresh demo.
  await seedCallsForYou(handle, demo, options.now);
  // The demo tenant records every call (the dev PBX's recorder, pbx/recorder/), kept 90 days.
  await saveRecordingSettings(recordingsDb(handle.db), demo.id, { policy: { mode: 'all' }, retentionDays: 90 });
  // A portal customer who can sign in, and the pages and products of the portal.
  const portalCustomerCode = await seedPortal(handle, demo.id, options.argon2, options.now);
  // "Contact my rep": coverage, fallback, addresses, and a second portal customer without a rep.
  const portalNoRepCustomerCode = await seedRepRouting(handle, demo.id, options.argon2, { ...DEMO_PORTAL_ACCOUNT, customerCode: portalCustomerCode }, options.now);
  // One PII-stripped export shared with the demo partner, so its exchange view has something.
  await seedExchange(handle, demo, options.now);
  return [{ ...demo, portalCustomerCode, portalNoRepCustomerCode }, other];
}

async function seedTenant(
  options: SeedBackendOptions,
  tenant: SeedTenant,
  accounts: readonly SeedUserAccount[],
  seed: number,
  customers: number,
  onProgress?: (written: number, total: number) => void,
): Promise<SeededTenant> {
  const { handle } = options;
  const plan = planTenant(accounts, seed, customers, options.now);
  const { tenantId, generator } = plan;
  const createdAt = options.now.toISOString();
  const users = await Promise.all(
    plan.users.map(async ({ account, id }) => ({ account, id, passwordHash: await hashPassword(account.password, options.argon2) })),
  );

  await handle.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('tenants')
      .values({ id: tenantId, slug: tenant.slug, name: tenant.name, default_region: tenant.region, last_seq: 0, created_at: createdAt })
      .execute();
    await trx
      .insertInto('users')
      .values(
        users.map(({ account, id, passwordHash }) => ({
          id,
          tenant_id: tenantId,
          login: account.login,
          display_name: account.displayName,
          password_hash: passwordHash,
          role: account.role,
          branch: account.branch,
          customer_limit_authority: account.customerLimitAuthority,
          may_handle_unregistered: account.mayHandleUnregisteredCallers ? 1 : 0,
          calls_view_only: account.callsViewOnly === true ? 1 : 0,
          sip_user: seededSipUser(account, tenant.slug),
          partner_org: account.partnerOrg ?? null,
          disabled: 0,
          created_at: createdAt,
          updated_at: createdAt,
        })),
      )
      .execute();
  });

  const writer = handle.dialect === 'sqlite' ? new SqliteBulkWriter(handle.file, tenantId) : new PostgresBulkWriter(handle, tenantId);
  const totals = { customers: 0, incidents: 0, contacts: 0 };
  try {
    for (const chunk of generator.chunks(writer.chunkSize)) {
      await writer.write(chunk);
      totals.customers += chunk.length;
      for (const record of chunk) {
        totals.incidents += record.incidents.length;
        totals.contacts += record.contacts.length;
      }
      onProgress?.(totals.customers, customers);
    }
    await writer.finish();
  } finally {
    writer.close();
  }
  return {
    slug: tenant.slug,
    id: tenantId,
    ...totals,
    users: accounts.map((account) => ({ ...pick(account), sipUser: seededSipUser(account, tenant.slug) })),
  };
}

function pick({ login, password, role, branch }: SeedUserAccount) {
  return { login, password, role, branch };
}

/** Admins run the tenant and take no calls, partner users work in the exchange only: no phone. */
function seededSipUser(account: SeedUserAccount, tenantSlug: string): string | null {
  return account.role === 'admin' || account.role === 'partner' ? null : tenantSipUser(account.login, tenantSlug);
}

export interface TenantPlan {
  tenantId: string;
  users: { account: SeedUserAccount; id: string }[];
  generator: CustomerGenerator;
}

/**
 * The ids and the customer generator of a seeded tenant. Ids come from their own stream of
 * the seed, so a reseed, and a cache written with `--cache`, refer to the same users.
 */
export function planTenant(accounts: readonly SeedUserAccount[], seed: number, customers: number, now: Date): TenantPlan {
  const idRng = new Prng(seed, 0xfffffffe);
  const tenantId = idRng.uuid();
  const users = accounts.map((account) => ({ account, id: idRng.uuid() }));
  const asSeedUser = ({ account, id }: (typeof users)[number]): SeedUser => ({
    id,
    displayName: account.displayName,
    branch: account.branch,
  });
  const generator = new CustomerGenerator({
    seed,
    customers,
    now,
    reps: users.filter((user) => user.account.isRep).map(asSeedUser),
    // Contacts are handled by the contact center: agents and supervisors without a branch.
    agents: users.filter((user) => (user.account.role === 'agent' || user.account.role === 'supervisor') && user.account.branch === null).map(asSeedUser),
  });
  return { tenantId, users, generator };
}

/** When the customer joined: its first incident, or its last update when it has none. */
function customerCreatedAt(record: CustomerRecord): string {
  let earliest = record.customer.updatedAt;
  for (const incident of record.incidents) if (incident.openedAt < earliest) earliest = incident.openedAt;
  return earliest;
}

interface BulkWriter {
  readonly chunkSize: number;
  write(records: readonly CustomerRecord[]): Promise<void>;
  /** After the last chunk: refresh the planner's statistics of the bulk-loaded tables. */
  finish(): Promise<void>;
  close(): void;
}

/**
 * SQLite: a second connection to the backend's file with prepared statements, one large
 * transaction per chunk, and no fsync (synchronous OFF is this connection's setting only; a
 * crash mid-seed loses the seed, which is simply run again).
 */
class SqliteBulkWriter implements BulkWriter {
  readonly chunkSize = 5000;
  readonly #db: SQLite.Database;
  readonly #writeChunk: (records: readonly CustomerRecord[]) => void;

  constructor(file: string, tenantId: string) {
    this.#db = new SQLite(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = OFF');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('cache_size = -262144');
    // The generator's rows are consistent by construction; checking every reference of
    // millions of rows would cost one index lookup each.
    this.#db.pragma('foreign_keys = OFF');
    const insertCustomer = this.#db.prepare(
      `insert into customers (id, tenant_id, code, name, name_kana, postal_code, address, branch, assigned_rep_id,
        classification, type, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertPhone = this.#db.prepare(
      'insert into customer_phones (customer_id, tenant_id, position, e164, kind) values (?, ?, ?, ?, ?)',
    );
    const insertEmail = this.#db.prepare(
      'insert into customer_emails (customer_id, tenant_id, position, email) values (?, ?, ?, ?)',
    );
    const insertIncident = this.#db.prepare(
      `insert into incidents (id, tenant_id, customer_id, title, status, assignee_id, opened_at, closed_at, updated_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertContact = this.#db.prepare(
      `insert into contacts (id, tenant_id, incident_id, customer_id, kind, direction, occurred_at, agent_id, summary,
        body, call_meta, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#writeChunk = this.#db.transaction((records: readonly CustomerRecord[]) => {
      for (const { customer: c, incidents, contacts } of records) {
        insertCustomer.run(c.id, tenantId, c.code, c.name, c.nameKana, c.postalCode, c.address, c.branch,
          c.assignedRepId, c.classification, c.type, customerCreatedAt({ customer: c, incidents, contacts }), c.updatedAt);
        c.phones.forEach((phone, position) => insertPhone.run(c.id, tenantId, position, phone.e164, phone.kind));
        c.emails.forEach((email, position) => insertEmail.run(c.id, tenantId, position, email));
        for (const i of incidents) {
          insertIncident.run(i.id, tenantId, i.customerId, i.title, i.status, i.assigneeId, i.openedAt, i.closedAt, i.updatedAt);
        }
        for (const k of contacts) {
          insertContact.run(k.id, tenantId, k.incidentId, k.customerId, k.kind, k.direction, k.occurredAt, k.agentId,
            k.summary, k.body, k.callMeta === null ? null : JSON.stringify(k.callMeta), k.occurredAt);
        }
      }
    });
  }

  async write(records: readonly CustomerRecord[]): Promise<void> {
    this.#writeChunk(records);
  }

  async finish(): Promise<void> {
    // A sampled ANALYZE is cheap even on millions of rows.
    this.#db.pragma('analysis_limit = 1000');
    this.#db.exec('analyze');
  }

  close(): void {
    this.#db.close();
  }
}

/** PostgreSQL: multi-row INSERTs of up to ~1000 rows, one transaction per chunk. */
class PostgresBulkWriter implements BulkWriter {
  readonly chunkSize = 1000;

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly tenantId: string,
  ) {}

  async write(records: readonly CustomerRecord[]): Promise<void> {
    const tenantId = this.tenantId;
    const customers = records.map(({ customer: c, incidents, contacts }) => ({
      id: c.id,
      tenant_id: tenantId,
      code: c.code,
      name: c.name,
      name_kana: c.nameKana,
      postal_code: c.postalCode,
      address: c.address,
      branch: c.branch,
      assigned_rep_id: c.assignedRepId,
      classification: c.classification,
      type: c.type,
      created_at: customerCreatedAt({ customer: c, incidents, contacts }),
      updated_at: c.updatedAt,
    }));
    const phones = records.flatMap(({ customer: c }) =>
      c.phones.map((phone, position) => ({ customer_id: c.id, tenant_id: tenantId, position, e164: phone.e164, kind: phone.kind })),
    );
    const emails = records.flatMap(({ customer: c }) =>
      c.emails.map((email, position) => ({ customer_id: c.id, tenant_id: tenantId, position, email })),
    );
    const incidents = records.flatMap((record) =>
      record.incidents.map((i) => ({
        id: i.id,
        tenant_id: tenantId,
        customer_id: i.customerId,
        title: i.title,
        status: i.status,
        assignee_id: i.assigneeId,
        opened_at: i.openedAt,
        closed_at: i.closedAt,
        updated_at: i.updatedAt,
      })),
    );
    const contacts = records.flatMap((record) =>
      record.contacts.map((k) => ({
        id: k.id,
        tenant_id: tenantId,
        incident_id: k.incidentId,
        customer_id: k.customerId,
        kind: k.kind,
        direction: k.direction,
        occurred_at: k.occurredAt,
        agent_id: k.agentId,
        summary: k.summary,
        body: k.body,
        call_meta: k.callMeta === null ? null : JSON.stringify(k.callMeta),
        created_at: k.occurredAt,
      })),
    );
    await this.handle.db.transaction().execute(async (trx) => {
      // PostgreSQL takes at most 65535 parameters per statement; 1000 rows × 13 columns fits.
      for (const rows of batches(customers)) await trx.insertInto('customers').values(rows).execute();
      for (const rows of batches(phones)) await trx.insertInto('customer_phones').values(rows).execute();
      for (const rows of batches(emails)) await trx.insertInto('customer_emails').values(rows).execute();
      for (const rows of batches(incidents)) await trx.insertInto('incidents').values(rows).execute();
      for (const rows of batches(contacts)) await trx.insertInto('contacts').values(rows).execute();
    });
  }

  async finish(): Promise<void> {
    await sql`analyze customers, customer_phones, customer_emails, incidents, contacts`.execute(this.handle.db);
  }

  /** The writer borrows the backend's pool, which its owner closes. */
  close(): void {}
}

function batches<T>(rows: readonly T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * The last week's calls (the last day's when the week is too many, on a very large seed)
 * exported with the default policy by the admin and shared with the partner's organisation.
 */
async function seedExchange(handle: DatabaseHandle, tenant: SeededTenant, now: Date): Promise<void> {
  const partner = DEMO_USERS.find((account) => account.role === 'partner');
  if (!partner?.partnerOrg) return;
  const admin = await handle.db.selectFrom('users').select('id').where('tenant_id', '=', tenant.id).where('login', '=', 'admin').executeTakeFirstOrThrow();
  const policy = resolvePolicy({});
  for (const days of [7, 1]) {
    const filter = { from: new Date(now.getTime() - days * 86_400_000).toISOString(), to: now.toISOString(), contactKinds: ['call' as const] };
    try {
      const created = await createExchangeExport(handle.db, { tenantId: tenant.id, userId: admin.id, title: `通話履歴（直近${days}日）`, filter, policy });
      await shareExchangeExport(handle.db, { tenantId: tenant.id, userId: admin.id, exportId: created.id, partnerOrg: partner.partnerOrg });
      return;
    } catch (error) {
      if (!(error instanceof HttpError && error.code === 'invalid_input')) throw error;
    }
  }
}
