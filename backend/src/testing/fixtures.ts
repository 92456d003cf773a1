import { randomUUID } from 'node:crypto';
import type { CallMeta, Classification, ContactKind, CustomerType, Direction, Phone, Role, User } from '../../../shared/domain.js';
import { tenantSipUser } from '../../../shared/sip-identity.js';
import { hashPassword } from '../auth/passwords.js';
import type { Argon2Config } from '../config.js';
import { insertContact, insertCustomer, insertIncident, type CustomerFields } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { writeTransaction } from '../sync/changelog.js';
import { toUser } from '../users/users.js';

/**
 * Builders of tenants, users and customer records for tests and the demo seed. Customer
 * records go through the same write functions as the routes, so the change log is filled
 * exactly as in production.
 */

export interface TenantSpec {
  slug: string;
  name?: string;
  defaultRegion?: string;
}

export interface FixtureTenant {
  id: string;
  slug: string;
  name: string;
  defaultRegion: string;
}

export async function createTenant(handle: DatabaseHandle, spec: TenantSpec): Promise<FixtureTenant> {
  const tenant = { id: randomUUID(), slug: spec.slug, name: spec.name ?? spec.slug, defaultRegion: spec.defaultRegion ?? 'JP' };
  await handle.db
    .insertInto('tenants')
    .values({
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      default_region: tenant.defaultRegion,
      last_seq: 0,
      created_at: new Date().toISOString(),
    })
    .execute();
  return tenant;
}

export interface UserSpec {
  login: string;
  password: string;
  displayName?: string;
  role?: Role;
  branch?: string | null;
  customerLimitAuthority?: Classification;
  mayHandleUnregisteredCallers?: boolean;
  /** An extension (shared/sip-identity.ts), null for no phone; omitted: the tenant-qualified default. */
  sipUser?: string | null;
  /** A `partner` user's organisation (migration 023). */
  partnerOrg?: string;
}

export async function createUser(handle: DatabaseHandle, tenantId: string, spec: UserSpec, argon2: Argon2Config): Promise<User> {
  const now = new Date().toISOString();
  const tenant = await handle.db.selectFrom('tenants').select('slug').where('id', '=', tenantId).executeTakeFirstOrThrow();
  const row = await handle.db
    .insertInto('users')
    .values({
      id: randomUUID(),
      tenant_id: tenantId,
      login: spec.login,
      display_name: spec.displayName ?? spec.login,
      password_hash: await hashPassword(spec.password, argon2),
      role: spec.role ?? 'agent',
      branch: spec.branch ?? null,
      customer_limit_authority: spec.customerLimitAuthority ?? 3,
      may_handle_unregistered: spec.mayHandleUnregisteredCallers ? 1 : 0,
      sip_user: spec.sipUser === undefined ? tenantSipUser(spec.login, tenant.slug) : spec.sipUser,
      ...(spec.partnerOrg !== undefined ? { partner_org: spec.partnerOrg } : {}),
      disabled: 0,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toUser(row);
}

export interface ContactSpec {
  kind?: ContactKind;
  direction?: Direction;
  occurredAt?: string;
  agentId?: string | null;
  summary?: string;
  body?: string;
  callMeta?: CallMeta | null;
}

export interface IncidentSpec {
  title: string;
  status?: 'open' | 'closed';
  assigneeId?: string | null;
  openedAt?: string;
  contacts?: ContactSpec[];
}

export interface CustomerSpec {
  code: string;
  name: string;
  nameKana?: string;
  phones?: Phone[];
  emails?: string[];
  postalCode?: string;
  address?: string;
  branch?: string | null;
  assignedRepId?: string | null;
  classification?: Classification;
  type?: CustomerType;
  incidents?: IncidentSpec[];
}

export interface FixtureCustomer {
  id: string;
  incidentIds: string[];
  contactIds: string[];
}

/** A customer with its incidents and contacts, written in one transaction. */
export async function createCustomerRecord(handle: DatabaseHandle, tenantId: string, spec: CustomerSpec): Promise<FixtureCustomer> {
  const fields: CustomerFields = {
    code: spec.code,
    name: spec.name,
    nameKana: spec.nameKana ?? '',
    phones: spec.phones ?? [],
    emails: spec.emails ?? [],
    postalCode: spec.postalCode ?? '',
    address: spec.address ?? '',
    branch: spec.branch ?? null,
    assignedRepId: spec.assignedRepId ?? null,
    classification: spec.classification ?? 3,
    type: spec.type ?? 'existing',
  };
  return writeTransaction(handle, async (tx) => {
    const id = await insertCustomer(tx, tenantId, fields);
    const incidentIds: string[] = [];
    const contactIds: string[] = [];
    for (const incident of spec.incidents ?? []) {
      const incidentId = await insertIncident(tx, tenantId, {
        customerId: id,
        title: incident.title,
        status: incident.status ?? 'open',
        assigneeId: incident.assigneeId ?? null,
        ...(incident.openedAt ? { openedAt: incident.openedAt } : {}),
      });
      incidentIds.push(incidentId);
      for (const contact of incident.contacts ?? []) {
        contactIds.push(
          await insertContact(tx, tenantId, {
            incidentId,
            customerId: id,
            kind: contact.kind ?? 'note',
            direction: contact.direction ?? 'internal',
            occurredAt: contact.occurredAt ?? new Date().toISOString(),
            agentId: contact.agentId ?? null,
            summary: contact.summary ?? '',
            body: contact.body ?? '',
            callMeta: contact.callMeta ?? null,
          }),
        );
      }
    }
    return { id, incidentIds, contactIds };
  });
}

/** The password of every user that `createDemoTenant` makes. */
export const DEMO_PASSWORD = 'tsunagu-demo-password';

export interface DemoTenant {
  tenant: FixtureTenant;
  password: string;
  users: {
    /** Sees everything. */
    admin: User;
    /** Whole tenant, authority 1. */
    supervisor: User;
    /** Whole tenant, authority 3: class-3 customers only. */
    agent: User;
    /** Branch "osaka", authority 2, may handle unregistered callers. */
    osakaAgent: User;
  };
  customers: {
    /** Class 3, no branch: 山田 太郎, +81312345678 and +819012345678, one incident with two contacts. */
    yamada: FixtureCustomer;
    /** Class 2, branch osaka: 佐藤 花子, +81661234567. */
    sato: FixtureCustomer;
    /** Class 1 (confidential), no branch: Acme Holdings, +81355550000. */
    acme: FixtureCustomer;
  };
}

/** A small tenant with one user per kind of rights and three customers that tell them apart. */
export async function createDemoTenant(
  handle: DatabaseHandle,
  argon2: Argon2Config,
  spec: TenantSpec = { slug: 'demo', name: 'Demo Contact Center' },
): Promise<DemoTenant> {
  const tenant = await createTenant(handle, spec);
  const password = DEMO_PASSWORD;
  const admin = await createUser(handle, tenant.id, { login: 'admin', displayName: '管理 者', role: 'admin', customerLimitAuthority: 1, password }, argon2);
  const supervisor = await createUser(
    handle,
    tenant.id,
    { login: 'supervisor', displayName: '監督 花子', role: 'supervisor', customerLimitAuthority: 1, password },
    argon2,
  );
  const agent = await createUser(handle, tenant.id, { login: 'agent', displayName: '鈴木 一郎', customerLimitAuthority: 3, password }, argon2);
  const osakaAgent = await createUser(
    handle,
    tenant.id,
    { login: 'osaka', displayName: '大阪 次郎', branch: 'osaka', customerLimitAuthority: 2, mayHandleUnregisteredCallers: true, password },
    argon2,
  );
  const yamada = await createCustomerRecord(handle, tenant.id, {
    code: 'C-0001',
    name: '山田 太郎',
    nameKana: 'ヤマダ タロウ',
    phones: [
      { e164: '+81312345678', kind: 'landline' },
      { e164: '+819012345678', kind: 'mobile' },
    ],
    emails: ['taro.yamada@example.jp'],
    postalCode: '100-0001',
    address: '東京都千代田区千代田1-1',
    assignedRepId: agent.id,
    classification: 3,
    incidents: [
      {
        title: '請求書の再発行',
        assigneeId: agent.id,
        contacts: [
          {
            kind: 'call',
            direction: 'inbound',
            agentId: agent.id,
            summary: '請求書が届かないとのお問い合わせ',
            callMeta: { from: '+81312345678', durationSeconds: 180 },
          },
          { kind: 'note', direction: 'internal', agentId: agent.id, summary: '再発行を手配', body: '経理に再発行を依頼した。' },
        ],
      },
    ],
  });
  const sato = await createCustomerRecord(handle, tenant.id, {
    code: 'C-0002',
    name: '佐藤 花子',
    nameKana: 'サトウ ハナコ',
    phones: [{ e164: '+81661234567', kind: 'landline' }],
    emails: ['hanako.sato@example.jp'],
    postalCode: '530-0001',
    address: '大阪府大阪市北区梅田1-1',
    branch: 'osaka',
    classification: 2,
    incidents: [{ title: '製品の使い方', contacts: [{ kind: 'email', direction: 'inbound', summary: '設定方法について' }] }],
  });
  const acme = await createCustomerRecord(handle, tenant.id, {
    code: 'C-0003',
    name: 'Acme Holdings',
    nameKana: 'アクメ ホールディングス',
    phones: [{ e164: '+81355550000', kind: 'landline' }],
    emails: ['board@acme.example.com'],
    classification: 1,
    type: 'dealer',
    incidents: [{ title: 'Contract renewal', contacts: [{ kind: 'visit', direction: 'outbound', summary: 'Board meeting' }] }],
  });
  return { tenant, password, users: { admin, supervisor, agent, osakaAgent }, customers: { yamada, sato, acme } };
}
