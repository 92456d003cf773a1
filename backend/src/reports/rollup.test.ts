import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API, PushResponse } from '../../../shared/api.js';
import { REPORTS_API, ReportPage, type ReportQueryInput, type ReportRow } from '../../../shared/reports.js';
import { recordAudit } from '../audit.js';
import { callsDb } from '../calls/schema.js';
import { TELEPHONY_API } from '../telephony/routes.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { insertAbandonedCall, insertReceivedMail, insertReviewedReply } from './fixtures.js';
import { reportCsv, reportPage, type ReportScope } from './queries.js';
import { ReportRollupWarmer } from './rollup.js';
import { reportDb } from './schema.js';

// The daily rollup against the reference (every figure counted from the base tables over the
// whole period): identical rows for days, weeks and months, per operator and per branch, before
// and after late changes to days already rolled up. Calls, handled marks and callbacks go through
// the app's routes; the server stamps their times from the (faked) clock, set to November 2026
// so that the days are old enough to be kept in the rollup.

const QUERIES: ReportQueryInput[] = [
  { period: 'day', groupBy: 'operator', from: '2026-11-01', to: '2026-11-21' },
  { period: 'day', groupBy: 'branch', from: '2026-11-01', to: '2026-11-21' },
  { period: 'week', groupBy: 'operator', from: '2026-11-02', to: '2026-11-21' },
  { period: 'week', groupBy: 'branch', from: '2026-11-02', to: '2026-11-21' },
  { period: 'month', groupBy: 'operator', from: '2026-11-01', to: '2026-11-01' },
  { period: 'month', groupBy: 'branch', from: '2026-11-01', to: '2026-11-01' },
];

describe.each(DIALECTS)('report rollup on %s', (dialect) => {
  let backend: TestBackend;
  let scope: ReportScope;
  const tokens: Record<'admin' | 'supervisor' | 'agent' | 'osaka', string> = { admin: '', supervisor: '', agent: '', osaka: '' };

  const loginAll = async () => {
    tokens.admin = await backend.login('admin');
    tokens.supervisor = await backend.login('supervisor');
    tokens.agent = await backend.login('agent');
    tokens.osaka = await backend.login('osaka');
  };
  /** Moves the clock; sessions idle that long have expired, so everyone signs in again. */
  const at = async (iso: string) => {
    vi.setSystemTime(new Date(iso));
    await loginAll();
  };
  const callEvent = async (token: string, callId: string, event: 'ringing' | 'answered' | 'missed' | 'ended', time: string, customerId: string | null) => {
    const response = await backend.send('POST', TELEPHONY_API.callEvents, { callId, event, direction: 'inbound', remote: '+81312345678', customerId, at: time }, token);
    expect(response.statusCode, response.body).toBeLessThan(300);
  };
  const push = async (token: string, entry: Record<string, unknown>) => {
    const response = await backend.send('POST', API.syncPush, { entries: [{ clientId: randomUUID(), createdAt: new Date().toISOString(), ...entry }] }, token);
    expect(response.statusCode, response.body).toBe(200);
    expect(PushResponse.parse(response.json()).results[0]?.status).toBe('applied');
  };
  const handleCall = (token: string, callKey: string, customerId: string) =>
    push(token, { type: 'handle_call', callKey, customerId, incidentId: null, action: { kind: 'contact', summary: '折り返し済み', body: '' } });

  /** Every query from the rollup and from the reference; they must agree row for row. */
  const compareAll = async () => {
    const pages: ReportPage[] = [];
    for (const query of QUERIES) {
      const parsed = { period: query.period ?? 'day', groupBy: query.groupBy ?? 'operator', from: query.from, to: query.to, limit: 100 };
      const rolled = await reportPage(scope, backend.demo.users.supervisor, parsed, new Date(), undefined, 'rollup');
      const live = await reportPage(scope, backend.demo.users.supervisor, parsed, new Date(), undefined, 'live');
      expect(rolled.rows, JSON.stringify(query)).toEqual(live.rows);
      pages.push(rolled);
    }
    const csvQuery = { period: 'week', groupBy: 'operator', from: '2026-11-02', to: '2026-11-21' } as const;
    expect(await reportCsv(scope, backend.demo.users.supervisor, csvQuery, new Date(), 'rollup')).toEqual(
      await reportCsv(scope, backend.demo.users.supervisor, csvQuery, new Date(), 'live'),
    );
    return pages;
  };
  const row = (page: ReportPage | undefined, bucket: string, group: string): ReportRow | undefined => page?.rows.find((r) => r.bucket === bucket && r.group === group);

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-02T00:00:00.000Z'));
    backend = await startTestBackend(dialect);
    scope = { db: backend.handle.db, dialect, tenantId: backend.demo.tenant.id, timeZone: 'Asia/Tokyo' };
    await loginAll();
    const { users, customers } = backend.demo;
    const t = backend.demo.tenant.id;
    const { db } = backend.handle;

    // Mon 2 Nov JST 09:30: the agent answers Yamada after 20 s and talks 300 s.
    await callEvent(tokens.agent, 'r1', 'ringing', '2026-11-02T00:30:00.000Z', customers.yamada.id);
    await callEvent(tokens.agent, 'r1', 'answered', '2026-11-02T00:30:20.000Z', customers.yamada.id);
    await callEvent(tokens.agent, 'r1', 'ended', '2026-11-02T00:35:20.000Z', customers.yamada.id);
    // 2 Nov JST 23:59:50: Yamada's call rings the agent, then (3 Nov JST 00:00:10) the supervisor, nobody answers:
    // one unhandled call counted on both days, and once in their week.
    await callEvent(tokens.agent, 'r2', 'ringing', '2026-11-02T14:59:50.000Z', customers.yamada.id);
    await callEvent(tokens.agent, 'r2', 'missed', '2026-11-02T15:00:05.000Z', customers.yamada.id);
    await callEvent(tokens.supervisor, 'r2', 'ringing', '2026-11-02T15:00:10.000Z', customers.yamada.id);
    await callEvent(tokens.supervisor, 'r2', 'missed', '2026-11-02T15:00:40.000Z', customers.yamada.id);
    // Sato's call to Osaka on 3 Nov (JST 23:00), ended the next day.
    await callEvent(tokens.osaka, 'r3', 'ringing', '2026-11-03T14:00:00.000Z', customers.sato.id);
    await callEvent(tokens.osaka, 'r3', 'answered', '2026-11-03T14:00:30.000Z', customers.sato.id);
    await insertAbandonedCall(db, t, 'q1', customers.sato.id, '2026-11-03T03:00:00.000Z');
    const m1 = await insertReceivedMail(db, t, customers.yamada, '2026-11-02T01:00:00.000Z');
    const m2 = await insertReceivedMail(db, t, customers.sato, '2026-11-04T02:00:00.000Z');
    await insertReviewedReply(db, t, { mailId: m1, customer: customers.yamada, authorId: users.agent.id, reviewerId: users.supervisor.id, submittedAt: '2026-11-02T04:00:00.000Z', reviewedAt: '2026-11-02T04:10:00.000Z', outcome: 'sent' });
    await insertReviewedReply(db, t, { mailId: m2, customer: customers.sato, authorId: users.osakaAgent.id, reviewerId: users.supervisor.id, submittedAt: '2026-11-04T05:00:00.000Z', reviewedAt: '2026-11-04T05:20:00.000Z', outcome: 'returned' });
    // A wrap-up on 2 Nov flags a callback due at JST 14:00; it is done the next day (late: overdue).
    await at('2026-11-02T03:00:00.000Z');
    await push(tokens.agent, {
      type: 'log_call',
      customerId: customers.yamada.id,
      incidentId: customers.yamada.incidentIds[0],
      newIncidentTitle: null,
      direction: 'inbound',
      summary: '折り返し希望',
      body: '',
      callMeta: { callId: 'r1', startedAt: '2026-11-02T00:30:00.000Z', callbackNeeded: true, callbackDueAt: '2026-11-02T05:00:00.000Z' },
    });
    await at('2026-11-03T02:00:00.000Z');
    const callback = await callsDb(backend.handle.db).selectFrom('callbacks').select('id').where('tenant_id', '=', t).executeTakeFirstOrThrow();
    await push(tokens.agent, { type: 'complete_callback', callbackId: callback.id });
    // The agent handles r1 on 3 Nov; a call of 19 Nov stays for the live days.
    await handleCall(tokens.agent, 'r1', customers.yamada.id);
    await callEvent(tokens.agent, 'r4', 'ringing', '2026-11-19T01:00:00.000Z', customers.yamada.id);
    await callEvent(tokens.agent, 'r4', 'answered', '2026-11-19T01:00:05.000Z', customers.yamada.id);
    // The reports are read on 20 Nov: up to 17 Nov from the rollup, the rest live.
    await at('2026-11-20T03:00:00.000Z');
  });
  afterAll(async () => {
    vi.useRealTimers();
    await backend?.dispose();
  });

  it('adds up the days to the same figures as counting each period at once', async () => {
    const [day, , week] = await compareAll();
    const { users } = backend.demo;
    expect(row(day, '2026-11-02', users.agent.id)).toMatchObject({ calls: { answered: 1, missed: 1, avgHandleSeconds: 300, avgWaitSeconds: 20 }, branchCalls: { unhandled: 1 } });
    expect(row(day, '2026-11-03', users.agent.id)).toMatchObject({ branchCalls: { handled: 1, unhandled: 1 }, callbacks: { done: 1 } });
    expect(row(day, '2026-11-02', users.agent.id)?.callbacks.overdue).toBe(1);
    // r2 rang over midnight: one unhandled call in the week, not two.
    expect(row(week, '2026-11-02', users.agent.id)?.branchCalls.unhandled).toBe(1);
    expect(row(day, '2026-11-19', users.agent.id)?.calls.answered).toBe(1);
    // The old days were kept; the last days (live) were not.
    const kept = await reportDb(backend.handle.db).selectFrom('report_rollup_days').select('day').where('tenant_id', '=', scope.tenantId).orderBy('day').execute();
    expect(kept.map((d) => d.day)).toContain('2026-11-02');
    expect(kept.map((d) => d.day)).not.toContain('2026-11-19');
  });

  it('serves the route from the rollup, and stays exact after late changes to days already kept', async () => {
    const { users, customers } = backend.demo;
    const page = await backend.get(`${REPORTS_API.page}?period=week&groupBy=operator&from=2026-11-02&to=2026-11-08&limit=100`, tokens.supervisor);
    expect(page.statusCode, page.body).toBe(200);
    expect(row(ReportPage.parse(page.json()), '2026-11-02', users.agent.id)?.calls.answered).toBe(1);

    // r3's end (4 Nov) is reported only now, r2 is handled 18 days later, Sato's
    // returned reply is approved and sent, the sent one returned after approval.
    await callEvent(tokens.osaka, 'r3', 'ended', '2026-11-04T00:00:30.000Z', customers.sato.id);
    await handleCall(tokens.agent, 'r2', customers.yamada.id);
    const db = callsDb(backend.handle.db);
    await db.updateTable('mail_replies').set({ state: 'sent', sent_at: '2026-11-05T00:00:00.000Z' }).where('state', '=', 'returned').execute();
    await db.updateTable('mail_replies').set({ state: 'returned', sent_at: null }).where('customer_id', '=', customers.yamada.id).execute();
    const details = { replyId: 'late', authorId: users.agent.id, comment: '宛先を確認してください' };
    await recordAudit(backend.handle.db, { tenantId: scope.tenantId, userId: users.supervisor.id, action: 'reply_returned', customerId: customers.yamada.id, details, at: '2026-11-02T06:00:00.000Z' });
    // Yamada moves to Osaka with Osaka's agent as rep; the agent moves to the Tokyo branch.
    const moved = await backend.send('PATCH', API.customer.replace(':id', customers.yamada.id), { branch: 'osaka', assignedRepId: users.osakaAgent.id }, tokens.admin);
    expect(moved.statusCode, moved.body).toBe(200);
    const rights = await backend.send('PATCH', API.userRights.replace(':id', users.agent.id), { branch: 'tokyo' }, tokens.admin);
    expect(rights.statusCode, rights.body).toBe(200);

    const [day, branchDay, week] = await compareAll();
    expect(row(day, '2026-11-02', users.agent.id)?.branchCalls.unhandled ?? 0).toBe(0);
    expect(row(week, '2026-11-02', users.osakaAgent.id)?.branchCalls.unhandled).toBe(0);
    expect(row(day, '2026-11-03', users.osakaAgent.id)?.calls.avgHandleSeconds).toBe(36_000);
    expect(row(day, '2026-11-02', users.agent.id)?.mails).toMatchObject({ replied: 0, returned: 1 });
    expect(row(branchDay, '2026-11-02', 'tokyo')?.calls.answered).toBe(1);
    expect(row(branchDay, '2026-11-02', 'osaka')?.mails.received).toBe(1);
  });

  it('counts a day again when a row changes under it, even by hand', async () => {
    const before = await reportDb(backend.handle.db).selectFrom('report_rollup_days').select(['day', 'source_version']).where('day', '=', '2026-11-03').executeTakeFirstOrThrow();
    await sql`update calls set answered_at = null where external_id = 'r3'`.execute(backend.handle.db);
    await compareAll();
    const afterwards = await reportDb(backend.handle.db).selectFrom('report_rollup_days').select(['day', 'source_version']).where('day', '=', '2026-11-03').executeTakeFirstOrThrow();
    expect(Number(afterwards.source_version)).toBeGreaterThan(Number(before.source_version));
  });

  it('rolls up the last days of every tenant in the background, and the reports still agree', async () => {
    const errors: unknown[] = [];
    const warmer = new ReportRollupWarmer(backend.handle, 'Asia/Tokyo', 30, { info: () => undefined, error: (details) => errors.push(details) });
    await warmer.runOnce();
    await warmer.close();
    expect(errors).toEqual([]);
    const kept = (await reportDb(backend.handle.db).selectFrom('report_rollup_days').select('day').where('tenant_id', '=', scope.tenantId).execute()).map((d) => d.day);
    // From 30 days before 20 Nov to the last day old enough to keep.
    expect(kept).toEqual(expect.arrayContaining(['2026-10-21', '2026-10-25', '2026-11-17']));
    expect(kept).not.toContain('2026-10-20');
    expect(kept).not.toContain('2026-11-18');
    await compareAll();

    // A tenant with a zone of its own (set in the admin console) is rolled up in that zone.
    await sql`update tenants set time_zone = 'UTC' where id = ${scope.tenantId}`.execute(backend.handle.db);
    const again = new ReportRollupWarmer(backend.handle, 'Asia/Tokyo', 30, { info: () => undefined, error: (details) => errors.push(details) });
    await again.runOnce();
    await again.close();
    expect(errors).toEqual([]);
    const zones = await reportDb(backend.handle.db)
      .selectFrom('report_rollup_days')
      .select('time_zone')
      .distinct()
      .where('tenant_id', '=', scope.tenantId)
      .execute();
    expect(zones.map((z) => z.time_zone).sort()).toEqual(['Asia/Tokyo', 'UTC']);
    await sql`update tenants set time_zone = null where id = ${scope.tenantId}`.execute(backend.handle.db);
  });
});
