import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ChangesPage, PushResponse } from '../../../shared/api.js';
import { CALLS_FOR_YOU_API, CallsForYouResponse } from '../../../shared/calls-for-you.js';
import { PORTAL_API, PORTAL_CSRF_HEADER, PORTAL_STAFF_API, PortalAdminPage, PortalInvitation, PortalSession } from '../../../shared/portal.js';
import {
  PORTAL_REP_API,
  PortalRepRequestResult,
  REP_ROUTING_API,
  RepRoutingSettings,
  regionOfPostalCode,
  repRequestKey,
  type PortalRepRequestInput,
  type RepRoutingInput,
} from '../../../shared/rep-requests.js';
import { CaptureRelay } from '../mail/test-support/capture-smtp.js';
import { testMailConfig } from '../mail/test-support/mail-backend.js';
import { PORTAL_COOKIE } from '../portal/sessions.js';
import { currentSeq } from '../sync/changelog.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { repRequestDb } from './schema.js';

interface Visitor {
  cookie: string;
  csrf: string;
}

describe('region of a JP postal code', () => {
  it('maps the first digits to the documented region, and refuses what is not a postal code', () => {
    expect(regionOfPostalCode('100-0001')).toBe('kanto');
    expect(regionOfPostalCode('〒530-0001')).toBe('kinki');
    expect(regionOfPostalCode('０６０－０００１')).toBe('hokkaido');
    expect(regionOfPostalCode('980-0811')).toBe('tohoku');
    expect(regionOfPostalCode('460-0008')).toBe('chubu');
    expect(regionOfPostalCode('730-0011')).toBe('chugoku');
    expect(regionOfPostalCode('760-0019')).toBe('shikoku');
    expect(regionOfPostalCode('900-0006')).toBe('kyushu');
    expect(regionOfPostalCode('12345')).toBeNull();
    expect(regionOfPostalCode('')).toBeNull();
  });
});

describe.each(DIALECTS)('contact my rep on %s', (dialect) => {
  let backend: TestBackend;
  let relay: CaptureRelay;
  const tokens = { admin: '', supervisor: '', agent: '', osaka: '' };
  const products: Record<string, PortalAdminPage> = {};
  const visitors: Record<'yamada' | 'sato' | 'acme', Visitor> = {} as never;
  const base = '/portal/demo';

  const staff = (method: 'GET' | 'PUT', url: string, token: string, body?: unknown) =>
    backend.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const portal = (method: 'GET' | 'POST', route: string, visitor: Visitor, body?: unknown) =>
    backend.app.inject({
      method,
      url: `${base}${route}`,
      headers: {
        cookie: `${PORTAL_COOKIE}=${visitor.cookie}`,
        [PORTAL_CSRF_HEADER]: visitor.csrf,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const signIn = async (customerId: string): Promise<Visitor> => {
    const invitation = await backend.app.inject({ method: 'POST', url: PORTAL_STAFF_API.invitation.replace(':id', customerId), headers: { authorization: `Bearer ${tokens.admin}` } });
    const token = PortalInvitation.parse(invitation.json()).url.split('#/invite/')[1]!;
    const response: LightMyRequestResponse = await backend.app.inject({
      method: 'POST',
      url: `${base}${PORTAL_API.invitation}`,
      headers: { 'content-type': 'application/json' },
      payload: { token, password: 'portal-password-123' },
    });
    expect(response.statusCode, response.body).toBe(200);
    const cookie = /tsunagu_portal=([^;]+)/.exec(String(response.headers['set-cookie']))![1]!;
    return { cookie, csrf: PortalSession.parse(response.json()).csrfToken };
  };
  const contactRep = (productSlug: string, message = '資料を送ってください'): PortalRepRequestInput => ({
    kind: 'contact_rep',
    clientId: randomUUID(),
    productId: products[productSlug]!.id,
    message,
    preferredMethod: 'phone',
    preferredTime: '平日 10-12時',
    requestedAction: 'documents',
  });
  const listMine = async (token: string) => CallsForYouResponse.parse((await backend.get(`${CALLS_FOR_YOU_API.list}?scope=mine`, token)).json());
  const requestCount = async () => Number((await repRequestDb(backend.handle.db).selectFrom('rep_requests').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()).n);

  const routing = (): RepRoutingInput => ({
    coverage: [{ region: 'kinki', productId: products['fund-a']!.id, repId: backend.demo.users.osakaAgent.id }],
    fallbackUserId: backend.demo.users.supervisor.id,
    infoManagerEmail: 'info-manager@example.jp',
    mailSubject: '【依頼】{{customerName}} 様: {{product}}',
    mailBody: '{{repName}} さん\n{{customerName}}（{{customerCode}}）から {{request}}\n{{message}}\n希望: {{preferredMethod}} {{preferredTime}}',
    repEmails: [
      { userId: backend.demo.users.agent.id, email: 'agent@example.jp' },
      { userId: backend.demo.users.osakaAgent.id, email: 'osaka@example.jp' },
      { userId: backend.demo.users.supervisor.id, email: 'supervisor@example.jp' },
    ],
  });

  beforeAll(async () => {
    relay = new CaptureRelay();
    await relay.start();
    const staticDir = await mkdtemp(path.join(tmpdir(), 'tsunagu-rep-static-'));
    await mkdir(path.join(staticDir, 'assets'));
    await writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>portal</title>');
    backend = await startTestBackend(dialect, undefined, { portal: { mailConfig: testMailConfig({ relayUrl: relay.url }), staticDir } });
    tokens.admin = await backend.login('admin');
    tokens.supervisor = await backend.login('supervisor');
    tokens.agent = await backend.login('agent');
    tokens.osaka = await backend.login('osaka');
    for (const [slug, title, kind] of [
      ['fund-a', '投資信託 A', 'product'],
      ['deposit', '外貨預金', 'product'],
      ['guide', 'ご利用ガイド', 'page'],
    ] as const) {
      const response = await backend.app.inject({
        method: 'POST',
        url: PORTAL_STAFF_API.pages,
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        payload: { kind, slug, title, bodyMarkdown: title, priceYen: kind === 'product' ? 1000 : null },
      });
      expect(response.statusCode, response.body).toBe(201);
      products[slug] = PortalAdminPage.parse(response.json());
    }
    visitors.yamada = await signIn(backend.demo.customers.yamada.id);
    visitors.sato = await signIn(backend.demo.customers.sato.id);
    visitors.acme = await signIn(backend.demo.customers.acme.id);
  });

  afterAll(async () => {
    await backend?.dispose();
    await relay?.stop();
  });

  it('lets only admins edit the coverage table and settings, and names a bad row', async () => {
    expect((await staff('GET', REP_ROUTING_API.settings, tokens.agent)).statusCode).toBe(403);
    expect((await staff('PUT', REP_ROUTING_API.settings, tokens.agent, routing())).statusCode).toBe(403);
    const bad = await staff('PUT', REP_ROUTING_API.settings, tokens.admin, { ...routing(), coverage: [{ region: 'kinki', productId: products.guide!.id, repId: backend.demo.users.osakaAgent.id }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('body.coverage[0].productId');
    const badRegion = await staff('PUT', REP_ROUTING_API.settings, tokens.admin, { ...routing(), coverage: [{ region: 'atlantis', productId: products['fund-a']!.id, repId: backend.demo.users.osakaAgent.id }] });
    expect(badRegion.statusCode).toBe(400);
    expect(badRegion.json().error.message).toContain('region');
    const placeholder = await staff('PUT', REP_ROUTING_API.settings, tokens.admin, { ...routing(), mailBody: '{{secret}}' });
    expect(placeholder.statusCode).toBe(400);
    expect(placeholder.json().error.message).toContain('{{secret}}');
    const saved = await staff('PUT', REP_ROUTING_API.settings, tokens.admin, routing());
    expect(saved.statusCode, saved.body).toBe(200);
    const settings = RepRoutingSettings.parse(saved.json());
    expect(settings.coverage).toEqual(routing().coverage);
    expect(settings.fallbackUserId).toBe(backend.demo.users.supervisor.id);
    expect(RepRoutingSettings.parse((await staff('GET', REP_ROUTING_API.settings, tokens.admin)).json()).infoManagerEmail).toBe('info-manager@example.jp');
  });

  it('routes to the assigned rep, who gets the task with the details and an e-mail from the template', async () => {
    const before = relay.accepted.length;
    const response = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, contactRep('fund-a', '投資信託 A について相談したい'));
    expect(response.statusCode, response.body).toBe(201);
    const { id } = PortalRepRequestResult.parse(response.json());
    const entry = (await listMine(tokens.agent)).entries.find((candidate) => candidate.key === repRequestKey(id));
    expect(entry?.outcome).toBe('request');
    expect(entry?.customer?.code).toBe('C-0001');
    expect(entry?.receivedBy.map((person) => person.id)).toEqual([backend.demo.users.agent.id]);
    expect(entry?.request).toMatchObject({ kind: 'contact_rep', routedBy: 'assigned_rep', region: 'kanto', message: '投資信託 A について相談したい', preferredMethod: 'phone', requestedAction: 'documents' });
    expect(entry?.request?.product?.title).toBe('投資信託 A');
    expect(entry?.request?.customerPhone).toBe('+81312345678');
    expect((await listMine(tokens.osaka)).entries.some((candidate) => candidate.key === repRequestKey(id))).toBe(false);
    expect(relay.accepted.length).toBe(before + 1);
    const mail = relay.accepted.at(-1)!;
    expect(mail.envelopeTo).toEqual(['agent@example.jp']);
    expect(mail.parsed.subject).toBe('【依頼】山田 太郎 様: 投資信託 A');
    expect(mail.parsed.text).toContain('鈴木 一郎 さん');
    expect(mail.parsed.text).toContain('投資信託 A について相談したい');
    expect(mail.parsed.text).toContain('電話 平日 10-12時');
  });

  it('routes a customer without a rep by region and product, else to the fallback', async () => {
    const covered = PortalRepRequestResult.parse((await portal('POST', PORTAL_REP_API.requests, visitors.sato, contactRep('fund-a'))).json());
    const osakaEntry = (await listMine(tokens.osaka)).entries.find((candidate) => candidate.key === repRequestKey(covered.id));
    expect(osakaEntry?.request).toMatchObject({ routedBy: 'coverage', region: 'kinki' });
    expect(relay.accepted.at(-1)!.envelopeTo).toEqual(['osaka@example.jp']);

    // The same region, a product nobody covers there: the fallback user.
    const uncovered = PortalRepRequestResult.parse((await portal('POST', PORTAL_REP_API.requests, visitors.sato, contactRep('deposit'))).json());
    const fallback = (await listMine(tokens.supervisor)).entries.find((candidate) => candidate.key === repRequestKey(uncovered.id));
    expect(fallback?.request).toMatchObject({ routedBy: 'fallback', region: 'kinki' });
    expect(relay.accepted.at(-1)!.envelopeTo).toEqual(['supervisor@example.jp']);

    // No postal code at all (Acme): the fallback user too.
    const acme = PortalRepRequestResult.parse((await portal('POST', PORTAL_REP_API.requests, visitors.acme, contactRep('fund-a'))).json());
    expect((await listMine(tokens.supervisor)).entries.find((candidate) => candidate.key === repRequestKey(acme.id))?.request).toMatchObject({ routedBy: 'fallback', region: null });
  });

  it('refuses HTML, unknown products, pages that are not products and missing fields, storing nothing', async () => {
    const before = await requestCount();
    const html = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, contactRep('fund-a', '<img src=x onerror=alert(1)>'));
    expect(html.statusCode).toBe(400);
    expect(html.json().error.message).toContain('message');
    expect(html.json().error.message).toContain('plain text');
    const unknown = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, { ...contactRep('fund-a'), productId: randomUUID() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toBe('productId: no such product');
    const notProduct = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, { ...contactRep('fund-a'), productId: products.guide!.id });
    expect(notProduct.statusCode).toBe(404);
    const empty = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, contactRep('fund-a', '   '));
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toContain('message');
    const badMethod = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, { ...contactRep('fund-a'), preferredMethod: 'fax' });
    expect(badMethod.statusCode).toBe(400);
    expect(badMethod.json().error.message).toContain('preferredMethod');
    const badPostal = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, { kind: 'address_change', clientId: randomUUID(), postalCode: '12-34', address: '東京都' });
    expect(badPostal.statusCode).toBe(400);
    expect(badPostal.json().error.message).toContain('postalCode');
    const staffToken = await backend.app.inject({ method: 'POST', url: `${base}${PORTAL_REP_API.requests}`, headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' }, payload: contactRep('fund-a') });
    expect(staffToken.statusCode).toBe(401);
    expect(await requestCount()).toBe(before);
  });

  it('applies a request sent twice once', async () => {
    const input = contactRep('deposit');
    const first = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, input);
    const again = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, input);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
  });

  it('raises the task for material about a product the customer does not own, and refuses one they own', async () => {
    const order = await portal('POST', PORTAL_API.orders, visitors.yamada, { clientId: randomUUID(), productId: products.deposit!.id, quantity: 1 });
    expect(order.statusCode, order.body).toBe(201);
    const owned = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, { kind: 'material', clientId: randomUUID(), productId: products.deposit!.id });
    expect(owned.statusCode).toBe(409);
    const material = await portal('POST', PORTAL_REP_API.requests, visitors.yamada, { kind: 'material', clientId: randomUUID(), productId: products['fund-a']!.id, message: '目論見書を郵送で' });
    expect(material.statusCode, material.body).toBe(201);
    const entry = (await listMine(tokens.agent)).entries.find((candidate) => candidate.key === repRequestKey(material.json().id));
    expect(entry?.request).toMatchObject({ kind: 'material', requestedAction: 'documents', message: '目論見書を郵送で' });
  });

  it('applies an address change to the record through the change log, raises the task and copies the manager', async () => {
    const after = await currentSeq(backend.handle, backend.demo.tenant.id);
    const before = relay.accepted.length;
    const response = await portal('POST', PORTAL_REP_API.requests, visitors.sato, { kind: 'address_change', clientId: randomUUID(), postalCode: '060-0001', address: '北海道札幌市中央区北1条西1' });
    expect(response.statusCode, response.body).toBe(201);
    const address = await portal('GET', PORTAL_REP_API.address, visitors.sato);
    expect(address.json()).toEqual({ postalCode: '060-0001', address: '北海道札幌市中央区北1条西1' });
    const changes = ChangesPage.parse((await backend.get(`${API.syncChanges}?after=${after}&limit=5000`, tokens.supervisor)).json());
    const upserted = changes.changes.flatMap((change) => (change.op === 'upsert_customer' ? [change.customer] : []));
    expect(upserted.find((customer) => customer.id === backend.demo.customers.sato.id)).toMatchObject({ postalCode: '060-0001', address: '北海道札幌市中央区北1条西1' });
    const task = changes.changes.find((change) => change.op === 'upsert_branch_call' && change.call.key === repRequestKey(response.json().id));
    expect(task && task.op === 'upsert_branch_call' ? task.call.request?.address : null).toEqual({
      postalCode: '060-0001',
      address: '北海道札幌市中央区北1条西1',
      previousPostalCode: '530-0001',
      previousAddress: '大阪府大阪市北区梅田1-1',
    });
    const sent = relay.accepted.slice(before).map((mail) => mail.envelopeTo[0]);
    expect(sent).toContain('info-manager@example.jp');
    const copy = relay.accepted.slice(before).find((mail) => mail.envelopeTo[0] === 'info-manager@example.jp')!;
    expect(copy.parsed.text).toContain('060-0001');
    expect(copy.parsed.text).toContain('530-0001');
  });

  it('marks a request handled like a call, once', async () => {
    const { id } = PortalRepRequestResult.parse((await portal('POST', PORTAL_REP_API.requests, visitors.yamada, contactRep('fund-a', '折り返しください'))).json());
    const push = async () =>
      PushResponse.parse(
        (
          await backend.send(
            'POST',
            API.syncPush,
            {
              entries: [
                {
                  type: 'handle_call',
                  clientId: randomUUID(),
                  callKey: repRequestKey(id),
                  customerId: backend.demo.customers.yamada.id,
                  incidentId: null,
                  action: { kind: 'contact', summary: '電話で折り返した', body: '' },
                  createdAt: new Date().toISOString(),
                },
              ],
            },
            tokens.agent,
          )
        ).json(),
      ).results[0]!;
    expect((await push()).status).toBe('applied');
    const second = await push();
    expect(second.status).toBe('rejected');
    const entry = (await listMine(tokens.agent)).entries.find((candidate) => candidate.key === repRequestKey(id));
    expect(entry?.handled?.by.id).toBe(backend.demo.users.agent.id);
    const wrong = await backend.send(
      'POST',
      API.syncPush,
      { entries: [{ type: 'handle_call', clientId: randomUUID(), callKey: repRequestKey(randomUUID()), customerId: backend.demo.customers.yamada.id, incidentId: null, action: { kind: 'contact', summary: 'x', body: '' }, createdAt: new Date().toISOString() }] },
      tokens.agent,
    );
    expect(PushResponse.parse(wrong.json()).results[0]).toMatchObject({ status: 'rejected', error: 'callKey: no such request' });
  });
});
