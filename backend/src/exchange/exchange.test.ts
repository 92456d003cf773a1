import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody } from '../../../shared/api.js';
import { EXCHANGE_API, ExchangeExportList, ExchangeExportSummary, ExchangePreview, ExchangeRecord } from '../../../shared/exchange.js';
import { buildApp } from '../app.js';
import { createCustomerRecord, createUser } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { csvCell } from './build.js';

/**
 * A scripted history full of personal data: every way people write these two customers'
 * names, numbers, mail addresses, postal codes, addresses, codes and links. Each string here
 * must be absent from the export, as written and after NFKC normalisation.
 */
const YAMADA = {
  code: 'C-9001',
  name: '山田 太郎',
  nameKana: 'ヤマダ タロウ',
  phones: [
    { e164: '+81312345678', kind: 'landline' as const },
    { e164: '+819012345678', kind: 'mobile' as const },
  ],
  emails: ['taro.yamada@example.jp'],
  postalCode: '100-0001',
  address: '東京都千代田区千代田1-1',
};
const SMITH = {
  code: 'C-9002',
  name: 'John Smith',
  nameKana: 'ジョン スミス',
  phones: [{ e164: '+81455551234', kind: 'landline' as const }],
  emails: ['j.smith@example.com'],
  postalCode: '231-0001',
  address: '神奈川県横浜市中区山下町1-2-3',
};

const YAMADA_CALL_BODY = [
  'やまだ たろう様（ﾔﾏﾀﾞ ﾀﾛｳ）から入電。山田　太郎様ご本人。',
  '折り返しは０９０－１２３４－５６７８ または 03(1234)5678、+81 3 1234 5678、090‐1234‐5678、0312345678。',
  'メール TARO.YAMADA@EXAMPLE.JP、ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ。',
  '〒100-0001 東京都千代田区千代田１－１、郵便番号1000001、〒１００－０００１。',
  '顧客コード C-9001 / c-9001。Taro Yamada, YAMADA TARO, taroyamada, Tarou-san, Yamada-sama.',
  '案内URL https://example.jp/account?id=123 と www.example.jp/support を送付。',
].join('\n');
const YAMADA_MAIL_BODY = 'Dear Mr. Yamada,\nFrom: 山田太郎 <taro.yamada@example.jp>\nTEL:03-1234-5678 / +81-90-1234-5678\nhttp://tracker.example.net/?u=taro';
const SMITH_NOTE_BODY = [
  'Spoke with JOHN SMITH (johnsmith, Smith John). じょん すみす様, ｼﾞｮﾝ ｽﾐｽ.',
  'Call back on 045-555-1234 / ０４５５５５１２３４ / 045 555 1234; mail j.smith@example.com or J.Smith@Example.COM.',
  'Address: 〒231-0001 神奈川県横浜市中区山下町1-2-3. Profile http://smith.example.com/profile',
  'Customer code C-9002.',
].join('\n');

/** Every original value to look for in an export. */
const ORIGINALS = [
  YAMADA.code, 'c-9001', '山田', '太郎', '山田 太郎', '山田　太郎', '山田太郎', 'ヤマダ', 'タロウ', 'やまだ', 'たろう', 'ﾔﾏﾀﾞ', 'ﾀﾛｳ',
  'yamada', 'taro', 'tarou', 'taroyamada',
  '+81312345678', '+819012345678', '0312345678', '03-1234-5678', '090-1234-5678', '09012345678', '03(1234)5678', '+81 3 1234 5678',
  '090‐1234‐5678', '０９０－１２３４－５６７８', '12345678', '1234-5678', '1234 5678', '+81-90-1234-5678',
  'taro.yamada@example.jp', 'TARO.YAMADA@EXAMPLE.JP', 'ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ', 'example.jp',
  '100-0001', '1000001', '〒１００－０００１', '東京都千代田区千代田1-1', '千代田区', '東京都千代田区千代田１－１',
  'https://example.jp/account?id=123', 'www.example.jp/support', 'tracker.example.net',
  SMITH.code, 'John Smith', 'JOHN SMITH', 'johnsmith', 'john', 'smith', 'ジョン', 'スミス', 'じょん', 'すみす', 'ｼﾞｮﾝ', 'ｽﾐｽ',
  '+81455551234', '045-555-1234', '０４５５５５１２３４', '0455551234', '045 555 1234', '555-1234', 'j.smith@example.com', 'example.com',
  '231-0001', '神奈川県横浜市中区山下町1-2-3', '横浜市', '山下町', 'smith.example.com/profile',
];

/** Whether any original value is left in the text: as is, after NFKC, and case-insensitively. */
function leftovers(content: string): string[] {
  const forms = [content, content.normalize('NFKC')].flatMap((text) => [text, text.toLowerCase()]);
  return ORIGINALS.filter((value) => {
    const needles = [value, value.normalize('NFKC'), value.toLowerCase(), value.normalize('NFKC').toLowerCase()];
    return forms.some((form) => needles.some((needle) => form.includes(needle)));
  });
}

describe.each(DIALECTS)('the PII-stripped exchange, on %s', (dialect) => {
  let backend: TestBackend;
  let admin: string;
  let partner: string;
  let otherPartner: string;
  let yamadaId: string;

  const post = (url: string, body: unknown, token: string) => backend.send('POST', url, body, token);
  const createExport = async (title: string, extra: object = {}) => {
    const response = await post(EXCHANGE_API.exports, { title, filter: { product: '請求', from: '2026-11-01T00:00:00Z', to: '2026-11-30T23:59:59Z' }, ...extra }, admin);
    expect(response.statusCode, response.body).toBe(200);
    return ExchangeExportSummary.parse(response.json());
  };
  const download = (id: string, format: 'json' | 'csv', token: string) => backend.get(`${EXCHANGE_API.download.replace(':id', id)}?format=${format}`, token);
  const recordsOf = (content: string) => (JSON.parse(content) as { records: ExchangeRecord[] }).records;

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    const { tenant, password, users } = backend.demo;
    for (const [login, org] of [
      ['partner-a', 'Partner A'],
      ['partner-b', 'Partner B'],
    ] as const) {
      await createUser(backend.handle, tenant.id, { login, password, role: 'partner', partnerOrg: org, sipUser: null }, backend.config.argon2);
    }
    const yamada = await createCustomerRecord(backend.handle, tenant.id, {
      ...YAMADA,
      incidents: [
        {
          title: '請求書の再発行（山田太郎様）',
          contacts: [
            {
              kind: 'call',
              direction: 'inbound',
              agentId: users.agent.id,
              occurredAt: '2026-11-02T01:00:00.000Z',
              summary: '山田太郎様 090-1234-5678 より入電',
              body: YAMADA_CALL_BODY,
              callMeta: { from: '+81312345678', to: '+81300000000', durationSeconds: 95, disposition: 'resolved' },
            },
            { kind: 'email', direction: 'inbound', occurredAt: '2026-11-03T01:00:00.000Z', summary: 'Re: 請求書 taro.yamada@example.jp', body: YAMADA_MAIL_BODY },
          ],
        },
      ],
    });
    yamadaId = yamada.id;
    await createCustomerRecord(backend.handle, tenant.id, {
      ...SMITH,
      type: 'dealer',
      incidents: [
        {
          title: '請求の確認 John Smith',
          contacts: [
            { kind: 'note', direction: 'internal', agentId: users.supervisor.id, occurredAt: '2026-11-04T01:00:00.000Z', summary: '=HYPERLINK("http://evil.example/")', body: SMITH_NOTE_BODY },
          ],
        },
      ],
    });
    admin = await backend.login('admin');
    partner = await backend.login('partner-a');
    otherPartner = await backend.login('partner-b');
  });
  afterAll(() => backend?.dispose());

  it('exports a history full of personal data with none of it left, in JSON and CSV', async () => {
    const summary = await createExport('請求の問い合わせ 2026-11');
    expect(summary.recordCount).toBe(3);
    const json = await download(summary.id, 'json', admin);
    expect(json.statusCode, json.body).toBe(200);
    const csv = await download(summary.id, 'csv', admin);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    for (const content of [json.body, csv.body, Buffer.from(json.rawPayload).toString('utf8')]) expect(leftovers(content)).toEqual([]);
    // Scrubbing must not take the substance with it.
    const records = recordsOf(json.body);
    expect(records.map((record) => record.contactKind)).toEqual(['call', 'email', 'note']);
    expect(String(records[0]!.body)).toContain('入電');
    expect(String(records[0]!.body)).toContain('[PHONE]');
    expect(String(records[0]!.body)).toContain('[EMAIL]');
    expect(String(records[0]!.body)).toContain('[URL]');
    expect(String(records[0]!.body)).toContain('[POSTAL]');
    expect(records[0]!.callDurationSeconds).toBe(95);
    // Defaults: kana, postal code and address are dropped; names and numbers pseudonymised.
    expect(Object.keys(records[0]!)).not.toContain('customerAddress');
    expect(records[0]!.customerName).toMatch(/^PERSON-[A-Z]{10}$/);
  });

  it('keeps pseudonyms stable within one export and unlinkable across two', async () => {
    const first = recordsOf((await download((await createExport('first')).id, 'json', admin)).body);
    const second = recordsOf((await download((await createExport('second')).id, 'json', admin)).body);
    const [call, mail] = first;
    expect(call!.customerRef).toBe(mail!.customerRef);
    expect(call!.customerName).toBe(mail!.customerName);
    expect(call!.incidentRef).toBe(mail!.incidentRef);
    // The caller's number and the customer's landline are the same number: the same pseudonym.
    expect((call!.customerPhones as string[])[0]).toBe(call!.callFrom);
    // The customer's name in free text becomes the same pseudonym as the name field.
    expect(String(call!.body)).toContain(String(call!.customerName));
    for (const field of ['customerRef', 'customerName', 'customerCode', 'incidentRef', 'contactRef', 'callFrom', 'agentName']) {
      expect(second[0]![field], field).not.toBe(call![field]);
    }
    expect(second[0]!.customerPhones).not.toEqual(call!.customerPhones);
  });

  it('previews without auditing, audits create, download and share, and escapes CSV formulas', async () => {
    const before = await backend.handle.db.selectFrom('audit_events').select('action').where('action', 'like', 'exchange_%').execute();
    const preview = await post(EXCHANGE_API.preview, { filter: { contactKinds: ['note'] }, policy: { summary: 'keep' }, limit: 1 }, admin);
    expect(preview.statusCode, preview.body).toBe(200);
    const shown = ExchangePreview.parse(preview.json());
    expect(shown.total).toBeGreaterThanOrEqual(1);
    expect(shown.records).toHaveLength(1);
    const afterPreview = await backend.handle.db.selectFrom('audit_events').select('action').where('action', 'like', 'exchange_%').execute();
    expect(afterPreview.length).toBe(before.length);

    const summary = await createExport('formulas', { filter: { contactKinds: ['note'], product: 'John' }, policy: { summary: 'keep' } });
    const csv = await download(summary.id, 'csv', admin);
    expect(csv.body).toContain(`"'=HYPERLINK(""http://evil.example/"")"`);
    expect(csv.body).not.toMatch(/(^|,)"=/m);
    const shared = await post(EXCHANGE_API.share.replace(':id', summary.id), { partnerOrg: 'Partner A' }, admin);
    expect(shared.statusCode, shared.body).toBe(200);
    expect(ExchangeExportSummary.parse(shared.json()).sharedWith).toEqual(['Partner A']);
    const audited = await backend.handle.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', 'like', 'exchange_%')
      .orderBy('id')
      .execute();
    const fresh = audited.slice(before.length).map((event) => event.action);
    expect(fresh).toEqual(['exchange_created', 'exchange_downloaded', 'exchange_shared']);
    expect(audited.map((event) => event.details).join('\n')).not.toMatch(/key|secret/i);
  });

  it('validates the policy and the filter with the shared schema, naming the field', async () => {
    const bad = await post(EXCHANGE_API.preview, { filter: {}, policy: { customerRef: 'keep' } }, admin);
    expect(bad.statusCode).toBe(400);
    expect(ApiErrorBody.parse(bad.json()).error.message).toMatch(/body\.policy\.customerRef/);
    const unknownField = await post(EXCHANGE_API.preview, { filter: {}, policy: { shoeSize: 'keep' } }, admin);
    expect(unknownField.statusCode).toBe(400);
    const backwards = await post(EXCHANGE_API.exports, { title: 'x', filter: { from: '2026-12-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } }, admin);
    expect(backwards.statusCode).toBe(400);
    expect(ApiErrorBody.parse(backwards.json()).error.message).toMatch(/body\.filter\.from/);
    const unknownOrg = await post(EXCHANGE_API.share.replace(':id', (await createExport('org')).id), { partnerOrg: 'Nobody Inc' }, admin);
    expect(unknownOrg.statusCode).toBe(400);
    expect(ApiErrorBody.parse(unknownOrg.json()).error.message).toMatch(/body\.partnerOrg/);
  });

  it('keeps the exchange for admins: an agent and a supervisor are refused', async () => {
    for (const login of ['agent', 'supervisor']) {
      const token = await backend.login(login);
      expect((await post(EXCHANGE_API.preview, { filter: {} }, token)).statusCode).toBe(403);
      expect((await backend.get(EXCHANGE_API.exports, token)).statusCode).toBe(403);
    }
  });

  it('shows a partner only the exports shared with its organisation, read-only', async () => {
    const shared = await createExport('for partner A');
    const hidden = await createExport('not shared');
    expect((await post(EXCHANGE_API.share.replace(':id', shared.id), { partnerOrg: 'Partner A' }, admin)).statusCode).toBe(200);
    expect((await post(EXCHANGE_API.share.replace(':id', shared.id), { partnerOrg: 'Partner B' }, admin)).statusCode).toBe(200);
    const listed = ExchangeExportList.parse((await backend.get(EXCHANGE_API.exports, partner)).json()).exports;
    expect(listed.map((entry) => entry.id)).toContain(shared.id);
    expect(listed.map((entry) => entry.id)).not.toContain(hidden.id);
    // A partner does not learn which other organisations an export went to.
    expect(listed.find((entry) => entry.id === shared.id)!.sharedWith).toEqual(['Partner A']);
    const json = await download(shared.id, 'json', partner);
    expect(json.statusCode).toBe(200);
    expect(leftovers(json.body)).toEqual([]);
    expect((await download(hidden.id, 'csv', partner)).statusCode).toBe(404);
    const b = ExchangeExportList.parse((await backend.get(EXCHANGE_API.exports, otherPartner)).json()).exports;
    expect(b.every((entry) => entry.sharedWith.every((org) => org === 'Partner B'))).toBe(true);
    for (const [url, body] of [
      [EXCHANGE_API.exports, { title: 'mine', filter: {} }],
      [EXCHANGE_API.preview, { filter: {} }],
      [EXCHANGE_API.share.replace(':id', shared.id), { partnerOrg: 'Partner A' }],
    ] as const) {
      expect((await post(url, body, partner)).statusCode, url).toBe(403);
    }
  });

  it('refuses a partner every other route, whatever it is', async () => {
    const routes: Pick<RouteOptions, 'method' | 'url'>[] = [];
    const app = buildApp({ db: backend.handle, config: backend.config });
    app.addHook('onRoute', (route) => {
      routes.push({ method: route.method, url: route.url });
    });
    await app.ready();
    try {
      const allowed = new Set<string>([API.me, API.logout, EXCHANGE_API.exports, EXCHANGE_API.download, API.health, API.login]);
      const refused: string[] = [];
      const results: string[] = [];
      for (const route of routes) {
        const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((method) => method !== 'HEAD' && method !== 'OPTIONS');
        if (allowed.has(route.url)) continue;
        for (const method of methods) {
          const url = route.url.replace(/:[A-Za-z]+/g, yamadaId).replace(/\*/g, 'x');
          const request = (headers: Record<string, string>) =>
            app.inject({ method: method as 'GET', url, headers: { 'content-type': 'application/json', ...headers }, payload: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
          const response = await request({ authorization: `Bearer ${partner}` });
          results.push(`${method} ${route.url} ${response.statusCode}`);
          if (response.statusCode < 400) {
            // A public route (the customer portal's pages, health): the partner gets no more than anyone.
            expect((await request({})).statusCode, `${method} ${route.url} without a token`).toBe(response.statusCode);
          }
          if (response.statusCode === 403) refused.push(`${method} ${route.url}`);
        }
      }
      // The staff API, broadly: customers, search, sync, events, mail, telephony, calls, users, recordings, monitoring.
      for (const url of [API.customerSearch, API.customer, API.syncChanges, API.syncSnapshot, API.syncPush, API.events, API.userRights, API.callHistory, API.callbacks, API.incidents, EXCHANGE_API.preview, EXCHANGE_API.partners]) {
        expect(refused.some((entry) => entry.endsWith(` ${url}`)), `${url} in ${results.join(', ')}`).toBe(true);
      }
      for (const prefix of ['/api/mail', '/api/telephony', '/api/sip/credentials', '/api/recordings', '/api/branch-calls', '/api/monitoring', '/api/agents']) {
        expect(refused.some((entry) => entry.includes(` ${prefix}`)), prefix).toBe(true);
      }
      expect(refused.length).toBeGreaterThan(40);
    } finally {
      await app.close();
    }
  });

  it('escapes every formula lead character in a CSV cell', () => {
    for (const lead of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${lead}1+1`)).toBe(`"'${lead}1+1"`);
    expect(csvCell('a "quoted" value')).toBe('"a ""quoted"" value"');
    expect(csvCell(['PHONE-A', 'PHONE-B'])).toBe('"PHONE-A; PHONE-B"');
  });
});
