import { randomUUID } from 'node:crypto';
import type { CallMeta, Classification, ContactKind, CustomerType, Direction, IncidentStatus, Phone } from '../../../shared/domain.js';
import type { WriteTx } from '../sync/changelog.js';

/**
 * The writes of customer records. Each one records its change in the change log through the
 * transaction it is given, so the sync feed sees every write. They trust their input: routes
 * (and fixtures, and the seed) check rights and tenant membership before calling them.
 */

export interface CustomerFields {
  code: string;
  name: string;
  nameKana: string;
  phones: Phone[];
  emails: string[];
  postalCode: string;
  address: string;
  branch: string | null;
  assignedRepId: string | null;
  classification: Classification;
  type: CustomerType;
}

async function replacePhonesAndEmails(
  tx: WriteTx,
  tenantId: string,
  customerId: string,
  fields: Partial<Pick<CustomerFields, 'phones' | 'emails'>>,
): Promise<void> {
  if (fields.phones) {
    await tx.trx.deleteFrom('customer_phones').where('customer_id', '=', customerId).execute();
    if (fields.phones.length > 0) {
      await tx.trx
        .insertInto('customer_phones')
        .values(fields.phones.map((phone, position) => ({ customer_id: customerId, tenant_id: tenantId, position, e164: phone.e164, kind: phone.kind })))
        .execute();
    }
  }
  if (fields.emails) {
    await tx.trx.deleteFrom('customer_emails').where('customer_id', '=', customerId).execute();
    if (fields.emails.length > 0) {
      await tx.trx
        .insertInto('customer_emails')
        .values(fields.emails.map((email, position) => ({ customer_id: customerId, tenant_id: tenantId, position, email })))
        .execute();
    }
  }
}

export async function insertCustomer(tx: WriteTx, tenantId: string, fields: CustomerFields, id: string = randomUUID()): Promise<string> {
  const now = new Date().toISOString();
  await tx.trx
    .insertInto('customers')
    .values({
      id,
      tenant_id: tenantId,
      code: fields.code,
      name: fields.name,
      name_kana: fields.nameKana,
      postal_code: fields.postalCode,
      address: fields.address,
      branch: fields.branch,
      assigned_rep_id: fields.assignedRepId,
      classification: fields.classification,
      type: fields.type,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await replacePhonesAndEmails(tx, tenantId, id, fields);
  await tx.recordChange({ tenantId, entity: 'customer', entityId: id, customerId: id, op: 'upsert' });
  return id;
}

/**
 * Applies the given fields to a customer. Returns the names of the fields that changed, or null
 * when the customer does not exist in the tenant.
 */
export async function updateCustomer(
  tx: WriteTx,
  tenantId: string,
  customerId: string,
  patch: Partial<CustomerFields>,
): Promise<string[] | null> {
  const before = await tx.trx
    .selectFrom('customers')
    .select(['classification', 'branch'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!before) return null;
  const columns = {
    code: patch.code,
    name: patch.name,
    name_kana: patch.nameKana,
    postal_code: patch.postalCode,
    address: patch.address,
    branch: patch.branch,
    assigned_rep_id: patch.assignedRepId,
    classification: patch.classification,
    type: patch.type,
  };
  const set = Object.fromEntries(Object.entries(columns).filter(([, value]) => value !== undefined));
  await tx.trx
    .updateTable('customers')
    .set({ ...set, updated_at: new Date().toISOString() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', customerId)
    .execute();
  await replacePhonesAndEmails(tx, tenantId, customerId, patch);
  const visibilityChanged =
    (patch.classification !== undefined && patch.classification !== before.classification) ||
    (patch.branch !== undefined && patch.branch !== before.branch);
  await tx.recordChange({
    tenantId,
    entity: 'customer',
    entityId: customerId,
    customerId,
    op: 'upsert',
    visibilityChanged,
    ...(visibilityChanged ? { visibilityBefore: { classification: before.classification, branch: before.branch } } : {}),
  });
  return Object.keys(patch).filter((key) => patch[key as keyof CustomerFields] !== undefined);
}

export interface IncidentFields {
  customerId: string;
  title: string;
  status: IncidentStatus;
  assigneeId: string | null;
  openedAt?: string;
}

export async function insertIncident(tx: WriteTx, tenantId: string, fields: IncidentFields, id: string = randomUUID()): Promise<string> {
  const now = new Date().toISOString();
  const openedAt = fields.openedAt ?? now;
  await tx.trx
    .insertInto('incidents')
    .values({
      id,
      tenant_id: tenantId,
      customer_id: fields.customerId,
      title: fields.title,
      status: fields.status,
      assignee_id: fields.assigneeId,
      opened_at: openedAt,
      closed_at: fields.status === 'closed' ? now : null,
      updated_at: now,
    })
    .execute();
  await tx.recordChange({ tenantId, entity: 'incident', entityId: id, customerId: fields.customerId, op: 'upsert' });
  return id;
}

/**
 * The customer's open incident of this title (the newest, if several), opened on first use: where
 * entries that belong to no conversation of their own are filed, such as the PBX's call log.
 */
export async function openIncidentTitled(tx: WriteTx, tenantId: string, customerId: string, title: string): Promise<string> {
  const open = await tx.trx
    .selectFrom('incidents')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('title', '=', title)
    .where('status', '=', 'open')
    .orderBy('opened_at', 'desc')
    .executeTakeFirst();
  return open?.id ?? insertIncident(tx, tenantId, { customerId, title, status: 'open', assigneeId: null });
}

export interface ContactFields {
  incidentId: string;
  customerId: string;
  kind: ContactKind;
  direction: Direction;
  occurredAt: string;
  agentId: string | null;
  summary: string;
  body: string;
  callMeta: CallMeta | null;
}

/** The contacts row of a new contact (also written by the one-statement note of sync/push.ts). */
export function contactRow(tenantId: string, fields: ContactFields, id: string) {
  return {
    id,
    tenant_id: tenantId,
    incident_id: fields.incidentId,
    customer_id: fields.customerId,
    kind: fields.kind,
    direction: fields.direction,
    occurred_at: new Date(fields.occurredAt).toISOString(),
    agent_id: fields.agentId,
    summary: fields.summary,
    body: fields.body,
    call_meta: fields.callMeta === null ? null : JSON.stringify(fields.callMeta),
    created_at: new Date().toISOString(),
  };
}

export async function insertContact(tx: WriteTx, tenantId: string, fields: ContactFields, id: string = randomUUID()): Promise<string> {
  await tx.trx.insertInto('contacts').values(contactRow(tenantId, fields, id)).execute();
  await tx.recordChange({ tenantId, entity: 'contact', entityId: id, customerId: fields.customerId, op: 'upsert' });
  return id;
}

/** The first line of a note, shortened, shown in the incident tree. */
export function summariseNote(body: string): string {
  const firstLine = body.trim().split(/\r?\n/, 1)[0] ?? '';
  return [...firstLine].length > 120 ? `${[...firstLine].slice(0, 119).join('')}…` : firstLine;
}

/** Whether a database error is a unique-constraint violation, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
