import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, MAIL_API, type AgentStatus } from '../../../shared/api.js';
import { CALLME_API, CALLME_PORTAL_API, CallMeOfferResponse, CallMeStatus, CallMeView, callmePath, type CallMeInput } from '../../../shared/callme.js';
import type { User } from '../../../shared/domain.js';
import { PORTAL_API, PORTAL_CSRF_HEADER, PORTAL_STAFF_API, PortalInvitation, PortalSession } from '../../../shared/portal.js';
import { insertContact, openIncidentTitled } from '../customers/writes.js';
import { PORTAL_COOKIE } from '../portal/sessions.js';
import { writeTransaction } from '../sync/changelog.js';
import { createUser } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { createCallMeNotifier } from './notifier.js';
import { DEFAULT_CALLME_OPTIONS, sweepCallMe, type CallMeContext } from './service.js';

interface Visitor {
  cookie: string;
  csrf: string;
}

const OFFER_SECONDS = 30;

describe.each(DIALECTS)('call me on %s', (dialect) => {
  let backend: TestBackend;
  let cx: CallMeContext;
  const agents: Record<'a' | 'b' | 'c', { user: User; token: string }> = {} as never;
  let adminToken = '';
  let sato: Visitor;
  let yamada: Visitor;
  const base = '/portal/demo';

  const staff = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, body?: unknown) =>
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
    const invited = await staff('POST', PORTAL_STAFF_API.invitation.replace(':id', customerId), adminToken);
    expect(invited.statusCode, invited.body).toBe(200);
    const token = PortalInvitation.parse(invited.json()).url.split('#/invite/')[1]!;
    const response = await backend.app.inject({
      method: 'POST',
      url: `${base}${PORTAL_API.invitation}`,
      headers: { 'content-type': 'application/json' },
      payload: { token, password: 'portal-password-123' },
    });
    expect(response.statusCode, response.body).toBe(200);
    const cookie = /tsunagu_portal=([^;]+)/.exec(String(response.headers['set-cookie']))![1]!;
    return { cookie, csrf: PortalSession.parse(response.json()).csrfToken };
  };
  const setStatus = async (token: string, status: AgentStatus) => {
    const response = await staff('PUT', MAIL_API.agentStatus, token, { status });
    expect(response.statusCode, response.body).toBe(200);
  };
  const press = (visitor: Visitor, input: Partial<CallMeInput> = {}) =>
    portal('POST', CALLME_PORTAL_API.callme, visitor, { clientId: randomUUID(), number: '06-6123-4567', reason: 'NISA について', ...input });
  const view = (response: LightMyRequestResponse) => {
    expect([200, 201], response.body).toContain(response.statusCode);
    return CallMeView.parse(response.json());
  };
  const offerOf = async (token: string) => CallMeOfferResponse.parse((await staff('GET', CALLME_API.offer, token)).json()).offer;
  const status = async (visitor: Visitor) => CallMeStatus.parse((await portal('GET', CALLME_PORTAL_API.callme, visitor)).json());
  const auditOf = async (requestId: string) =>
    (await backend.handle.db.selectFrom('audit_events').select(['action', 'user_id', 'details']).where('action', 'like', 'callme_%').orderBy('id').execute())
      .filter((row) => String(row.details).includes(requestId))
      .map((row) => `${row.action}${row.user_id ? `:${row.user_id}` : ''}`);

  beforeAll(async () => {
    backend = await startTestBackend(dialect, undefined, { callme: { sweepMs: 0, offerSeconds: OFFER_SECONDS } });
    cx = {
      handle: backend.handle,
      options: { ...DEFAULT_CALLME_OPTIONS, offerSeconds: OFFER_SECONDS, presenceTimeoutSeconds: 90, sweepMs: 0 },
      notifier: createCallMeNotifier(backend.handle, { warn: () => undefined }),
    };
    adminToken = await backend.login('admin');
    const tenantId = backend.demo.tenant.id;
    for (const key of ['a', 'b', 'c'] as const) {
      const user = await createUser(
        backend.handle,
        tenantId,
        { login: `callme-${key}`, displayName: `折返 ${key}`, customerLimitAuthority: 1, password: backend.demo.password, sipUser: `callme-${key}` },
        backend.config.argon2,
      );
      agents[key] = { user, token: await backend.login(`callme-${key}`) };
    }
    // Sato's last call was with b: b is her previous handler.
    await writeTransaction(backend.handle, async (tx) => {
      const incidentId = await openIncidentTitled(tx, tenantId, backend.demo.customers.sato.id, '前回のお電話');
      await insertContact(tx, tenantId, {
        incidentId,
        customerId: backend.demo.customers.sato.id,
        kind: 'call',
        direction: 'inbound',
        agentId: agents.b.user.id,
        summary: '前回',
        body: '',
        occurredAt: new Date(Date.now() - 86_400_000).toISOString(),
        callMeta: { from: '+81661234567' },
      });
    });
    sato = await signIn(backend.demo.customers.sato.id);
    yamada = await signIn(backend.demo.customers.yamada.id);
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  it('offers the previous handler first, then on a decline or a timeout the longest idle, and dials once accepted', async () => {
    // Available in this order: a is the longest idle, then c, then b.
    await setStatus(agents.a.token, 'available');
    await setStatus(agents.c.token, 'available');
    await setStatus(agents.b.token, 'available');

    const statusBefore = await status(sato);
    expect(statusBefore.numbers).toEqual(['+81661234567']);
    expect(statusBefore.request).toBeNull();

    const created = await press(sato);
    expect(created.statusCode, created.body).toBe(201);
    const request = view(created);
    expect(request).toMatchObject({ state: 'offered', number: '+81661234567', reason: 'NISA について', booked: false });

    const first = await offerOf(agents.b.token);
    expect(first).toMatchObject({ id: request.id, customerName: '佐藤 花子', customerCode: 'C-0002', number: '+81661234567', offerReason: 'last_handler' });
    expect(await offerOf(agents.a.token)).toBeNull();

    // b declines: a, the longest idle, is next.
    expect((await staff('POST', callmePath(CALLME_API.decline, request.id), agents.b.token)).statusCode).toBe(204);
    expect(await offerOf(agents.b.token)).toBeNull();
    expect(await offerOf(agents.a.token)).toMatchObject({ id: request.id, offerReason: 'available_agent' });
    // Declining again is no change (and b is not offered it back).
    expect((await staff('POST', callmePath(CALLME_API.decline, request.id), agents.b.token)).statusCode).toBe(204);
    expect(await offerOf(agents.a.token)).toMatchObject({ id: request.id });

    // a lets the offer run out: c is next.
    await sweepCallMe(cx, new Date(Date.now() + (OFFER_SECONDS + 1) * 1000));
    expect(await offerOf(agents.a.token)).toBeNull();
    expect(await offerOf(agents.c.token)).toMatchObject({ id: request.id });
    const late = await staff('POST', callmePath(CALLME_API.accept, request.id), agents.a.token);
    expect(late.statusCode, late.body).toBe(409);

    // c accepts: the portal says "calling you now", and it can no longer be cancelled.
    const accepted = await staff('POST', callmePath(CALLME_API.accept, request.id), agents.c.token);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toEqual({ id: request.id, customerId: backend.demo.customers.sato.id, number: '+81661234567' });
    expect((await staff('POST', callmePath(CALLME_API.accept, request.id), agents.c.token)).statusCode).toBe(200);
    expect((await status(sato)).request).toMatchObject({ id: request.id, state: 'dialling' });
    const cancelLate = await portal('POST', callmePath(CALLME_PORTAL_API.cancel, request.id), sato);
    expect(cancelLate.statusCode, cancelLate.body).toBe(409);
    expect(cancelLate.body).toContain('already calling you');

    // Someone else cannot close it; c's call ends answered, twice (a retry) is fine.
    expect((await staff('POST', callmePath(CALLME_API.complete, request.id), agents.a.token, { outcome: 'answered' })).statusCode).toBe(404);
    for (let i = 0; i < 2; i += 1) {
      const done = await staff('POST', callmePath(CALLME_API.complete, request.id), agents.c.token, { outcome: 'answered', callId: 'sip-call-1' });
      expect(done.statusCode, done.body).toBe(204);
    }
    expect((await status(sato)).request).toMatchObject({ id: request.id, state: 'done', outcome: 'answered' });

    const { b, a, c } = { b: agents.b.user.id, a: agents.a.user.id, c: agents.c.user.id };
    expect(await auditOf(request.id)).toEqual([
      'callme_requested',
      `callme_offered:${b}`,
      `callme_declined:${b}`,
      `callme_offered:${a}`,
      `callme_offer_expired:${a}`,
      `callme_offered:${c}`,
      `callme_accepted:${c}`,
      `callme_done:${c}`,
    ]);
  });

  it('waits in the queue while nobody is free and is offered to the first who becomes available; the customer can cancel', async () => {
    for (const key of ['a', 'b', 'c'] as const) await setStatus(agents[key].token, 'break');
    const request = view(await press(sato, { number: '090-1111-2222' }));
    expect(request).toMatchObject({ state: 'waiting', number: '+819011112222', booked: false });
    await sweepCallMe(cx);
    expect((await status(sato)).request).toMatchObject({ id: request.id, state: 'waiting' });

    // a's app has its event stream open: the offer is announced there the moment it is made.
    const baseUrl = await backend.listen();
    const stream = new AbortController();
    const response = await fetch(`${baseUrl}${API.events}`, { headers: { authorization: `Bearer ${agents.a.token}` }, signal: stream.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const readUntil = async (text: string) => {
      while (!received.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the event stream ended before ${text}`);
        received += decoder.decode(value);
      }
    };
    await readUntil('event: changed');
    await setStatus(agents.a.token, 'available');
    await sweepCallMe(cx);
    await readUntil('event: callme');
    stream.abort();
    expect(await offerOf(agents.a.token)).toMatchObject({ id: request.id, number: '+819011112222' });

    // Cancelled while offered: the offer is gone from a, and cancelling twice is fine.
    for (let i = 0; i < 2; i += 1) {
      expect(view(await portal('POST', callmePath(CALLME_PORTAL_API.cancel, request.id), sato))).toMatchObject({ id: request.id, state: 'cancelled' });
    }
    expect(await offerOf(agents.a.token)).toBeNull();
    expect((await staff('POST', callmePath(CALLME_API.accept, request.id), agents.a.token)).statusCode).toBe(409);
    expect(await auditOf(request.id)).toContain('callme_cancelled');
  });

  it('makes one request of duplicate presses, refuses bad input naming the field, and hides other customers\' requests', async () => {
    await setStatus(agents.a.token, 'break');
    const clientId = randomUUID();
    const first = await press(yamada, { clientId });
    expect(first.statusCode, first.body).toBe(201);
    const again = await press(yamada, { clientId });
    expect(again.statusCode).toBe(200);
    const otherPress = await press(yamada);
    expect(otherPress.statusCode).toBe(200);
    expect(view(again).id).toBe(view(first).id);
    expect(view(otherPress).id).toBe(view(first).id);
    expect(await backend.handle.db.selectFrom('audit_events').select('id').where('action', '=', 'callme_requested').where('customer_id', '=', backend.demo.customers.yamada.id).execute()).toHaveLength(1);

    const html = await press(sato, { reason: '<img src=x onerror=alert(1)>' });
    expect(html.statusCode).toBe(400);
    expect(html.body).toContain('reason');
    const badNumber = await press(sato, { number: 'call me maybe' });
    expect(badNumber.statusCode).toBe(400);
    expect(badNumber.body).toContain('number');

    // Sato cannot see nor cancel Yamada's request; an operator it was never offered to cannot take it.
    const forged = await portal('POST', callmePath(CALLME_PORTAL_API.cancel, view(first).id), sato);
    expect(forged.statusCode).toBe(404);
    expect((await status(yamada)).request).toMatchObject({ id: view(first).id, state: 'waiting' });
    expect((await staff('POST', callmePath(CALLME_API.accept, view(first).id), agents.b.token)).statusCode).toBe(404);
    // Without a portal session, or with a staff token, the portal route does not answer.
    const staffOnPortal = await backend.app.inject({ method: 'GET', url: `${base}${CALLME_PORTAL_API.callme}`, headers: { authorization: `Bearer ${agents.a.token}` } });
    expect(staffOnPortal.statusCode).toBe(401);
    view(await portal('POST', callmePath(CALLME_PORTAL_API.cancel, view(first).id), yamada));
  });

  it('closes a request being dialled when the operator logs the call with the customer, if the app never said the call ended', async () => {
    await setStatus(agents.a.token, 'available');
    const request = view(await press(sato));
    expect(await offerOf(agents.a.token)).toMatchObject({ id: request.id });
    expect((await staff('POST', callmePath(CALLME_API.accept, request.id), agents.a.token)).statusCode).toBe(200);
    const startedAt = new Date().toISOString();
    const entry = {
      type: 'log_call',
      clientId: randomUUID(),
      customerId: backend.demo.customers.sato.id,
      incidentId: backend.demo.customers.sato.incidentIds[0]!,
      newIncidentTitle: null,
      direction: 'outbound',
      summary: 'ご依頼の折り返し',
      body: '',
      callMeta: { callId: 'wrap-up-call-1', from: 'callme-a', to: '+81661234567', startedAt, answeredAt: startedAt, endedAt: startedAt },
      createdAt: startedAt,
    };
    const pushed = await staff('POST', API.syncPush, agents.a.token, { entries: [entry] });
    expect(pushed.statusCode, pushed.body).toBe(200);
    expect((await status(sato)).request).toMatchObject({ id: request.id, state: 'done', outcome: 'answered' });
    // The app's own report arriving afterwards changes nothing.
    expect((await staff('POST', callmePath(CALLME_API.complete, request.id), agents.a.token, { outcome: 'no_answer' })).statusCode).toBe(204);
    expect((await status(sato)).request).toMatchObject({ state: 'done', outcome: 'answered' });
    expect((await auditOf(request.id)).filter((action) => action.startsWith('callme_done'))).toHaveLength(1);
    await setStatus(agents.a.token, 'break');
  });

  it('books a request made outside business hours for the next opening and offers it only then', async () => {
    const forbidden = await staff('PUT', CALLME_API.hours, agents.a.token, { timeZone: 'Asia/Tokyo', days: [1], opensAt: '09:00', closesAt: '17:00' });
    expect(forbidden.statusCode).toBe(403);
    const badZone = await staff('PUT', CALLME_API.hours, adminToken, { timeZone: 'Mars/Olympus', days: [1], opensAt: '09:00', closesAt: '17:00' });
    expect(badZone.statusCode).toBe(400);
    expect(badZone.body).toContain('timeZone');
    const closesFirst = await staff('PUT', CALLME_API.hours, adminToken, { timeZone: 'Asia/Tokyo', days: [1], opensAt: '18:00', closesAt: '09:00' });
    expect(closesFirst.statusCode).toBe(400);
    expect(closesFirst.body).toContain('body.closesAt: must be after opensAt');

    // Open only tomorrow (Tokyo), 09:00–17:00: now is outside.
    const tokyoNow = new Date(Date.now() + 9 * 3_600_000);
    const tomorrow = new Date(Date.UTC(tokyoNow.getUTCFullYear(), tokyoNow.getUTCMonth(), tokyoNow.getUTCDate() + 1));
    const set = await staff('PUT', CALLME_API.hours, adminToken, { timeZone: 'Asia/Tokyo', days: [tomorrow.getUTCDay()], opensAt: '09:00', closesAt: '17:00' });
    expect(set.statusCode, set.body).toBe(200);
    await setStatus(agents.a.token, 'available');

    const request = view(await press(sato));
    // 09:00 in Tokyo is 00:00 UTC.
    expect(request).toMatchObject({ state: 'waiting', booked: true, dueAt: tomorrow.toISOString() });
    await sweepCallMe(cx);
    expect(await offerOf(agents.a.token)).toBeNull();
    await sweepCallMe(cx, new Date(tomorrow.getTime() + 60_000));
    expect(await offerOf(agents.a.token)).toMatchObject({ id: request.id });
  });
});
