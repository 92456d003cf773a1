import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ChangesPage } from '../../../shared/api.js';
import {
  CustomerPortalInfo,
  PORTAL_API,
  PORTAL_CSRF_HEADER,
  PORTAL_STAFF_API,
  PortalAdminPage,
  PortalEventBatchResult,
  PortalInvitation,
  PortalOrder,
  PortalPageList,
  PortalSession,
  WEB_ACTIVITY_INCIDENT_TITLE,
  WEB_ORDERS_INCIDENT_TITLE,
  readWebActivity,
  type PortalEvent,
  type PortalPageInput,
} from '../../../shared/portal.js';
import { CaptureRelay } from '../mail/test-support/capture-smtp.js';
import { testMailConfig } from '../mail/test-support/mail-backend.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { PORTAL_CSP } from './routes.js';
import { PORTAL_COOKIE } from './sessions.js';

const EVENTS_PER_MINUTE = 60;
const CUSTOMER_PASSWORD = 'portal-password-123';

interface Visitor {
  cookie: string;
  csrf: string;
}

describe.each(DIALECTS)('customer portal on %s', (dialect) => {
  let backend: TestBackend;
  let relay: CaptureRelay;
  let staticDir: string;
  const tokens = { admin: '', supervisor: '', agent: '' };
  const pages: Record<string, PortalAdminPage> = {};
  let yamada: Visitor;
  const base = '/portal/demo';

  const staff = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, body?: unknown) =>
    backend.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const portal = (method: 'GET' | 'POST' | 'DELETE', route: string, visitor: Partial<Visitor> | null, body?: unknown, headers: Record<string, string> = {}) =>
    backend.app.inject({
      method,
      url: `${base}${route}`,
      headers: {
        ...(visitor?.cookie ? { cookie: `${PORTAL_COOKIE}=${visitor.cookie}` } : {}),
        ...(visitor?.csrf ? { [PORTAL_CSRF_HEADER]: visitor.csrf } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const signedIn = (response: LightMyRequestResponse): Visitor => {
    expect(response.statusCode, response.body).toBe(200);
    const header = String(response.headers['set-cookie']);
    const cookie = /tsunagu_portal=([^;]+)/.exec(header)?.[1];
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Strict');
    expect(header).toContain('Path=/portal/demo/');
    return { cookie: cookie!, csrf: PortalSession.parse(response.json()).csrfToken };
  };
  const savePage = async (input: PortalPageInput) => {
    const response = await staff('POST', PORTAL_STAFF_API.pages, tokens.admin, input);
    expect(response.statusCode, response.body).toBe(201);
    const page = PortalAdminPage.parse(response.json());
    pages[page.slug] = page;
    return page;
  };
  const invite = async (customerId: string) => {
    const response = await staff('POST', PORTAL_STAFF_API.invitation.replace(':id', customerId), tokens.admin);
    expect(response.statusCode, response.body).toBe(200);
    return PortalInvitation.parse(response.json()).url.split('#/invite/')[1]!;
  };
  const event = (pageId: string, kind: PortalEvent['kind'] = 'page_view'): PortalEvent => ({
    clientId: randomUUID(),
    kind,
    pageId,
    occurredAt: new Date().toISOString(),
    target: null,
    positionSeconds: null,
  });
  const changesSince = async (token: string, after: number) => ChangesPage.parse((await backend.get(`${API.syncChanges}?after=${after}&limit=5000`, token)).json());

  beforeAll(async () => {
    relay = new CaptureRelay();
    await relay.start();
    staticDir = await mkdtemp(path.join(tmpdir(), 'tsunagu-portal-static-'));
    await mkdir(path.join(staticDir, 'assets'));
    await writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>portal</title><div id="root"></div>');
    await writeFile(path.join(staticDir, 'assets', 'portal-test.js'), 'console.log(1)');
    backend = await startTestBackend(dialect, undefined, {
      portal: {
        mailConfig: testMailConfig({ relayUrl: relay.url }),
        staticDir,
        limits: { eventsPerMinute: EVENTS_PER_MINUTE, keepPerCustomer: 500, retentionDays: 180 },
      },
    });
    tokens.admin = await backend.login('admin');
    tokens.supervisor = await backend.login('supervisor');
    tokens.agent = await backend.login('agent');
    await savePage({ kind: 'product', slug: 'fund-a', title: '投資信託 A', bodyMarkdown: '# 投資信託 A\n\n**安定**運用\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>', priceYen: 10000 });
    await savePage({ kind: 'page', slug: 'vip', title: 'VIP のご案内', bodyMarkdown: 'for rank 3+', minRank: 3 });
    await savePage({ kind: 'page', slug: 'sato-only', title: '佐藤様専用', bodyMarkdown: 'only C-0002', onlyCustomerCodes: ['C-0002'] });
    const token = await invite(backend.demo.customers.yamada.id);
    yamada = signedIn(await portal('POST', PORTAL_API.invitation, null, { token, password: CUSTOMER_PASSWORD }));
  });
  afterAll(async () => {
    await backend?.dispose();
    await relay?.stop();
    if (staticDir) await rm(staticDir, { recursive: true, force: true });
  });

  it('serves the portal page under the tenant with the strict CSP, and 404 for an unknown tenant', async () => {
    const page = await portal('GET', '/', null);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toBe(PORTAL_CSP);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await backend.app.inject({ method: 'GET', url: '/portal/no-such-tenant/' })).statusCode).toBe(404);
    const asset = await backend.app.inject({ method: 'GET', url: '/portal/assets/portal-test.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect((await backend.app.inject({ method: 'GET', url: '/portal/assets/..%2Fpackage.json' })).statusCode).toBe(404);
  });

  it('keeps portal sessions and staff sessions apart, both ways', async () => {
    const session = await portal('GET', PORTAL_API.session, yamada);
    expect(session.statusCode).toBe(200);
    expect(PortalSession.parse(session.json()).customer.code).toBe('C-0001');
    // The portal cookie opens nothing of the staff API, sent as a cookie or as a bearer token.
    for (const url of [API.me, API.syncChanges + '?after=0', PORTAL_STAFF_API.pages, PORTAL_STAFF_API.customer.replace(':id', backend.demo.customers.yamada.id)]) {
      const asCookie = await backend.app.inject({ method: 'GET', url, headers: { cookie: `${PORTAL_COOKIE}=${yamada.cookie}` } });
      expect(asCookie.statusCode, url).toBe(401);
      const asBearer = await backend.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${yamada.cookie}` } });
      expect(asBearer.statusCode, url).toBe(401);
    }
    // A staff token opens nothing of the portal.
    for (const route of [PORTAL_API.session, PORTAL_API.pages, PORTAL_API.orders]) {
      const asBearer = await backend.app.inject({ method: 'GET', url: `${base}${route}`, headers: { authorization: `Bearer ${tokens.admin}` } });
      expect(asBearer.statusCode, route).toBe(401);
      const asCookie = await backend.app.inject({ method: 'GET', url: `${base}${route}`, headers: { cookie: `${PORTAL_COOKIE}=${tokens.admin}` } });
      expect(asCookie.statusCode, route).toBe(401);
    }
    // A session of one tenant is not valid under another tenant's portal path.
    const other = await backend.app.inject({ method: 'GET', url: `/portal/other${PORTAL_API.session}`, headers: { cookie: `${PORTAL_COOKIE}=${yamada.cookie}` } });
    expect(other.statusCode).toBe(401);
  });

  it('signs in with the password, says the same for an unknown code, and throttles guesses', async () => {
    const ok = signedIn(await portal('POST', PORTAL_API.login, null, { customerCode: 'C-0001', password: CUSTOMER_PASSWORD }));
    expect(ok.cookie).not.toBe(yamada.cookie);
    const wrong = await portal('POST', PORTAL_API.login, null, { customerCode: 'C-0001', password: 'not-the-password' });
    const unknown = await portal('POST', PORTAL_API.login, null, { customerCode: 'C-9999', password: 'not-the-password' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
    // A customer without a password (never invited) cannot sign in with any password.
    expect((await portal('POST', PORTAL_API.login, null, { customerCode: 'C-0002', password: '' })).statusCode).toBe(400);
    // Guessing one code: after the free failures the throttle answers 429 even for the right password.
    let status = 0;
    for (let attempt = 0; attempt < 10 && status !== 429; attempt += 1) {
      status = (await portal('POST', PORTAL_API.login, null, { customerCode: 'C-0003', password: `guess-${attempt}` })).statusCode;
    }
    expect(status).toBe(429);
    const throttled = await portal('POST', PORTAL_API.login, null, { customerCode: 'c-0003', password: 'guess-again' });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['retry-after']).toBeDefined();
    // The portal's throttle keys are the portal's: a staff login of the same tenant is not locked.
    await backend.login('admin');
  });

  it('signs in with a one-time code mailed over SMTP, once, and not with a guessed one', async () => {
    const accepted = relay.next('accepted');
    const request = await portal('POST', PORTAL_API.loginCode, null, { customerCode: 'C-0002', email: 'HANAKO.SATO@example.jp' });
    expect(request.statusCode).toBe(202);
    // An address that is not the customer's gets the same answer, and no code.
    const stranger = await portal('POST', PORTAL_API.loginCode, null, { customerCode: 'C-0002', email: 'someone@example.com' });
    expect(stranger.statusCode).toBe(202);
    expect(stranger.json()).toEqual(request.json());
    await accepted;
    const mail = relay.accepted.at(-1)!;
    expect(mail.envelopeTo).toEqual(['hanako.sato@example.jp']);
    const code = /(\d{6})/.exec(mail.parsed.text ?? '')![1]!;
    const wrongCode = code === '000000' ? '000001' : '000000';
    expect((await portal('POST', PORTAL_API.loginCodeVerify, null, { customerCode: 'C-0002', code: wrongCode })).statusCode).toBe(401);
    const sato = signedIn(await portal('POST', PORTAL_API.loginCodeVerify, null, { customerCode: 'C-0002', code }));
    expect(PortalSession.parse((await portal('GET', PORTAL_API.session, sato)).json()).customer.name).toBe('佐藤 花子');
    expect((await portal('POST', PORTAL_API.loginCodeVerify, null, { customerCode: 'C-0002', code })).statusCode).toBe(401);
    // Sato sees the page limited to her; Yamada does not, and gets 404 for it.
    const list = PortalPageList.parse((await portal('GET', PORTAL_API.pages, sato)).json()).pages.map((page) => page.slug);
    expect(list).toContain('sato-only');
    expect((await portal('GET', PORTAL_API.page.replace(':slug', 'sato-only'), yamada)).statusCode).toBe(404);
  });

  it('refuses writes without the CSRF token or from another origin', async () => {
    const batch = { events: [event(pages['fund-a']!.id)] };
    expect((await portal('POST', PORTAL_API.events, { cookie: yamada.cookie }, batch)).statusCode).toBe(403);
    expect((await portal('POST', PORTAL_API.events, { cookie: yamada.cookie, csrf: 'forged' }, batch)).statusCode).toBe(403);
    expect((await portal('POST', PORTAL_API.events, yamada, batch, { origin: 'https://evil.example' })).statusCode).toBe(403);
  });

  it('shows pages by rank (404 above it), and only supervisors and admins set the rank', async () => {
    const slugs = async () => PortalPageList.parse((await portal('GET', PORTAL_API.pages, yamada)).json()).pages.map((page) => page.slug).sort();
    expect(await slugs()).toEqual(['fund-a']);
    const vip = await portal('GET', PORTAL_API.page.replace(':slug', 'vip'), yamada);
    const missing = await portal('GET', PORTAL_API.page.replace(':slug', 'no-such-page'), yamada);
    expect(vip.statusCode).toBe(404);
    expect(vip.json()).toEqual(missing.json());
    const fund = await portal('GET', PORTAL_API.page.replace(':slug', 'fund-a'), yamada);
    expect(fund.statusCode).toBe(200);
    expect(fund.json().bodyHtml).toContain('<strong>安定</strong>');
    expect(fund.json().bodyHtml).not.toContain('<script');
    expect(fund.json().bodyHtml).not.toContain('onerror');

    const rankUrl = PORTAL_STAFF_API.rank.replace(':id', backend.demo.customers.yamada.id);
    expect((await staff('PUT', rankUrl, tokens.agent, { rank: 3 })).statusCode).toBe(403);
    expect((await staff('PUT', rankUrl, tokens.supervisor, { rank: 9 })).statusCode).toBe(400);
    const raised = await staff('PUT', rankUrl, tokens.supervisor, { rank: 3 });
    expect(raised.statusCode, raised.body).toBe(200);
    expect(CustomerPortalInfo.parse(raised.json()).rank).toBe(3);
    expect(await slugs()).toEqual(['fund-a', 'vip']);
    expect((await portal('GET', PORTAL_API.page.replace(':slug', 'vip'), yamada)).statusCode).toBe(200);
    await staff('PUT', rankUrl, tokens.supervisor, { rank: 1 });
    expect((await portal('GET', PORTAL_API.page.replace(':slug', 'vip'), yamada)).statusCode).toBe(404);
    // Content is for admins only.
    expect((await staff('POST', PORTAL_STAFF_API.pages, tokens.supervisor, { kind: 'page', slug: 'x', title: 'x', bodyMarkdown: '' })).statusCode).toBe(403);
  });

  it('files web events once as web contacts in the customer’s incident tree, through the change log', async () => {
    const cursor = (await changesSince(tokens.agent, 0)).cursor;
    const fund = pages['fund-a']!.id;
    const batch = { events: [event(fund), { ...event(fund, 'video_play'), positionSeconds: 12.5 }, event(pages['vip']!.id)] };
    const first = PortalEventBatchResult.parse((await portal('POST', PORTAL_API.events, yamada, batch)).json());
    expect(first.accepted).toBe(2);
    expect(first.dropped).toEqual([{ clientId: batch.events[2]!.clientId, reason: 'pageId: no such page' }]);
    const again = PortalEventBatchResult.parse((await portal('POST', PORTAL_API.events, yamada, batch)).json());
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });

    const changes = (await changesSince(tokens.agent, cursor)).changes;
    const contacts = changes.flatMap((change) => (change.op === 'upsert_contact' ? [change.contact] : []));
    expect(contacts).toHaveLength(2);
    expect(contacts.every((contact) => contact.kind === 'web' && contact.customerId === backend.demo.customers.yamada.id)).toBe(true);
    expect(contacts.map((contact) => readWebActivity(contact.body ?? '')?.webActivity).sort()).toEqual(['page_view', 'video_play']);
    expect(contacts[0]!.summary).toContain('投資信託 A');
    const incident = changes.find((change) => change.op === 'upsert_incident');
    expect(incident?.op === 'upsert_incident' && incident.incident.title).toBe(WEB_ACTIVITY_INCIDENT_TITLE);
    expect(new Set(contacts.map((contact) => contact.incidentId)).size).toBe(1);

    // Bad batches: too many events, a malformed one, an oversized body.
    const tooMany = { events: Array.from({ length: 51 }, () => event(fund)) };
    expect((await portal('POST', PORTAL_API.events, yamada, tooMany)).statusCode).toBe(400);
    const malformed = await portal('POST', PORTAL_API.events, yamada, { events: [{ ...event(fund), kind: 'keylogger' }] });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.message).toContain('kind');
    const huge = { events: [{ ...event(fund), target: 'x'.repeat(40_000) }] };
    expect((await portal('POST', PORTAL_API.events, yamada, huge)).statusCode).toBe(413);
  });

  it('keeps a confidential customer’s web activity out of the caches of users who may not see it', async () => {
    const acme = signedIn(await portal('POST', PORTAL_API.invitation, null, { token: await invite(backend.demo.customers.acme.id), password: CUSTOMER_PASSWORD }));
    const agentCursor = (await changesSince(tokens.agent, 0)).cursor;
    const adminCursor = (await changesSince(tokens.admin, 0)).cursor;
    const result = PortalEventBatchResult.parse((await portal('POST', PORTAL_API.events, acme, { events: [event(pages['fund-a']!.id)] })).json());
    expect(result.accepted).toBe(1);
    const seenBy = async (token: string, after: number) =>
      (await changesSince(token, after)).changes.filter((change) => change.op === 'upsert_contact' && change.contact.customerId === backend.demo.customers.acme.id).length;
    expect(await seenBy(tokens.admin, adminCursor)).toBe(1);
    expect(await seenBy(tokens.agent, agentCursor)).toBe(0);
  });

  it('bounds the events a customer may send a minute', async () => {
    const sato = signedIn(await portal('POST', PORTAL_API.invitation, null, { token: await invite(backend.demo.customers.sato.id), password: CUSTOMER_PASSWORD }));
    const fund = pages['fund-a']!.id;
    const full = { events: Array.from({ length: 50 }, () => event(fund)) };
    expect(PortalEventBatchResult.parse((await portal('POST', PORTAL_API.events, sato, full)).json()).accepted).toBe(50);
    const over = await portal('POST', PORTAL_API.events, sato, { events: Array.from({ length: EVENTS_PER_MINUTE - 49 }, () => event(fund)) });
    expect(over.statusCode).toBe(429);
    const stored = await backend.handle.db.selectFrom('contacts').select((eb) => eb.fn.countAll<number | string>().as('n')).where('customer_id', '=', backend.demo.customers.sato.id).where('kind', '=', 'web').executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(50);
  });

  it('records an order once, mails the confirmation over SMTP, and files it in the tree and the owned products', async () => {
    const cursor = (await changesSince(tokens.agent, 0)).cursor;
    const before = relay.accepted.length;
    const input = { clientId: randomUUID(), productId: pages['fund-a']!.id, quantity: 3, note: '至急お願いします' };
    const created = await portal('POST', PORTAL_API.orders, yamada, input);
    expect(created.statusCode, created.body).toBe(201);
    const order = PortalOrder.parse(created.json());
    expect(order).toMatchObject({ productTitle: '投資信託 A', quantity: 3, confirmation: 'sent' });
    expect(relay.accepted.length).toBe(before + 1);
    const mail = relay.accepted.at(-1)!;
    expect(mail.envelopeTo).toEqual(['taro.yamada@example.jp']);
    expect(mail.parsed.subject).toContain('投資信託 A');
    expect(mail.parsed.text).toContain(order.id);

    // Sent again after a lost answer: the same order, no second mail.
    const again = await portal('POST', PORTAL_API.orders, yamada, input);
    expect(again.statusCode).toBe(200);
    expect(PortalOrder.parse(again.json()).id).toBe(order.id);
    expect(relay.accepted.length).toBe(before + 1);
    expect(PortalOrder.array().parse((await portal('GET', PORTAL_API.orders, yamada)).json().orders).map((entry) => entry.id)).toEqual([order.id]);

    const changes = (await changesSince(tokens.agent, cursor)).changes;
    const contact = changes.find((change) => change.op === 'upsert_contact');
    expect(contact?.op === 'upsert_contact' && readWebActivity(contact.contact.body ?? '')).toMatchObject({ webActivity: 'order', quantity: 3 });
    const incident = changes.find((change) => change.op === 'upsert_incident');
    expect(incident?.op === 'upsert_incident' && incident.incident.title).toBe(WEB_ORDERS_INCIDENT_TITLE);
    const info = CustomerPortalInfo.parse((await staff('GET', PORTAL_STAFF_API.customer.replace(':id', backend.demo.customers.yamada.id), tokens.agent)).json());
    expect(info.ownedProducts).toEqual([expect.objectContaining({ title: '投資信託 A', quantity: 3 })]);
    expect(info.hasPassword).toBe(true);

    // Bad orders: a page that is not a product, a product above the rank, HTML in the note.
    expect((await portal('POST', PORTAL_API.orders, yamada, { ...input, clientId: randomUUID(), productId: randomUUID() })).statusCode).toBe(404);
    expect((await portal('POST', PORTAL_API.orders, yamada, { ...input, clientId: randomUUID(), productId: pages['vip']!.id })).statusCode).toBe(404);
    const html = await portal('POST', PORTAL_API.orders, yamada, { ...input, clientId: randomUUID(), note: '<img src=x onerror=alert(1)>' });
    expect(html.statusCode).toBe(400);
    expect(html.json().error.message).toContain('note');
  });

  it('hides a customer’s portal account from staff who may not see the customer', async () => {
    const url = PORTAL_STAFF_API.customer.replace(':id', backend.demo.customers.acme.id);
    expect((await staff('GET', url, tokens.agent)).statusCode).toBe(404);
    expect((await staff('GET', url, tokens.admin)).statusCode).toBe(200);
  });

  it('signs out', async () => {
    const visitor = signedIn(await portal('POST', PORTAL_API.login, null, { customerCode: 'C-0001', password: CUSTOMER_PASSWORD }));
    expect((await portal('DELETE', PORTAL_API.session, visitor)).statusCode).toBe(204);
    expect((await portal('GET', PORTAL_API.session, visitor)).statusCode).toBe(401);
  });
});
