import type { FastifyInstance } from 'fastify';
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import {
  API,
  ByPhoneQuery,
  CustomerCreate,
  CustomerUpdate,
  IncidentCreate,
  SearchQuery,
  type ByPhoneResponse,
  type CustomerRecord,
  type CustomerResponse,
  type IncidentResponse,
  type PhoneInput,
  type SearchResponse,
} from '../../../shared/api.js';
import { Id, type Phone, type User } from '../../../shared/domain.js';
import { CUSTOMER_VISIBILITY_FIELDS, mayChangeCustomerVisibility, mayCreateCustomer, maySeeCustomer } from '../../../shared/permissions.js';
import { isMobileNumber, toE164 } from '../../../shared/phone.js';
import { normaliseForSearch } from '../../../shared/search-text.js';
import { recordAudit } from '../audit.js';
import type { TenantInfo } from '../auth/sessions.js';
import type { BackendContext } from '../context.js';
import type { Database } from '../db/schema.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { writeTransaction } from '../sync/changelog.js';
import { findCustomerIdByPhone, loadCustomerRecords, loadCustomers, loadIncidents } from './records.js';
import { visibleCustomerSql } from './visibility.js';
import { insertCustomer, insertIncident, isUniqueViolation, updateCustomer, type CustomerFields } from './writes.js';

const IdParams = z.object({ id: Id });

function normalisePhones(phones: PhoneInput[], region: string, field: string): Phone[] {
  return phones.map((phone, index) => {
    const e164 = toE164(phone.number, region as CountryCode);
    if (!e164) throw new HttpError('invalid_input', `${field}.${index}.number: not a phone number`);
    return { e164, kind: phone.kind ?? (isMobileNumber(e164) ? 'mobile' : 'landline') };
  });
}

async function assertUserOfTenant(db: Kysely<Database>, tenantId: string, userId: string | null, field: string): Promise<void> {
  if (userId === null) return;
  const found = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
  if (!found) throw new HttpError('invalid_input', `${field}: no such user`);
}

/**
 * The customer if it exists in the tenant and the user may see it. An invisible customer
 * answers exactly like a missing one, so ids of confidential customers cannot be probed.
 */
async function findVisibleCustomer(db: Kysely<Database>, tenant: TenantInfo, user: User, customerId: string) {
  return db
    .selectFrom('customers')
    .select(['id', 'classification', 'branch'])
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', customerId)
    .where(visibleCustomerSql(user))
    .executeTakeFirst();
}

async function loadOneRecord(db: Kysely<Database>, tenantId: string, customerId: string): Promise<CustomerRecord> {
  const [record] = await loadCustomerRecords(db, tenantId, [customerId]);
  if (!record) throw new HttpError('not_found', 'no such customer');
  return record;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

function toHiragana(text: string): string {
  return text.replace(/[\u30a1-\u30f6]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x60));
}

function toKatakana(text: string): string {
  return text.replace(/[\u3041-\u3096]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0x60));
}

/**
 * The online fallback search (the app's cache is the fast path). Matches substrings of name,
 * kana, code, address and e-mail in the forms the text may be stored in (as typed, NFKC,
 * katakana, hiragana, without spaces), and phone numbers however they are written.
 */
function searchCondition(q: string, region: string): Expression<SqlBool> {
  const folded = q.normalize('NFKC').toLowerCase();
  const variants = [...new Set([q.toLowerCase(), folded, toKatakana(folded), toHiragana(folded), normaliseForSearch(q)])].filter(
    (variant) => variant.length > 0,
  );
  const like = (column: string, pattern: string) => sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
  const conditions = variants.flatMap((variant) => {
    const pattern = `%${escapeLike(variant)}%`;
    return [
      like('c.name', pattern),
      like('c.name_kana', pattern),
      like('c.code', pattern),
      like('c.address', pattern),
      sql<SqlBool>`exists (select 1 from customer_emails e where e.customer_id = c.id and lower(e.email) like ${pattern} escape '\\')`,
    ];
  });
  const e164 = toE164(q, region as CountryCode);
  if (e164) {
    conditions.push(sql<SqlBool>`exists (select 1 from customer_phones p where p.customer_id = c.id and p.e164 = ${e164})`);
  } else if (/^[\d\s()+\-‐–—]+$/.test(folded) && folded.replace(/\D/g, '').length >= 4) {
    // A fragment of a number: E.164 drops the national trunk prefix 0.
    const digits = folded.replace(/\D/g, '').replace(/^0/, '');
    conditions.push(sql<SqlBool>`exists (select 1 from customer_phones p where p.customer_id = c.id and p.e164 like ${`%${digits}%`})`);
  }
  return sql<SqlBool>`(${sql.join(conditions, sql` or `)})`;
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;

  app.get(API.customerSearch, async (request): Promise<SearchResponse> => {
    const query = parseRequest(SearchQuery, request.query, 'query');
    const { user, tenant } = request.auth;
    const rows = await db
      .selectFrom('customers as c')
      .select('c.id')
      .where('c.tenant_id', '=', tenant.id)
      .where(visibleCustomerSql(user, 'c'))
      .where(searchCondition(query.q, tenant.defaultRegion))
      .orderBy('c.name')
      .orderBy('c.id')
      .limit(query.limit)
      .execute();
    const customers = await loadCustomers(db, tenant.id, rows.map((row) => row.id));
    return {
      customers: rows.flatMap((row) => {
        const customer = customers.get(row.id);
        if (!customer) return [];
        const { id, code, name, nameKana, phones, emails, address, classification, type, branch } = customer;
        return [{ id, code, name, nameKana, phones, emails, address, classification, type, branch }];
      }),
    };
  });

  app.get(API.customerByPhone, async (request): Promise<ByPhoneResponse> => {
    const query = parseRequest(ByPhoneQuery, request.query, 'query');
    const { user, tenant } = request.auth;
    const e164 = toE164(query.phone, tenant.defaultRegion as CountryCode);
    if (!e164) throw new HttpError('invalid_input', 'query.phone: not a phone number');
    const customerId = await findCustomerIdByPhone(db, tenant.id, e164, user);
    if (customerId === null) return { record: null };
    const record = await loadOneRecord(db, tenant.id, customerId);
    await recordAudit(db, { tenantId: tenant.id, userId: user.id, action: 'customer_viewed', customerId, details: { via: 'phone' } });
    return { record };
  });

  app.get(API.customer, async (request): Promise<CustomerRecord> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { user, tenant } = request.auth;
    if (!(await findVisibleCustomer(db, tenant, user, id))) throw new HttpError('not_found', 'no such customer');
    const record = await loadOneRecord(db, tenant.id, id);
    await recordAudit(db, { tenantId: tenant.id, userId: user.id, action: 'customer_viewed', customerId: id, details: { via: 'id' } });
    return record;
  });

  app.post(API.customers, async (request, reply) => {
    const { user, tenant } = request.auth;
    if (!mayCreateCustomer(user)) throw new HttpError('forbidden', 'you may not create customers');
    const body = parseRequest(CustomerCreate, request.body, 'body');
    const fields: CustomerFields = {
      ...body,
      phones: normalisePhones(body.phones, tenant.defaultRegion, 'body.phones'),
      branch: body.branch === undefined ? user.branch : body.branch,
    };
    if (!maySeeCustomer(user, fields)) {
      throw new HttpError('forbidden', 'body.classification/branch: you could not see a customer with this classification and branch');
    }
    await assertUserOfTenant(db, tenant.id, fields.assignedRepId, 'body.assignedRepId');
    const id = await writeTransaction(ctx.handle, async (tx) => {
      const created = await insertCustomer(tx, tenant.id, fields).catch((error: unknown) => {
        if (isUniqueViolation(error)) throw new HttpError('conflict', 'body.code: a customer with this code already exists');
        throw error;
      });
      await recordAudit(tx.trx, { tenantId: tenant.id, userId: user.id, action: 'customer_updated', customerId: created, details: { created: true } });
      return created;
    });
    const customer = (await loadCustomers(db, tenant.id, [id])).get(id);
    if (!customer) throw new HttpError('not_found', 'no such customer');
    return reply.status(201).send({ customer } satisfies CustomerResponse);
  });

  app.patch(API.customer, async (request): Promise<CustomerResponse> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { user, tenant } = request.auth;
    const body = parseRequest(CustomerUpdate, request.body, 'body');
    if (!(await findVisibleCustomer(db, tenant, user, id))) throw new HttpError('not_found', 'no such customer');
    const guarded = CUSTOMER_VISIBILITY_FIELDS.filter((field) => body[field] !== undefined);
    if (guarded.length > 0 && !mayChangeCustomerVisibility(user)) {
      throw new HttpError('forbidden', `body.${guarded[0]}: only supervisors and admins may change ${guarded.join(', ')}`);
    }
    const { phones, ...rest } = body;
    const patch: Partial<CustomerFields> = { ...rest };
    if (phones) patch.phones = normalisePhones(phones, tenant.defaultRegion, 'body.phones');
    if (body.assignedRepId !== undefined) await assertUserOfTenant(db, tenant.id, body.assignedRepId, 'body.assignedRepId');
    await writeTransaction(ctx.handle, async (tx) => {
      const changed = await updateCustomer(tx, tenant.id, id, patch).catch((error: unknown) => {
        if (isUniqueViolation(error)) throw new HttpError('conflict', 'body.code: a customer with this code already exists');
        throw error;
      });
      if (!changed) throw new HttpError('not_found', 'no such customer');
      await recordAudit(tx.trx, {
        tenantId: tenant.id,
        userId: user.id,
        action: 'customer_updated',
        customerId: id,
        details: { fields: changed, ...(body.classification !== undefined ? { classification: body.classification } : {}) },
      });
    });
    const customer = (await loadCustomers(db, tenant.id, [id])).get(id);
    if (!customer) throw new HttpError('not_found', 'no such customer');
    return { customer };
  });

  app.post(API.incidents, async (request, reply) => {
    const { user, tenant } = request.auth;
    const body = parseRequest(IncidentCreate, request.body, 'body');
    if (!(await findVisibleCustomer(db, tenant, user, body.customerId))) {
      throw new HttpError('not_found', 'body.customerId: no such customer');
    }
    await assertUserOfTenant(db, tenant.id, body.assigneeId, 'body.assigneeId');
    const id = await writeTransaction(ctx.handle, (tx) => insertIncident(tx, tenant.id, body));
    const incident = (await loadIncidents(db, tenant.id, [id])).get(id);
    if (!incident) throw new HttpError('not_found', 'no such incident');
    return reply.status(201).send({ incident } satisfies IncidentResponse);
  });
}
