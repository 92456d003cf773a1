import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_API, PORTAL_CSRF_HEADER, PORTAL_STAFF_API, PortalInvitation, PortalSession } from '../../../shared/portal.js';
import {
  PORTAL_SCREEN_SYNC_API,
  PortalScreenShare,
  SCREEN_SYNC_API,
  SCREEN_SYNC_LIMITS,
  ScreenSyncFeed,
  ScreenSyncView,
  screenSyncPath,
} from '../../../shared/screen-sync.js';
import { testMailConfig } from '../mail/test-support/mail-backend.js';
import { PORTAL_COOKIE } from '../portal/sessions.js';
import { insertConnectedCall } from '../telephony/fixtures.js';
import { telephonyDb } from '../telephony/schema.js';
import { screenSyncDb } from './store.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

interface Visitor {
  cookie: string;
  csrf: string;
}

/** rrweb's first events as record() emits them: Meta, then the full snapshot. */
const fullSnapshot = (text: string) => [
  { type: 4, timestamp: Date.now(), data: { href: 'http://127.0.0.1/portal/demo/', width: 800, height: 600 } },
  { type: 2, timestamp: Date.now(), data: { node: { type: 0, childNodes: [{ type: 3, textContent: text, id: 2 }], id: 1 }, initialOffset: { top: 0, left: 0 } } },
];
const incremental = (n: number) => [{ type: 3, timestamp: Date.now(), data: { source: 1, positions: [{ x: n, y: n, id: 2, timeOffset: 0 }] } }];

describe.each(DIALECTS)('screen sync on %s', (dialect) => {
  let backend: TestBackend;
  let staticDir: string;
  const tokens = { admin: '', agent: '', osaka: '', supervisor: '' };
  let yamada: Visitor;
  let sato: Visitor;

  const staff = (method: 'GET' | 'POST', url: string, token: string, body?: unknown) =>
    backend.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const portal = (method: 'GET' | 'POST', route: string, visitor: Visitor, body?: unknown) =>
    backend.app.inject({
      method,
      url: `/portal/demo${route}`,
      headers: {
        cookie: `${PORTAL_COOKIE}=${visitor.cookie}`,
        [PORTAL_CSRF_HEADER]: visitor.csrf,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : (body as object) }),
    });
  const signedIn = (response: LightMyRequestResponse): Visitor => {
    expect(response.statusCode, response.body).toBe(200);
    const cookie = /tsunagu_portal=([^;]+)/.exec(String(response.headers['set-cookie']))?.[1];
    return { cookie: cookie!, csrf: PortalSession.parse(response.json()).csrfToken };
  };
  const portalAccount = async (customerId: string): Promise<Visitor> => {
    const invited = await staff('POST', PORTAL_STAFF_API.invitation.replace(':id', customerId), tokens.admin);
    const token = PortalInvitation.parse(invited.json()).url.split('#/invite/')[1]!;
    return signedIn(
      await backend.app.inject({ method: 'POST', url: `/portal/demo${PORTAL_API.invitation}`, headers: { 'content-type': 'application/json' }, payload: { token, password: 'portal-password-123' } }),
    );
  };
  const share = async (visitor: Visitor) => {
    const response = await portal('POST', PORTAL_SCREEN_SYNC_API.shares, visitor, {});
    expect(response.statusCode, response.body).toBe(201);
    return PortalScreenShare.parse(response.json());
  };
  const shareState = async (visitor: Visitor, id: string) => PortalScreenShare.parse((await portal('GET', screenSyncPath(PORTAL_SCREEN_SYNC_API.share, id), visitor)).json());
  const join = (token: string, sipCallId: string, code: string) => staff('POST', SCREEN_SYNC_API.join, token, { sipCallId, code });
  const sendBatch = (visitor: Visitor, id: string, seq: number, events: unknown) => portal('POST', screenSyncPath(PORTAL_SCREEN_SYNC_API.events, id), visitor, { seq, events });
  const feed = async (token: string, id: string, after = 0) => {
    const response = await staff('GET', `${screenSyncPath(SCREEN_SYNC_API.feed, id)}?after=${after}`, token);
    expect(response.statusCode, response.body).toBe(200);
    return ScreenSyncFeed.parse(response.json());
  };
  const endCall = (id: string) =>
    telephonyDb(backend.handle.db).updateTable('calls').set({ status: 'ended', ended_at: new Date().toISOString() }).where('id', '=', id).execute();
  const auditOf = async (sessionId: string) =>
    (
      await backend.handle.db
        .selectFrom('audit_events')
        .select(['action', 'user_id', 'customer_id', 'details'])
        .where('details', 'like', `%${sessionId}%`)
        .orderBy('id')
        .execute()
    ).map((event) => ({ ...event, details: JSON.parse(event.details) as Record<string, unknown> }));
  /** Every call of earlier tests ends, so each test's share binds to its own call. */
  const endAllCalls = () =>
    telephonyDb(backend.handle.db).updateTable('calls').set({ status: 'ended', ended_at: new Date().toISOString() }).where('status', '=', 'connected').execute();

  beforeAll(async () => {
    staticDir = await mkdtemp(path.join(tmpdir(), 'tsunagu-screen-sync-static-'));
    await mkdir(path.join(staticDir, 'assets'));
    await writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>portal</title>');
    backend = await startTestBackend(dialect, undefined, { portal: { mailConfig: testMailConfig({ relayUrl: 'smtp://127.0.0.1:9' }), staticDir } });
    tokens.admin = await backend.login('admin');
    tokens.agent = await backend.login('agent');
    tokens.osaka = await backend.login('osaka');
    tokens.supervisor = await backend.login('supervisor');
    yamada = await portalAccount(backend.demo.customers.yamada.id);
    sato = await portalAccount(backend.demo.customers.sato.id);
  });
  afterAll(async () => {
    await backend?.dispose();
    if (staticDir) await rm(staticDir, { recursive: true, force: true });
  });

  it('binds a code to the customer’s connected call and its operator, once; relays events to that operator only; the highlight reaches the customer', async () => {
    await endAllCalls();
    const { agent } = backend.demo.users;
    // No call, no share: the customer learns why.
    const refused = await portal('POST', PORTAL_SCREEN_SYNC_API.shares, yamada, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(/during a call/);

    const call = await insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId: agent.id, customerId: backend.demo.customers.yamada.id });
    const offered = await share(yamada);
    expect(offered).toMatchObject({ state: 'pending', highlight: null });
    expect(offered.code).toMatch(/^\d{6}$/);
    // The code is shown once: a later read does not repeat it.
    expect((await shareState(yamada, offered.id)).code).toBeNull();
    // Events before the operator joined are refused, not stored for later.
    expect((await sendBatch(yamada, offered.id, 1, fullSnapshot('too early'))).statusCode).toBe(409);

    // Another operator cannot join with the right code: the call is not theirs.
    expect((await join(tokens.osaka, call.sipCallId, offered.code!)).statusCode).toBe(404);
    // Nor read the share by its id, before or after.
    expect((await staff('GET', screenSyncPath(SCREEN_SYNC_API.feed, offered.id), tokens.agent)).statusCode).toBe(404);

    const joined = await join(tokens.agent, call.sipCallId, offered.code!);
    expect(joined.statusCode, joined.body).toBe(200);
    const session = ScreenSyncView.parse(joined.json());
    expect(session).toMatchObject({ id: offered.id, state: 'active', callId: call.id, customerId: backend.demo.customers.yamada.id });
    // Single use.
    const again = await join(tokens.agent, call.sipCallId, offered.code!);
    expect(again.statusCode).toBe(403);
    expect(again.json().error.message).toMatch(/^code: wrong or expired code/);
    expect((await shareState(yamada, offered.id)).state).toBe('active');

    expect((await sendBatch(yamada, offered.id, 1, fullSnapshot('投資信託 A のページ'))).statusCode).toBe(201);
    expect((await sendBatch(yamada, offered.id, 2, incremental(1))).statusCode).toBe(201);
    // A batch sent twice (a retry after a lost answer) is stored once.
    const retried = await sendBatch(yamada, offered.id, 2, incremental(1));
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual({ stored: false, state: 'active' });

    const first = await feed(tokens.agent, offered.id);
    expect(first.reset).toBe(true);
    expect(first.batches.map((batch) => batch.seq)).toEqual([1, 2]);
    expect(JSON.stringify(first.batches[0]!.events)).toContain('投資信託 A のページ');
    expect((await feed(tokens.agent, offered.id, 2)).batches).toEqual([]);
    // Another operator, a supervisor, or the admin: not found.
    for (const token of [tokens.osaka, tokens.supervisor, tokens.admin]) {
      expect((await staff('GET', screenSyncPath(SCREEN_SYNC_API.feed, offered.id), token)).statusCode).toBe(404);
    }

    // A new full snapshot replaces what came before it: an operator behind it starts from it.
    expect((await sendBatch(yamada, offered.id, 3, fullSnapshot('after a checkout'))).statusCode).toBe(201);
    const behind = await feed(tokens.agent, offered.id, 1);
    expect(behind.reset).toBe(true);
    expect(behind.batches.map((batch) => batch.seq)).toEqual([3]);

    // The operator points at node 2; the customer's page reads the highlight.
    const pointed = await staff('POST', screenSyncPath(SCREEN_SYNC_API.highlight, offered.id), tokens.agent, { nodeId: 2, x: 120, y: 40 });
    expect(pointed.statusCode, pointed.body).toBe(200);
    expect((await shareState(yamada, offered.id)).highlight).toMatchObject({ seq: 1, nodeId: 2, x: 120, y: 40 });
    expect((await staff('POST', screenSyncPath(SCREEN_SYNC_API.highlight, offered.id), tokens.agent, { nodeId: '<b>', x: 1, y: 1 })).statusCode).toBe(400);

    // Another customer cannot read or feed this share.
    expect((await portal('GET', screenSyncPath(PORTAL_SCREEN_SYNC_API.share, offered.id), sato)).statusCode).toBe(404);
    expect((await sendBatch(sato, offered.id, 9, incremental(9))).statusCode).toBe(404);

    const stopped = await portal('POST', screenSyncPath(PORTAL_SCREEN_SYNC_API.stop, offered.id), yamada, {});
    expect(PortalScreenShare.parse(stopped.json())).toMatchObject({ state: 'ended', endReason: 'customer_stopped' });
    expect((await feed(tokens.agent, offered.id)).session).toMatchObject({ state: 'ended', endReason: 'customer_stopped' });
    expect((await sendBatch(yamada, offered.id, 4, incremental(4))).statusCode).toBe(409);

    // By the call: the reused code was refused when no share of the call was waiting for one.
    const audit = await auditOf(call.id);
    expect(audit.map((event) => event.action)).toEqual(['screen_sync_offered', 'screen_sync_joined', 'screen_sync_code_refused', 'screen_sync_ended']);
    expect(audit.every((event) => event.customer_id === backend.demo.customers.yamada.id)).toBe(true);
    expect(audit[1]!.user_id).toBe(agent.id);
    expect(audit[3]!.details).toMatchObject({ reason: 'customer_stopped' });
  });

  it('ends when the call ends, or when the operator stops; refuses oversized, malformed and flooding batches', async () => {
    await endAllCalls();
    const call = await insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId: backend.demo.users.agent.id, customerId: backend.demo.customers.yamada.id });
    const offered = await share(yamada);
    expect((await join(tokens.agent, call.sipCallId, offered.code!)).statusCode).toBe(200);

    expect((await sendBatch(yamada, offered.id, 1, [{ type: 'x' }])).json().error.message).toMatch(/events/);
    expect((await sendBatch(yamada, offered.id, 1, Array.from({ length: SCREEN_SYNC_LIMITS.eventsPerBatch + 1 }, () => incremental(1)[0]))).statusCode).toBe(400);
    const huge = await sendBatch(yamada, offered.id, 1, [{ type: 3, timestamp: 1, data: 'x'.repeat(SCREEN_SYNC_LIMITS.batchBytes) }]);
    expect(huge.statusCode).toBe(413);
    const statuses: number[] = [];
    for (let seq = 1; seq <= SCREEN_SYNC_LIMITS.batchesPerWindow + 5; seq += 1) statuses.push((await sendBatch(yamada, offered.id, seq, incremental(seq))).statusCode);
    expect(statuses.slice(0, SCREEN_SYNC_LIMITS.batchesPerWindow).every((status) => status === 201)).toBe(true);
    expect(statuses.slice(SCREEN_SYNC_LIMITS.batchesPerWindow)).toEqual([429, 429, 429, 429, 429]);
    // What was stored before the flood is intact.
    expect((await feed(tokens.agent, offered.id)).batches).toHaveLength(SCREEN_SYNC_LIMITS.batchesPerWindow);

    await endCall(call.id);
    expect(await shareState(yamada, offered.id)).toMatchObject({ state: 'ended', endReason: 'call_ended' });
    const ended = await feed(tokens.agent, offered.id);
    expect(ended.session).toMatchObject({ state: 'ended', endReason: 'call_ended' });
    expect(ended.batches).toEqual([]);
    expect((await staff('POST', screenSyncPath(SCREEN_SYNC_API.highlight, offered.id), tokens.agent, { nodeId: null, x: 1, y: 1 })).statusCode).toBe(409);
    expect((await auditOf(offered.id)).at(-1)).toMatchObject({ action: 'screen_sync_ended', user_id: null, details: { reason: 'call_ended' } });
    expect(await screenSyncDb(backend.handle.db).selectFrom('screen_sync_batches').select('seq').where('session_id', '=', offered.id).execute()).toEqual([]);

    // The operator stops a share of a new call; a share of a call that ends before the code is entered cannot be joined.
    const second = await insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId: backend.demo.users.agent.id, customerId: backend.demo.customers.yamada.id });
    const next = await share(yamada);
    expect((await join(tokens.agent, second.sipCallId, next.code!)).statusCode).toBe(200);
    const stop = await staff('POST', screenSyncPath(SCREEN_SYNC_API.stop, next.id), tokens.agent, {});
    expect(ScreenSyncView.parse(stop.json())).toMatchObject({ state: 'ended', endReason: 'operator_stopped' });
    expect(await shareState(yamada, next.id)).toMatchObject({ state: 'ended', endReason: 'operator_stopped' });

    const late = await share(yamada);
    await endCall(second.id);
    expect((await join(tokens.agent, second.sipCallId, late.code!)).statusCode).toBe(409);
    expect(await shareState(yamada, late.id)).toMatchObject({ state: 'ended', endReason: 'call_ended' });
  });

  it('a forged code guessed 1,000 times never opens the share and locks the guesser out, the right code included', async () => {
    await endAllCalls();
    const call = await insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId: backend.demo.users.agent.id, customerId: backend.demo.customers.yamada.id });
    const offered = await share(yamada);
    const statuses = new Map<number, number>();
    let retryAfter = 0;
    // 1,000 codes other than the right one, 25 at a time as a script would send them.
    const guesses = Array.from({ length: 1001 }, (_, n) => String(n).padStart(6, '0')).filter((code) => code !== offered.code).slice(0, 1000);
    for (let start = 0; start < guesses.length; start += 25) {
      const responses = await Promise.all(guesses.slice(start, start + 25).map((code) => join(tokens.agent, call.sipCallId, code)));
      for (const response of responses) {
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode === 429) retryAfter = Math.max(retryAfter, Number(response.headers['retry-after']));
      }
    }
    expect(statuses.get(200)).toBeUndefined();
    expect([...statuses.keys()].sort()).toEqual([403, 429]);
    expect(statuses.get(429)).toBeGreaterThan(900);
    expect(retryAfter).toBeGreaterThan(0);
    // Locked out: the right code no longer opens the share either (the throttle's lock, or the
    // share ended after five wrong codes).
    const right = await join(tokens.agent, call.sipCallId, offered.code!);
    expect([403, 429]).toContain(right.statusCode);
    const after = await shareState(yamada, offered.id);
    expect(after.state).not.toBe('active');
    if (statuses.get(403)! >= 5) expect(after).toMatchObject({ state: 'ended', endReason: 'locked' });
    // Every judged guess is audited.
    const refusedAudits = (await auditOf(call.id)).filter((event) => event.action === 'screen_sync_code_refused');
    expect(refusedAudits.length).toBe(statuses.get(403)! + (right.statusCode === 403 ? 1 : 0));
    expect((await join(tokens.agent, call.sipCallId, '12345')).statusCode).toBe(400);
  }, 240_000);
});
