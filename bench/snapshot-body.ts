import { createHash } from 'node:crypto';
import type { planTenant } from '../backend/src/seed/seed-backend.js';
import type { CustomerRecord, SnapshotPage } from '../shared/api.js';
import type { User } from '../shared/domain.js';
import { SNAPSHOT_COLUMNS, SNAPSHOT_FORMAT, SNAPSHOT_TABLES, type SnapshotTableName } from '../shared/snapshot-wire.js';

/**
 * A page's body as the backend sends it (backend/src/sync/snapshot.ts, whose database writes the
 * rows): each table's rows as arrays, references by position within the page, `derived` and
 * `callMeta` as the JSON text the backend stores.
 */
export function snapshotBody(records: readonly CustomerRecord[], header: Omit<SnapshotPage, 'records'>): string {
  const users = new Map<string, number>();
  const userRows: unknown[][] = [];
  const user = (id: string | null, name: string | null): number | null => {
    if (id === null) return null;
    let at = users.get(id);
    if (at === undefined) {
      at = userRows.length;
      users.set(id, at);
      userRows.push([id, name]);
    }
    return at;
  };
  const rows: Record<SnapshotTableName, unknown[][]> = { users: userRows, customers: [], phones: [], emails: [], incidents: [], contacts: [] };
  const incidentAt = new Map<string, number>();
  records.forEach(({ customer }, at) => {
    const rep = user(customer.assignedRepId, customer.assignedRepName);
    rows.customers.push([customer.id, customer.code, customer.name, customer.nameKana, customer.postalCode, customer.address, customer.branch, rep, customer.classification, customer.type, customer.updatedAt, customer.derived === undefined ? null : JSON.stringify(customer.derived)]);
    for (const phone of customer.phones) rows.phones.push([at, phone.e164, phone.kind]);
    for (const email of customer.emails) rows.emails.push([at, email]);
  });
  records.forEach(({ incidents }, at) => {
    for (const incident of incidents) {
      incidentAt.set(incident.id, rows.incidents.length);
      rows.incidents.push([incident.id, at, incident.title, incident.status, user(incident.assigneeId, incident.assigneeName), incident.openedAt, incident.closedAt, incident.updatedAt]);
    }
  });
  records.forEach(({ contacts }, at) => {
    for (const contact of contacts) {
      const agent = user(contact.agentId, contact.agentName);
      const callMeta = contact.callMeta === null ? null : JSON.stringify(contact.callMeta);
      rows.contacts.push([contact.id, incidentAt.get(contact.incidentId) ?? contact.incidentId, at, contact.kind, contact.direction, contact.occurredAt, agent, contact.summary, contact.body, callMeta]);
    }
  });
  const tables = Object.fromEntries(SNAPSHOT_TABLES.map((table) => [table, { columns: SNAPSHOT_COLUMNS[table], rows: rows[table] }]));
  return JSON.stringify({ format: SNAPSHOT_FORMAT, ...header, tables });
}

/** A version-4 UUID made from `id` (the same for the same id): random-looking, as node:crypto's randomUUID. */
function randomLookingUuid(id: string): string {
  const hex = createHash('sha256').update(id).digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The record with random incident and contact ids, as the backend gives them (randomUUID in
 * backend/src/customers/writes.ts). The seed generator's ids are ordered by customer, so in page
 * order every incident and contact id, and every contacts_incident key, would be appended at the
 * end of its index; real ones land anywhere in it, and the cost of that grows with the cache.
 */
export function withRandomIds(record: CustomerRecord): CustomerRecord {
  const incidentIds = new Map(record.incidents.map((incident) => [incident.id, randomLookingUuid(incident.id)]));
  return {
    customer: record.customer,
    incidents: record.incidents.map((incident) => ({ ...incident, id: incidentIds.get(incident.id) ?? incident.id })),
    contacts: record.contacts.map((contact) => ({
      ...contact,
      id: randomLookingUuid(contact.id),
      incidentId: incidentIds.get(contact.incidentId) ?? randomLookingUuid(contact.incidentId),
    })),
  };
}

/** The rights of the planned tenant's admin, as a snapshot page's header carries them (an admin sees every customer). */
export function adminRights(plan: ReturnType<typeof planTenant>): User {
  const admin = plan.users.find((user) => user.account.role === 'admin');
  if (!admin) throw new Error('the demo users have no admin');
  return {
    id: admin.id,
    tenantId: plan.tenantId,
    login: admin.account.login,
    displayName: admin.account.displayName,
    role: admin.account.role,
    branch: admin.account.branch,
    customerLimitAuthority: admin.account.customerLimitAuthority,
    mayHandleUnregisteredCallers: admin.account.mayHandleUnregisteredCallers,
  } as User;
}
