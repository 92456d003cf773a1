import type { Kysely, Selectable } from 'kysely';
import type { CustomerRecord } from '../../../shared/api.js';
import {
  CallMeta,
  type Classification,
  type Contact,
  type Customer,
  type Incident,
  type UserRights,
} from '../../../shared/domain.js';
import type { ContactsTable, CustomersTable, Database, IncidentsTable } from '../db/schema.js';
import { derivedDb, readDerivedAttributes } from '../derived/schema.js';
import { visibleCustomerSql } from './visibility.js';

/**
 * The customer of the tenant with this E.164 number, among those `visibleTo` may see (all
 * when omitted). Several customers may share a number (a company switchboard): the latest
 * edited wins.
 */
export async function findCustomerIdByPhone(db: Kysely<Database>, tenantId: string, e164: string, visibleTo?: UserRights): Promise<string | null> {
  let query = db
    .selectFrom('customers as c')
    .innerJoin('customer_phones as p', 'p.customer_id', 'c.id')
    .select('c.id')
    .where('c.tenant_id', '=', tenantId)
    .where('p.tenant_id', '=', tenantId)
    .where('p.e164', '=', e164);
  if (visibleTo) query = query.where(visibleCustomerSql(visibleTo, 'c'));
  const match = await query.orderBy('c.updated_at', 'desc').orderBy('c.id').executeTakeFirst();
  return match?.id ?? null;
}

/** Bounds the size of `in (…)` lists: SQLite caps bound parameters, and huge lists plan badly. */
const IN_LIST_CHUNK = 500;

function chunked<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += IN_LIST_CHUNK) chunks.push(items.slice(i, i + IN_LIST_CHUNK));
  return chunks;
}

type CustomerRow = Selectable<CustomersTable> & { rep_name: string | null };
type IncidentRow = Selectable<IncidentsTable> & { assignee_name: string | null };
type ContactRow = Selectable<ContactsTable> & { agent_name: string | null };

function toCustomer(row: CustomerRow, phones: Customer['phones'], emails: string[], derived: Customer['derived'] = undefined): Customer {
  const customer: Customer = {
    id: row.id,
    code: row.code,
    name: row.name,
    nameKana: row.name_kana,
    phones,
    emails,
    postalCode: row.postal_code,
    address: row.address,
    branch: row.branch,
    assignedRepId: row.assigned_rep_id,
    assignedRepName: row.rep_name,
    classification: row.classification as Classification,
    type: row.type,
    updatedAt: row.updated_at,
  };
  // Absent rather than null until the job has run: records compare equal with or without it.
  if (derived) customer.derived = derived;
  return customer;
}

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    customerId: row.customer_id,
    title: row.title,
    status: row.status,
    assigneeId: row.assignee_id,
    assigneeName: row.assignee_name,
    openedAt: row.opened_at,
    closedAt: row.closed_at,
    updatedAt: row.updated_at,
  };
}

function parseCallMeta(text: string | null): Contact['callMeta'] {
  if (text === null) return null;
  try {
    const parsed = CallMeta.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function toContact(row: ContactRow): Contact {
  return {
    id: row.id,
    incidentId: row.incident_id,
    customerId: row.customer_id,
    kind: row.kind,
    direction: row.direction,
    occurredAt: row.occurred_at,
    agentId: row.agent_id,
    agentName: row.agent_name,
    summary: row.summary,
    body: row.body,
    callMeta: parseCallMeta(row.call_meta),
  };
}

/** Customers of a tenant by id, with phones, e-mails and the assigned rep's name. Missing ids are absent. */
export async function loadCustomers(db: Kysely<Database>, tenantId: string, ids: readonly string[]): Promise<Map<string, Customer>> {
  const result = new Map<string, Customer>();
  for (const chunk of chunked([...new Set(ids)])) {
    const [rows, phones, emails, derived] = await Promise.all([
      db
        .selectFrom('customers as c')
        .leftJoin('users as u', 'u.id', 'c.assigned_rep_id')
        .selectAll('c')
        .select('u.display_name as rep_name')
        .where('c.tenant_id', '=', tenantId)
        .where('c.id', 'in', chunk)
        .execute(),
      db
        .selectFrom('customer_phones')
        .select(['customer_id', 'e164', 'kind'])
        .where('tenant_id', '=', tenantId)
        .where('customer_id', 'in', chunk)
        .orderBy('customer_id')
        .orderBy('position')
        .execute(),
      db
        .selectFrom('customer_emails')
        .select(['customer_id', 'email'])
        .where('tenant_id', '=', tenantId)
        .where('customer_id', 'in', chunk)
        .orderBy('customer_id')
        .orderBy('position')
        .execute(),
      derivedDb(db).selectFrom('customer_derived').select(['customer_id', 'attributes']).where('tenant_id', '=', tenantId).where('customer_id', 'in', chunk).execute(),
    ]);
    const derivedOf = new Map(derived.map((row) => [row.customer_id, readDerivedAttributes(row.attributes) ?? undefined]));
    const phonesOf = groupBy(phones, (p) => p.customer_id);
    const emailsOf = groupBy(emails, (e) => e.customer_id);
    for (const row of rows) {
      result.set(
        row.id,
        toCustomer(
          row,
          (phonesOf.get(row.id) ?? []).map((p) => ({ e164: p.e164, kind: p.kind })),
          (emailsOf.get(row.id) ?? []).map((e) => e.email),
          derivedOf.get(row.id),
        ),
      );
    }
  }
  return result;
}

function incidentQuery(db: Kysely<Database>, tenantId: string) {
  return db
    .selectFrom('incidents as i')
    .leftJoin('users as u', 'u.id', 'i.assignee_id')
    .selectAll('i')
    .select('u.display_name as assignee_name')
    .where('i.tenant_id', '=', tenantId);
}

function contactQuery(db: Kysely<Database>, tenantId: string) {
  return db
    .selectFrom('contacts as ct')
    .leftJoin('users as u', 'u.id', 'ct.agent_id')
    .selectAll('ct')
    .select('u.display_name as agent_name')
    .where('ct.tenant_id', '=', tenantId);
}

export async function loadIncidents(db: Kysely<Database>, tenantId: string, ids: readonly string[]): Promise<Map<string, Incident>> {
  const result = new Map<string, Incident>();
  for (const chunk of chunked([...new Set(ids)])) {
    for (const row of await incidentQuery(db, tenantId).where('i.id', 'in', chunk).execute()) result.set(row.id, toIncident(row));
  }
  return result;
}

export async function loadContacts(db: Kysely<Database>, tenantId: string, ids: readonly string[]): Promise<Map<string, Contact>> {
  const result = new Map<string, Contact>();
  for (const chunk of chunked([...new Set(ids)])) {
    for (const row of await contactQuery(db, tenantId).where('ct.id', 'in', chunk).execute()) result.set(row.id, toContact(row));
  }
  return result;
}

/**
 * Whole records (customer, incidents, contacts) in the order of `customerIds`; ids of
 * customers that do not exist in the tenant are skipped. Callers filter visibility first.
 */
export async function loadCustomerRecords(
  db: Kysely<Database>,
  tenantId: string,
  customerIds: readonly string[],
): Promise<CustomerRecord[]> {
  const customers = await loadCustomers(db, tenantId, customerIds);
  const ids = [...customers.keys()];
  const incidentsOf = new Map<string, Incident[]>();
  const contactsOf = new Map<string, Contact[]>();
  for (const chunk of chunked(ids)) {
    const [incidents, contacts] = await Promise.all([
      incidentQuery(db, tenantId).where('i.customer_id', 'in', chunk).orderBy('i.opened_at').orderBy('i.id').execute(),
      contactQuery(db, tenantId).where('ct.customer_id', 'in', chunk).orderBy('ct.occurred_at').orderBy('ct.id').execute(),
    ]);
    for (const row of incidents) pushTo(incidentsOf, row.customer_id, toIncident(row));
    for (const row of contacts) pushTo(contactsOf, row.customer_id, toContact(row));
  }
  const records: CustomerRecord[] = [];
  for (const id of customerIds) {
    const customer = customers.get(id);
    if (!customer) continue;
    records.push({ customer, incidents: incidentsOf.get(id) ?? [], contacts: contactsOf.get(id) ?? [] });
  }
  return records;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) pushTo(groups, keyOf(item), item);
  return groups;
}

function pushTo<T>(groups: Map<string, T[]>, key: string, item: T): void {
  const group = groups.get(key);
  if (group) group.push(item);
  else groups.set(key, [item]);
}
