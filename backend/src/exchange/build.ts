import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Contact, Customer, Incident } from '../../../shared/domain.js';
import {
  EXCHANGE_FIELD_NAMES,
  EXPORT_RECORD_LIMIT,
  type ExchangeField,
  type ExchangeFilter,
  type ExchangePolicy,
  type ExchangeRecord,
} from '../../../shared/exchange.js';
import { loadContacts, loadCustomers, loadIncidents } from '../customers/records.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { compileScrubber, phoneKey, Pseudonymiser, valueKey } from './scrub.js';

/** The contacts a filter selects, oldest first; at most `limit`. */
async function selectContactIds(db: Kysely<Database>, tenantId: string, filter: ExchangeFilter, limit: number): Promise<string[]> {
  let query = db
    .selectFrom('contacts as ct')
    .innerJoin('incidents as i', 'i.id', 'ct.incident_id')
    .innerJoin('customers as c', 'c.id', 'ct.customer_id')
    .select('ct.id')
    .where('ct.tenant_id', '=', tenantId)
    .where('i.tenant_id', '=', tenantId)
    .where('c.tenant_id', '=', tenantId);
  if (filter.from) query = query.where('ct.occurred_at', '>=', new Date(filter.from).toISOString());
  if (filter.to) query = query.where('ct.occurred_at', '<=', new Date(filter.to).toISOString());
  if (filter.product) {
    const pattern = `%${filter.product.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    query = query.where(sql<SqlBool>`lower(i.title) like ${pattern} escape '\\'`);
  }
  if (filter.contactKinds && filter.contactKinds.length > 0) query = query.where('ct.kind', 'in', filter.contactKinds);
  if (filter.customerTypes && filter.customerTypes.length > 0) query = query.where('c.type', 'in', filter.customerTypes);
  if (filter.incidentStatus) query = query.where('i.status', '=', filter.incidentStatus);
  const rows = await query.orderBy('ct.occurred_at').orderBy('ct.id').limit(limit).execute();
  return rows.map((row) => row.id);
}

/** How many contacts a filter selects (the preview's total). */
export async function countSelection(db: Kysely<Database>, tenantId: string, filter: ExchangeFilter): Promise<number> {
  return (await selectContactIds(db, tenantId, filter, EXPORT_RECORD_LIMIT + 1)).length;
}

interface StaffMember {
  id: string;
  displayName: string;
}

/**
 * Builds records from a selection under a policy with one export's pseudonymiser. The
 * scrubber of a record knows its customer's names, kana, Latin spellings, code and address,
 * and every staff member's name.
 */
class RecordBuilder {
  readonly #scrubbers = new Map<string, (text: string) => string>();

  constructor(
    readonly policy: ExchangePolicy,
    readonly pseudonyms: Pseudonymiser,
    readonly staff: StaffMember[],
  ) {}

  #scrubberFor(customer: Customer): (text: string) => string {
    let scrubber = this.#scrubbers.get(customer.id);
    if (!scrubber) {
      const literals = [
        { value: customer.code, replacement: this.pseudonyms.of('code', valueKey(customer.code)) },
        { value: customer.address, replacement: '[ADDRESS]' },
      ];
      scrubber = compileScrubber({
        people: [
          { names: [customer.name, customer.nameKana], replacement: this.pseudonyms.of('person', customer.id) },
          ...this.staff.map((member) => ({ names: [member.displayName], replacement: this.pseudonyms.of('staff', member.id) })),
        ],
        literals,
      });
      this.#scrubbers.set(customer.id, scrubber);
    }
    return scrubber;
  }

  build(contact: Contact, incident: Incident, customer: Customer): ExchangeRecord {
    const p = this.pseudonyms;
    const scrub = this.#scrubberFor(customer);
    const personal = (field: ExchangeField, value: string | null, pseudonym: (value: string) => string) => {
      if (value === null || value === '') return value;
      return this.policy[field] === 'keep' ? value : pseudonym(value);
    };
    const text = (field: ExchangeField, value: string) => (this.policy[field] === 'keep' ? value : scrub(value));
    const values: Record<ExchangeField, ExchangeRecord[string]> = {
      customerRef: p.of('customer', customer.id),
      customerCode: personal('customerCode', customer.code, (code) => p.of('code', valueKey(code))),
      customerName: personal('customerName', customer.name, () => p.of('person', customer.id)),
      customerNameKana: personal('customerNameKana', customer.nameKana, () => p.of('person', customer.id)),
      customerPhones: customer.phones.map((phone) => (this.policy.customerPhones === 'keep' ? phone.e164 : p.of('phone', phoneKey(phone.e164)))),
      customerEmails: customer.emails.map((email) => (this.policy.customerEmails === 'keep' ? email : p.of('email', valueKey(email)))),
      customerPostalCode: personal('customerPostalCode', customer.postalCode, (code) => p.of('postal', valueKey(code))),
      customerAddress: personal('customerAddress', customer.address, (address) => p.of('address', valueKey(address))),
      customerType: customer.type,
      customerBranch: customer.branch,
      incidentRef: p.of('incident', incident.id),
      incidentTitle: text('incidentTitle', incident.title),
      incidentStatus: incident.status,
      incidentOpenedAt: incident.openedAt,
      contactRef: p.of('contact', contact.id),
      contactKind: contact.kind,
      contactDirection: contact.direction,
      occurredAt: contact.occurredAt,
      agentName: contact.agentId === null ? null : personal('agentName', contact.agentName, () => p.of('staff', contact.agentId!)),
      callFrom: personal('callFrom', contact.callMeta?.from ?? null, (from) => p.of('phone', phoneKey(from))),
      callTo: personal('callTo', contact.callMeta?.to ?? null, (to) => p.of('phone', phoneKey(to))),
      callDurationSeconds: contact.callMeta?.durationSeconds ?? null,
      callDisposition: contact.callMeta?.disposition ?? null,
      summary: text('summary', contact.summary),
      body: text('body', contact.body),
    };
    const record: ExchangeRecord = {};
    for (const field of EXCHANGE_FIELD_NAMES) if (this.policy[field] !== 'drop') record[field] = values[field] ?? null;
    return record;
  }
}

export function exportedFields(policy: ExchangePolicy): ExchangeField[] {
  return EXCHANGE_FIELD_NAMES.filter((field) => policy[field] !== 'drop');
}

/**
 * The records of a selection, at most `limit` (an export refuses a selection past
 * EXPORT_RECORD_LIMIT instead of cutting it short). The pseudonymiser's key is discarded before
 * this returns: every export, preview included, gets a fresh one.
 */
export async function buildRecords(
  db: Kysely<Database>,
  tenantId: string,
  filter: ExchangeFilter,
  policy: ExchangePolicy,
  limit: number,
): Promise<ExchangeRecord[]> {
  const ids = await selectContactIds(db, tenantId, filter, Math.min(limit, EXPORT_RECORD_LIMIT + 1));
  if (limit > EXPORT_RECORD_LIMIT && ids.length > EXPORT_RECORD_LIMIT) {
    throw new HttpError('invalid_input', `filter: selects more than ${EXPORT_RECORD_LIMIT} contacts; narrow the period or the kinds`);
  }
  const contacts = await loadContacts(db, tenantId, ids);
  const incidents = await loadIncidents(db, tenantId, [...contacts.values()].map((contact) => contact.incidentId));
  const customers = await loadCustomers(db, tenantId, [...contacts.values()].map((contact) => contact.customerId));
  const staff = await db.selectFrom('users').select(['id', 'display_name']).where('tenant_id', '=', tenantId).execute();
  const pseudonyms = new Pseudonymiser();
  try {
    const builder = new RecordBuilder(policy, pseudonyms, staff.map((row) => ({ id: row.id, displayName: row.display_name })));
    const records: ExchangeRecord[] = [];
    for (const id of ids) {
      const contact = contacts.get(id);
      const incident = contact && incidents.get(contact.incidentId);
      const customer = contact && customers.get(contact.customerId);
      if (contact && incident && customer) records.push(builder.build(contact, incident, customer));
    }
    return records;
  } finally {
    pseudonyms.discard();
  }
}

/** A CSV cell: quoted, and a leading = + - @ (or tab, CR) escaped so a spreadsheet never runs it as a formula. */
export function csvCell(value: ExchangeRecord[string] | undefined): string {
  let text = value === null || value === undefined ? '' : Array.isArray(value) ? value.join('; ') : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/** The export as CSV: a byte-order mark (spreadsheets then read UTF-8), a header row, CRLF lines. */
export function toCsv(fields: readonly string[], records: readonly ExchangeRecord[]): string {
  const lines = [fields.map((field) => csvCell(field)).join(',')];
  for (const record of records) lines.push(fields.map((field) => csvCell(record[field])).join(','));
  return `\ufeff${lines.join('\r\n')}\r\n`;
}
