import { z } from 'zod';
import type { CustomerRecord, SnapshotPage } from './api.js';
import { BranchCall } from './calls-for-you.js';
import {
  CONTACT_KINDS,
  CUSTOMER_TYPES,
  DerivedAttributes,
  DIRECTIONS,
  INCIDENT_STATUSES,
  PHONE_KINDS,
  User,
  type CallMeta,
  type Classification,
  type Contact,
  type Customer,
  type Incident,
} from './domain.js';

/**
 * The wire format of a first-sync page (GET /api/sync/snapshot). A page of whole customer
 * records sent as objects repeated every key of every incident and contact (3.7 KB a customer,
 * and most of the client's time went into checking them with zod), so a page is sent as tables:
 * each table names its columns once and sends its rows as arrays, in the order below. The
 * backend's database writes the rows' JSON itself (backend/src/sync/snapshot-tables.ts), and
 * `decodeSnapshotPage` checks every field by hand and rebuilds the records the cache takes.
 *
 * Rows refer to other rows of the page by position rather than by id: `customer` is a row of
 * `customers`, `assignedRep` / `assignee` / `agent` a row of `users` (which gives the id and the
 * name), and a contact's `incident` a row of `incidents`, or the incident's id when it is not in
 * the page (an incident of another customer). Each customer's rows come in the order of its record
 * (phones and e-mails by position, incidents by opening, contacts by time). `derived` and
 * `callMeta` travel as the JSON text the backend stores; one that is not a DerivedAttributes /
 * CallMeta reads as absent / null, as the backend read it before.
 *
 * Important: a change of a table's columns changes SNAPSHOT_FORMAT; a client refuses a page of
 * another format or with other columns (naming them) rather than guessing.
 */
export const SNAPSHOT_FORMAT = 2;

export const SNAPSHOT_COLUMNS = {
  /** The users the page's rows refer to (reps, assignees, agents); `name` is null for an id without a user. */
  users: ['id', 'name'],
  customers: ['id', 'code', 'name', 'nameKana', 'postalCode', 'address', 'branch', 'assignedRep', 'classification', 'type', 'updatedAt', 'derived'],
  phones: ['customer', 'e164', 'kind'],
  emails: ['customer', 'email'],
  incidents: ['id', 'customer', 'title', 'status', 'assignee', 'openedAt', 'closedAt', 'updatedAt'],
  contacts: ['id', 'incident', 'customer', 'kind', 'direction', 'occurredAt', 'agent', 'summary', 'body', 'callMeta'],
} as const;

export type SnapshotTableName = keyof typeof SNAPSHOT_COLUMNS;
export const SNAPSHOT_TABLES = Object.keys(SNAPSHOT_COLUMNS) as SnapshotTableName[];

/** Everything of a page but its tables: small, checked with the shared schemas. */
export const SnapshotPageHeader = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  nextAfter: z.string().nullable(),
  highWaterSeq: z.number().int().min(0),
  /** Number of customers this user may see, for the progress bar. */
  total: z.number().int().min(0),
  rights: User,
  /** The calls of "calls for you" this user may hold, with the last page (empty on the others). */
  branchCalls: z.array(BranchCall),
});
export type SnapshotPageHeader = z.infer<typeof SnapshotPageHeader>;

/** A page that breaks the contract; the message names the table, the row and the field. */
export class SnapshotPageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotPageError';
  }
}

/** Checks one value; returns what is wrong with it (after "must"), or null when it is right. */
type FieldCheck = (value: unknown) => string | null;

const MAX_ID = 64;
// The same patterns as the shared schemas (IsoTime, E164, z.email()): a page is exactly as strict.
const ISO_TIME = z.regexes.datetime({ offset: true });
const E164 = /^\+[1-9]\d{7,14}$/;
const EMAIL = z.regexes.email;

const isString = (value: unknown): value is string => typeof value === 'string';

function text(min: number, max: number): FieldCheck {
  return (value) => (isString(value) && value.length >= min && value.length <= max ? null : `be a string of ${min} to ${max} characters`);
}

function nullable(check: FieldCheck): FieldCheck {
  return (value) => (value === null ? null : check(value));
}

function oneOf(values: readonly (string | number)[]): FieldCheck {
  const allowed = new Set<unknown>(values);
  const listed = values.map((v) => JSON.stringify(v)).join(', ');
  return (value) => (allowed.has(value) ? null : `be one of ${listed}`);
}

const id = text(1, MAX_ID);
const flag: FieldCheck = (value) => (typeof value === 'boolean' ? null : 'be true or false');
const count: FieldCheck = (value) => (Number.isSafeInteger(value) && (value as number) >= 0 ? null : 'be a whole number of 0 or more');
const anyText: FieldCheck = (value) => (isString(value) ? null : 'be a string');
const isoTime: FieldCheck = (value) => (isString(value) && ISO_TIME.test(value) ? null : 'be an ISO 8601 time with an offset');
const e164: FieldCheck = (value) => (isString(value) && E164.test(value) ? null : 'be an E.164 number such as +81312345678');
const email: FieldCheck = (value) => (isString(value) && EMAIL.test(value) ? null : 'be an e-mail address');

/** A position in another table of the page (resolved, with its bounds, when the rows are). */
const position: FieldCheck = (value) => (Number.isSafeInteger(value) && (value as number) >= 0 ? null : 'be a row number');
const positionOrId: FieldCheck = (value) => (position(value) === null || id(value) === null ? null : 'be a row number or an id');

const CHECKS: { [T in SnapshotTableName]: { [C in (typeof SNAPSHOT_COLUMNS)[T][number]]: FieldCheck } } = {
  users: { id, name: nullable(anyText) },
  customers: {
    id,
    code: text(1, 40),
    name: text(1, 200),
    nameKana: text(0, 200),
    postalCode: text(0, 20),
    address: text(0, 400),
    branch: nullable(text(0, 100)),
    assignedRep: nullable(position),
    classification: oneOf([1, 2, 3]),
    type: oneOf(CUSTOMER_TYPES),
    updatedAt: isoTime,
    derived: nullable(anyText),
  },
  phones: { customer: position, e164, kind: oneOf(PHONE_KINDS) },
  emails: { customer: position, email },
  incidents: {
    id,
    customer: position,
    title: text(1, 300),
    status: oneOf(INCIDENT_STATUSES),
    assignee: nullable(position),
    openedAt: isoTime,
    closedAt: nullable(isoTime),
    updatedAt: isoTime,
  },
  contacts: {
    id,
    incident: positionOrId,
    customer: position,
    kind: oneOf(CONTACT_KINDS),
    direction: oneOf(DIRECTIONS),
    occurredAt: isoTime,
    agent: nullable(position),
    summary: text(0, 500),
    body: text(0, 100_000),
    callMeta: nullable(anyText),
  },
};

/**
 * CallMeta (shared/domain.ts) by hand: JSON.parse and zod cost more than the rest of a contact.
 * Keyed by CallMeta's fields, so a field added there fails to compile here until it is checked.
 */
const CALL_META_CHECKS: { [K in keyof Required<CallMeta>]: FieldCheck } = {
  callId: text(0, 200),
  from: text(0, 100),
  to: text(0, 100),
  startedAt: isoTime,
  answeredAt: nullable(isoTime),
  endedAt: isoTime,
  durationSeconds: count,
  disposition: text(0, 100),
  callbackNeeded: flag,
  callbackDueAt: nullable(isoTime),
};
const CALL_META_FIELDS = Object.entries(CALL_META_CHECKS);

/** Stored call details → CallMeta with only its own fields (as zod strips the rest), or null when they are not one. */
export function readStoredCallMeta(text: string | null): CallMeta | null {
  const json = storedJson(text);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const stored = json as Record<string, unknown>;
  const meta: Record<string, unknown> = {};
  for (const [field, check] of CALL_META_FIELDS) {
    const value = stored[field];
    if (value === undefined) continue;
    if (check(value) !== null) return null;
    meta[field] = value;
  }
  return meta as CallMeta;
}

/** A customer's phones and e-mails, as the shared schema bounds them. */
const MAX_PHONES = 20;
const MAX_EMAILS = 20;

function describe(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** The rows of one table, each checked field by field. */
function checkedRows(tables: Record<string, unknown>, table: SnapshotTableName): unknown[][] {
  const where = `snapshot page: table ${table}`;
  const wire = tables[table];
  if (typeof wire !== 'object' || wire === null) throw new SnapshotPageError(`${where} is missing`);
  const { columns, rows } = wire as { columns?: unknown; rows?: unknown };
  const expected = SNAPSHOT_COLUMNS[table];
  if (!Array.isArray(columns) || columns.length !== expected.length || expected.some((name, i) => columns[i] !== name)) {
    throw new SnapshotPageError(`${where} has columns ${describe(columns)}, expected ${JSON.stringify(expected)}`);
  }
  if (!Array.isArray(rows)) throw new SnapshotPageError(`${where}: rows must be an array`);
  const checks = expected.map((name) => (CHECKS[table] as Record<string, FieldCheck>)[name] as FieldCheck);
  const width = expected.length;
  for (let r = 0; r < rows.length; r++) {
    const row: unknown = rows[r];
    if (!Array.isArray(row) || row.length !== width) {
      throw new SnapshotPageError(`${where}, row ${r}: must be an array of ${width} values, got ${describe(row)}`);
    }
    for (let c = 0; c < width; c++) {
      const problem = (checks[c] as FieldCheck)(row[c]);
      if (problem !== null) {
        const rowId = isString(row[0]) ? ` (${expected[0]} ${describe(row[0])})` : '';
        throw new SnapshotPageError(`${where}, row ${r}${rowId}, field ${expected[c]}: must ${problem}, got ${describe(row[c])}`);
      }
    }
  }
  return rows as unknown[][];
}

/** Stored JSON that is not what it should be reads as none (the backend's rule before this format). */
function parseStored<T>(text: string | null, schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }): T | null {
  const json = storedJson(text);
  if (json === null) return null;
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** Stored JSON text parsed, or null when there is none or it is not JSON. */
function storedJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * A snapshot page as received (JSON.parse'd) → the page with whole customer records, or a
 * SnapshotPageError naming the first thing wrong (table, row, field). Strict: a page is taken
 * whole or not at all, so nothing of a malformed page reaches the cache.
 */
export function decodeSnapshotPage(json: unknown): SnapshotPage {
  if (typeof json !== 'object' || json === null) throw new SnapshotPageError('snapshot page: must be a JSON object');
  const { tables, ...rest } = json as { tables?: unknown };
  const header = SnapshotPageHeader.safeParse(rest);
  if (!header.success) {
    const issue = header.error.issues[0];
    throw new SnapshotPageError(`snapshot page: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  if (typeof tables !== 'object' || tables === null) throw new SnapshotPageError('snapshot page: tables must be an object');
  const wire = tables as Record<string, unknown>;
  const userRows = checkedRows(wire, 'users');
  const customerRows = checkedRows(wire, 'customers');
  const phoneRows = checkedRows(wire, 'phones');
  const emailRows = checkedRows(wire, 'emails');
  const incidentRows = checkedRows(wire, 'incidents');
  const contactRows = checkedRows(wire, 'contacts');

  /** Row `at` of `rows`, or an error naming the referring table, row and field. */
  const target = <T>(rows: readonly T[], at: unknown, table: SnapshotTableName, r: number, field: string): T => {
    const row = rows[at as number];
    if (row === undefined) throw new SnapshotPageError(`snapshot page: table ${table}, row ${r}, field ${field}: must be a row number below ${rows.length}, got ${describe(at)}`);
    return row;
  };
  const userAt = (at: unknown, table: SnapshotTableName, r: number, field: string): unknown[] | null =>
    at === null ? null : (target(userRows, at, table, r, field) as unknown[]);

  const records: CustomerRecord[] = [];
  const seen = new Set<string>();
  for (let r = 0; r < customerRows.length; r++) {
    const row = customerRows[r] as unknown[];
    const rep = userAt(row[7], 'customers', r, 'assignedRep');
    const customer: Customer = {
      id: row[0] as string,
      code: row[1] as string,
      name: row[2] as string,
      nameKana: row[3] as string,
      phones: [],
      emails: [],
      postalCode: row[4] as string,
      address: row[5] as string,
      branch: row[6] as string | null,
      assignedRepId: rep === null ? null : (rep[0] as string),
      assignedRepName: rep === null ? null : (rep[1] as string | null),
      classification: row[8] as Classification,
      type: row[9] as Customer['type'],
      updatedAt: row[10] as string,
    };
    const derived = parseStored(row[11] as string | null, DerivedAttributes);
    // Absent rather than null when there is none: records compare equal with or without it.
    if (derived !== null) customer.derived = derived;
    if (seen.has(customer.id)) throw new SnapshotPageError(`snapshot page: table customers, row ${r}: customer ${describe(customer.id)} comes twice`);
    seen.add(customer.id);
    records.push({ customer, incidents: [], contacts: [] });
  }
  for (let r = 0; r < phoneRows.length; r++) {
    const row = phoneRows[r] as unknown[];
    const { phones } = target(records, row[0], 'phones', r, 'customer').customer;
    if (phones.length === MAX_PHONES) throw new SnapshotPageError(`snapshot page: table phones, row ${r}: customer row ${describe(row[0])} has more than ${MAX_PHONES} phones`);
    phones.push({ e164: row[1] as string, kind: row[2] as Customer['phones'][number]['kind'] });
  }
  for (let r = 0; r < emailRows.length; r++) {
    const row = emailRows[r] as unknown[];
    const { emails } = target(records, row[0], 'emails', r, 'customer').customer;
    if (emails.length === MAX_EMAILS) throw new SnapshotPageError(`snapshot page: table emails, row ${r}: customer row ${describe(row[0])} has more than ${MAX_EMAILS} e-mails`);
    emails.push(row[1] as string);
  }
  const incidents: Incident[] = [];
  for (let r = 0; r < incidentRows.length; r++) {
    const row = incidentRows[r] as unknown[];
    const record = target(records, row[1], 'incidents', r, 'customer');
    const assignee = userAt(row[4], 'incidents', r, 'assignee');
    const incident: Incident = {
      id: row[0] as string,
      customerId: record.customer.id,
      title: row[2] as string,
      status: row[3] as Incident['status'],
      assigneeId: assignee === null ? null : (assignee[0] as string),
      assigneeName: assignee === null ? null : (assignee[1] as string | null),
      openedAt: row[5] as string,
      closedAt: row[6] as string | null,
      updatedAt: row[7] as string,
    };
    incidents.push(incident);
    record.incidents.push(incident);
  }
  for (let r = 0; r < contactRows.length; r++) {
    const row = contactRows[r] as unknown[];
    const record = target(records, row[2], 'contacts', r, 'customer');
    const agent = userAt(row[6], 'contacts', r, 'agent');
    const incident = row[1];
    record.contacts.push({
      id: row[0] as string,
      incidentId: typeof incident === 'string' ? incident : target(incidents, incident, 'contacts', r, 'incident').id,
      customerId: record.customer.id,
      kind: row[3] as Contact['kind'],
      direction: row[4] as Contact['direction'],
      occurredAt: row[5] as string,
      agentId: agent === null ? null : (agent[0] as string),
      agentName: agent === null ? null : (agent[1] as string | null),
      summary: row[7] as string,
      body: row[8] as string,
      callMeta: readStoredCallMeta(row[9] as string | null),
    });
  }
  const { nextAfter, highWaterSeq, total, rights, branchCalls } = header.data;
  return { records, nextAfter, highWaterSeq, total, rights, branchCalls };
}
