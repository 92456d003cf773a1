import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  ApiErrorBody,
  ByPhoneResponse,
  CustomerRecord,
  CustomerResponse,
  IncidentResponse,
  SearchResponse,
} from '../../../shared/api.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

const customerUrl = (id: string) => API.customer.replace(':id', id);

describe.each(DIALECTS)('customer routes on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: Record<'admin' | 'supervisor' | 'agent' | 'osaka', string>;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = {
      admin: await backend.login('admin'),
      supervisor: await backend.login('supervisor'),
      agent: await backend.login('agent'),
      osaka: await backend.login('osaka'),
    };
  });
  afterAll(() => backend?.dispose());

  const errorOf = (response: { json(): unknown }) => ApiErrorBody.parse(response.json()).error;
  const search = async (q: string, token = tokens.admin) => {
    const response = await backend.get(`${API.customerSearch}?q=${encodeURIComponent(q)}`, token);
    expect(response.statusCode, response.body).toBe(200);
    return SearchResponse.parse(response.json()).customers.map((c) => c.code);
  };

  describe('search', () => {
    it('finds a customer by name, kana in either script, code, e-mail and address', async () => {
      expect(await search('山田')).toEqual(['C-0001']);
      expect(await search('タロウ')).toEqual(['C-0001']);
      expect(await search('やまだ')).toEqual(['C-0001']);
      expect(await search('ﾔﾏﾀﾞ')).toEqual(['C-0001']);
      expect(await search('c-0002')).toEqual(['C-0002']);
      expect(await search('HANAKO.SATO@')).toEqual(['C-0002']);
      expect(await search('acme')).toEqual(['C-0003']);
      expect(await search('千代田')).toEqual(['C-0001']);
    });

    it('finds a customer by a phone number written any common way', async () => {
      for (const written of ['03-1234-5678', '0312345678', '+81 3 1234 5678', '090-1234-5678']) {
        expect(await search(written), written).toEqual(['C-0001']);
      }
      expect(await search('3-1234-5')).toEqual(['C-0001']);
    });

    it('treats LIKE wildcards in the query as text', async () => {
      expect(await search('%')).toEqual([]);
      expect(await search('_')).toEqual([]);
    });

    it('returns only customers the user may see', async () => {
      expect((await search('C-000', tokens.admin)).sort()).toEqual(['C-0001', 'C-0002', 'C-0003']);
      expect((await search('C-000', tokens.agent)).sort()).toEqual(['C-0001']);
      expect((await search('C-000', tokens.osaka)).sort()).toEqual(['C-0002']);
      expect((await search('C-000', tokens.supervisor)).sort()).toEqual(['C-0001', 'C-0002', 'C-0003']);
    });

    it('names the field of a bad query', async () => {
      const response = await backend.get(`${API.customerSearch}?q=`, tokens.admin);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response)).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('query.q') });
      const limit = await backend.get(`${API.customerSearch}?q=a&limit=many`, tokens.admin);
      expect(limit.statusCode).toBe(400);
      expect(errorOf(limit).message).toContain('query.limit');
    });
  });

  describe('by phone', () => {
    it('finds the whole record from a number written three ways', async () => {
      for (const written of ['03-1234-5678', '0312345678', '+81 3 1234 5678']) {
        const response = await backend.get(`${API.customerByPhone}?phone=${encodeURIComponent(written)}`, tokens.agent);
        expect(response.statusCode, response.body).toBe(200);
        const { record } = ByPhoneResponse.parse(response.json());
        expect(record?.customer.code).toBe('C-0001');
        expect(record?.incidents).toHaveLength(1);
        expect(record?.contacts).toHaveLength(2);
        expect(record?.customer.assignedRepName).toBe('鈴木 一郎');
      }
    });

    it('answers null for an unknown number and for a customer the user may not see', async () => {
      const unknown = await backend.get(`${API.customerByPhone}?phone=0399999999`, tokens.admin);
      expect(ByPhoneResponse.parse(unknown.json()).record).toBeNull();
      const hidden = await backend.get(`${API.customerByPhone}?phone=0355550000`, tokens.agent);
      expect(ByPhoneResponse.parse(hidden.json()).record).toBeNull();
    });

    it('names the field when the text is not a phone number', async () => {
      const response = await backend.get(`${API.customerByPhone}?phone=${encodeURIComponent('山田')}`, tokens.admin);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response).message).toContain('query.phone');
    });
  });

  describe('get', () => {
    it('returns the record and audits the view', async () => {
      const id = backend.demo.customers.yamada.id;
      const response = await backend.get(customerUrl(id), tokens.agent);
      expect(response.statusCode).toBe(200);
      const record = CustomerRecord.parse(response.json());
      expect(record.customer).toMatchObject({ id, name: '山田 太郎', classification: 3 });
      expect(record.contacts.find((c) => c.kind === 'call')?.callMeta).toEqual({ from: '+81312345678', durationSeconds: 180 });
      const audit = await backend.handle.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'customer_viewed')
        .where('customer_id', '=', id)
        .where('user_id', '=', backend.demo.users.agent.id)
        .execute();
      expect(audit.length).toBeGreaterThan(0);
    });

    it('answers 404 for a customer the user may not see, as for one that does not exist', async () => {
      const hidden = await backend.get(customerUrl(backend.demo.customers.acme.id), tokens.agent);
      const missing = await backend.get(customerUrl('no-such-id'), tokens.agent);
      expect(hidden.statusCode).toBe(404);
      expect(errorOf(hidden)).toEqual(errorOf(missing));
    });
  });

  describe('create and update', () => {
    const newCustomer = (code: string) => ({
      code,
      name: '高橋 健',
      nameKana: 'タカハシ ケン',
      phones: [{ number: '06-6123-4567' }, { number: '080-1111-2222' }],
      emails: ['ken@example.jp'],
    });

    it('creates a customer with normalised phones for a user who may handle unregistered callers', async () => {
      const response = await backend.send('POST', API.customers, newCustomer('C-1001'), tokens.osaka);
      expect(response.statusCode, response.body).toBe(201);
      const { customer } = CustomerResponse.parse(response.json());
      expect(customer.phones).toEqual([
        { e164: '+81661234567', kind: 'landline' },
        { e164: '+818011112222', kind: 'mobile' },
      ]);
      expect(customer.branch).toBe('osaka');
      expect(customer.classification).toBe(3);
    });

    it('refuses creation to a plain agent', async () => {
      const response = await backend.send('POST', API.customers, newCustomer('C-1002'), tokens.agent);
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe('forbidden');
    });

    it('names the field of a bad customer', async () => {
      const badPhone = await backend.send('POST', API.customers, { ...newCustomer('C-1003'), phones: [{ number: 'call me' }] }, tokens.admin);
      expect(badPhone.statusCode).toBe(400);
      expect(errorOf(badPhone).message).toContain('body.phones.0.number');
      const badEmail = await backend.send('POST', API.customers, { ...newCustomer('C-1003'), emails: ['not-an-email'] }, tokens.admin);
      expect(errorOf(badEmail).message).toContain('body.emails.0');
      const badClass = await backend.send('POST', API.customers, { ...newCustomer('C-1003'), classification: 4 }, tokens.admin);
      expect(errorOf(badClass).message).toContain('body.classification');
      const unknownField = await backend.send('POST', API.customers, { ...newCustomer('C-1003'), colour: 'red' }, tokens.admin);
      expect(unknownField.statusCode).toBe(400);
      expect(errorOf(unknownField).message).toContain('colour');
    });

    it('refuses a duplicate customer code with 409', async () => {
      const response = await backend.send('POST', API.customers, newCustomer('C-0001'), tokens.admin);
      expect(response.statusCode).toBe(409);
      expect(errorOf(response).message).toContain('body.code');
    });

    it('lets an agent edit an address but not a classification', async () => {
      const id = backend.demo.customers.yamada.id;
      const address = await backend.send('PATCH', customerUrl(id), { address: '東京都千代田区丸の内1-1' }, tokens.agent);
      expect(address.statusCode, address.body).toBe(200);
      expect(CustomerResponse.parse(address.json()).customer.address).toBe('東京都千代田区丸の内1-1');
      const classification = await backend.send('PATCH', customerUrl(id), { classification: 2 }, tokens.agent);
      expect(classification.statusCode).toBe(403);
      expect(errorOf(classification).message).toContain('classification');
      const empty = await backend.send('PATCH', customerUrl(id), {}, tokens.agent);
      expect(empty.statusCode).toBe(400);
    });

    it('creates an incident for a visible customer only', async () => {
      const created = await backend.send('POST', API.incidents, { customerId: backend.demo.customers.yamada.id, title: '住所変更' }, tokens.agent);
      expect(created.statusCode, created.body).toBe(201);
      expect(IncidentResponse.parse(created.json()).incident).toMatchObject({ title: '住所変更', status: 'open' });
      const hidden = await backend.send('POST', API.incidents, { customerId: backend.demo.customers.acme.id, title: 'x' }, tokens.agent);
      expect(hidden.statusCode).toBe(404);
      const noTitle = await backend.send('POST', API.incidents, { customerId: backend.demo.customers.yamada.id }, tokens.agent);
      expect(noTitle.statusCode).toBe(400);
      expect(errorOf(noTitle).message).toContain('body.title');
    });
  });
});
