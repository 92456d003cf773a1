import { randomUUID } from 'node:crypto';
import type { CustomerRecord } from '../../../shared/api.js';
import type { Contact, Customer, Incident } from '../../../shared/domain.js';

/** Builders of valid domain objects for the core's tests; every field can be overridden. */

const AT = '2024-04-01T09:00:00.000Z';

export function makeCustomer(overrides: Partial<Customer> = {}): Customer {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    code: `C-${id.slice(0, 6)}`,
    name: '顧客 太郎',
    nameKana: 'コキャク タロウ',
    phones: [],
    emails: [],
    postalCode: '100-0001',
    address: '東京都千代田区千代田1-1',
    branch: null,
    assignedRepId: null,
    assignedRepName: null,
    classification: 3,
    type: 'existing',
    updatedAt: AT,
    ...overrides,
  };
}

export function makeIncident(customerId: string, overrides: Partial<Incident> = {}): Incident {
  return {
    id: randomUUID(),
    customerId,
    title: '請求書の再発行',
    status: 'open',
    assigneeId: null,
    assigneeName: null,
    openedAt: AT,
    closedAt: null,
    updatedAt: AT,
    ...overrides,
  };
}

export function makeContact(incident: Incident, overrides: Partial<Contact> = {}): Contact {
  return {
    id: randomUUID(),
    incidentId: incident.id,
    customerId: incident.customerId,
    kind: 'call',
    direction: 'inbound',
    occurredAt: AT,
    agentId: null,
    agentName: null,
    summary: '問い合わせ',
    body: '',
    callMeta: null,
    ...overrides,
  };
}

/** A customer with one incident and one contact. */
export function makeRecord(overrides: Partial<Customer> = {}): CustomerRecord {
  const customer = makeCustomer(overrides);
  const incident = makeIncident(customer.id);
  return { customer, incidents: [incident], contacts: [makeContact(incident)] };
}
