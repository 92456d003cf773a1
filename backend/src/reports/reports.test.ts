import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORTS_API, ReportPage, reportBuckets, type ReportRow } from '../../../shared/reports.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { insertAbandonedCall, insertCallback, insertHandledCall, insertReceivedMail, insertReportLeg, insertReviewedReply } from './fixtures.js';

const url = (path: string, params: Record<string, string | number>) => `${path}?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`;

describe('report periods in a time zone', () => {
  it('runs a JST day from 15:00 UTC the day before', () => {
    expect(reportBuckets('2026-01-10', '2026-01-11', 'day', 'Asia/Tokyo')).toEqual([
      { key: '2026-01-10', start: '2026-01-09T15:00:00.000Z', end: '2026-01-10T15:00:00.000Z' },
      { key: '2026-01-11', start: '2026-01-10T15:00:00.000Z', end: '2026-01-11T15:00:00.000Z' },
    ]);
  });

  it('starts weeks on Monday and months on the 1st, and follows daylight saving time', () => {
    expect(reportBuckets('2026-01-10', '2026-01-11', 'week', 'Asia/Tokyo')).toEqual([{ key: '2026-01-05', start: '2026-01-04T15:00:00.000Z', end: '2026-01-11T15:00:00.000Z' }]);
    expect(reportBuckets('2026-02-28', '2026-03-01', 'month', 'Asia/Tokyo').map((b) => [b.key, b.start])).toEqual([
      ['2026-02-01', '2026-01-31T15:00:00.000Z'],
      ['2026-03-01', '2026-02-28T15:00:00.000Z'],
    ]);
    // New York: 8 March 2026 has 23 hours.
    const [dst] = reportBuckets('2026-03-08', '2026-03-08', 'day', 'America/New_York');
    expect(dst).toEqual({ key: '2026-03-08', start: '2026-03-08T05:00:00.000Z', end: '2026-03-09T04:00:00.000Z' });
  });

  it('names what is wrong with a range', () => {
    expect(() => reportBuckets('2026-01-11', '2026-01-10', 'day', 'Asia/Tokyo')).toThrow(/query\.to/);
    expect(() => reportBuckets('2026-01-01', '2026-12-31', 'day', 'Asia/Tokyo')).toThrow(/at most 93 days/);
  });
});

describe.each(DIALECTS)('reports on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: { admin: string; supervisor: string; agent: string };

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = { admin: await backend.login('admin'), supervisor: await backend.login('supervisor'), agent: await backend.login('agent') };
    const { db } = backend.handle;
    const { tenant, users, customers } = backend.demo;
    const t = tenant.id;
    // Yamada: no branch, rep = agent. Sato: branch osaka, no rep. Times in UTC; JST is +9 h.
    // 10 Jan JST 09:30, answered after 20 s, talked 300 s; its call-for-you handled by the agent.
    await insertReportLeg(db, t, { callId: 'c1', agentId: users.agent.id, customerId: customers.yamada.id, startedAt: '2026-01-10T00:30:00.000Z', answeredAfter: 20, endedAfter: 300 });
    await insertHandledCall(db, t, 'c1', customers.yamada, users.agent.id, '2026-01-10T01:00:00.000Z');
    // 10 Jan JST 23:59: still the 10th; unhandled.
    await insertReportLeg(db, t, { callId: 'c2', agentId: users.agent.id, customerId: customers.yamada.id, startedAt: '2026-01-10T14:59:00.000Z', answeredAfter: 10, endedAfter: 100 });
    // 11 Jan JST 00:00 (same UTC day as c2): the 11th; missed and unhandled.
    await insertReportLeg(db, t, { callId: 'c3', agentId: users.agent.id, customerId: customers.yamada.id, startedAt: '2026-01-10T15:00:00.000Z', endedAfter: 25 });
    // 10 Jan JST 00:30 (9 Jan in UTC): the Osaka agent, 30 s wait, 60 s talk; Sato's call stays unhandled.
    await insertReportLeg(db, t, { callId: 'c4', agentId: users.osakaAgent.id, customerId: customers.sato.id, startedAt: '2026-01-09T15:30:00.000Z', answeredAfter: 30, endedAfter: 60 });
    // 9 Jan JST 23:59:59: outside a report from the 10th, inside that week.
    await insertReportLeg(db, t, { callId: 'c5', agentId: users.agent.id, customerId: null, startedAt: '2026-01-09T14:59:59.000Z', answeredAfter: 5, endedAfter: 50 });
    // Outbound legs are not answered calls.
    await insertReportLeg(db, t, { callId: 'c6', agentId: users.agent.id, customerId: customers.yamada.id, startedAt: '2026-01-10T02:00:00.000Z', direction: 'outbound', answeredAfter: 3, endedAfter: 30 });
    await insertAbandonedCall(db, t, 'q1', customers.sato.id, '2026-01-10T03:00:00.000Z');

    const m1 = await insertReceivedMail(db, t, customers.yamada, '2026-01-10T01:00:00.000Z');
    const m2 = await insertReceivedMail(db, t, customers.yamada, '2026-01-10T02:00:00.000Z');
    await insertReceivedMail(db, t, customers.yamada, '2026-01-10T16:00:00.000Z');
    await insertReviewedReply(db, t, { mailId: m1, customer: customers.yamada, authorId: users.agent.id, reviewerId: users.supervisor.id, submittedAt: '2026-01-10T04:00:00.000Z', reviewedAt: '2026-01-10T04:10:00.000Z', outcome: 'sent' });
    await insertReviewedReply(db, t, { mailId: m2, customer: customers.yamada, authorId: users.agent.id, reviewerId: users.supervisor.id, submittedAt: '2026-01-10T06:00:00.000Z', reviewedAt: '2026-01-10T06:20:00.000Z', outcome: 'returned' });

    // Due at JST 11:00, done at 12:00 by Osaka: done (Osaka) and overdue (the agent flagged it).
    await insertCallback(db, t, { customerId: customers.yamada.id, flaggedBy: users.agent.id, flaggedAt: '2026-01-10T00:00:00.000Z', dueAt: '2026-01-10T02:00:00.000Z', doneAt: '2026-01-10T03:00:00.000Z', doneBy: users.osakaAgent.id });
    // Done before it was due: done, not overdue.
    await insertCallback(db, t, { customerId: customers.yamada.id, flaggedBy: users.agent.id, flaggedAt: '2026-01-10T00:00:00.000Z', dueAt: '2026-01-10T08:00:00.000Z', doneAt: '2026-01-10T07:00:00.000Z', doneBy: users.agent.id });
    // Due 11 Jan JST 10:00, never done.
    await insertCallback(db, t, { customerId: customers.yamada.id, flaggedBy: users.agent.id, flaggedAt: '2026-01-10T00:00:00.000Z', dueAt: '2026-01-11T01:00:00.000Z' });
  });
  afterAll(() => backend?.dispose());

  const report = async (params: Record<string, string | number>, token = tokens.supervisor) => {
    const response = await backend.get(url(REPORTS_API.page, params), token);
    expect(response.statusCode, response.body).toBe(200);
    return ReportPage.parse(response.json());
  };
  const row = (page: ReportPage, bucket: string, group: string): ReportRow | undefined => page.rows.find((r) => r.bucket === bucket && r.group === group);

  it('counts each operator’s day in JST', async () => {
    const { users } = backend.demo;
    const page = await report({ period: 'day', from: '2026-01-10', to: '2026-01-11', groupBy: 'operator', limit: 100 });
    expect(page.timeZone).toBe('Asia/Tokyo');
    expect(page.buckets.map((b) => b.key)).toEqual(['2026-01-10', '2026-01-11']);
    expect(page.groups[0]).toEqual({ key: '', name: null });
    expect(page.groups.map((g) => g.name)).toContain('鈴木 一郎');

    expect(row(page, '2026-01-10', users.agent.id)).toEqual({
      bucket: '2026-01-10',
      group: users.agent.id,
      calls: { answered: 2, missed: 0, abandoned: 0, avgHandleSeconds: 200, avgWaitSeconds: 15 },
      mails: { received: 0, replied: 1, avgReviewSeconds: 900, returned: 1 },
      branchCalls: { handled: 1, unhandled: 1 },
      callbacks: { done: 1, overdue: 1 },
    });
    expect(row(page, '2026-01-11', users.agent.id)).toMatchObject({
      calls: { answered: 0, missed: 1, avgHandleSeconds: null, avgWaitSeconds: null },
      branchCalls: { handled: 0, unhandled: 1 },
      callbacks: { done: 0, overdue: 1 },
    });
    expect(row(page, '2026-01-10', users.osakaAgent.id)).toMatchObject({
      calls: { answered: 1, missed: 0, avgHandleSeconds: 60, avgWaitSeconds: 30 },
      callbacks: { done: 1, overdue: 0 },
    });
    // Nobody's: the abandoned caller, the mails received, Sato's unhandled call (no rep).
    expect(row(page, '2026-01-10', '')).toMatchObject({ calls: { abandoned: 1, answered: 0 }, mails: { received: 2 }, branchCalls: { unhandled: 1 } });
    expect(row(page, '2026-01-11', '')).toMatchObject({ mails: { received: 1 } });
    expect(row(page, '2026-01-10', users.admin.id)).toBeUndefined();
  });

  it('puts every row in the same day when the range has many days (PostgreSQL then places rows by binary search)', async () => {
    const short = await report({ period: 'day', from: '2026-01-10', to: '2026-01-11', groupBy: 'operator', limit: 100 });
    const long = await report({ period: 'day', from: '2026-01-03', to: '2026-01-16', groupBy: 'operator', limit: 100 });
    expect(long.buckets).toHaveLength(14);
    expect(short.rows.length).toBeGreaterThan(0);
    expect(long.rows.filter((r) => r.bucket === '2026-01-10' || r.bucket === '2026-01-11')).toEqual(short.rows);
  });

  it('counts per branch: operators by their branch, customers’ figures by the customer’s', async () => {
    const page = await report({ period: 'day', from: '2026-01-10', to: '2026-01-11', groupBy: 'branch' });
    expect(page.groups).toEqual([
      { key: '', name: null },
      { key: 'osaka', name: 'osaka' },
    ]);
    expect(row(page, '2026-01-10', '')).toMatchObject({
      calls: { answered: 2, abandoned: 0, avgHandleSeconds: 200, avgWaitSeconds: 15 },
      mails: { received: 2, replied: 1, avgReviewSeconds: 900, returned: 1 },
      branchCalls: { handled: 1, unhandled: 1 },
      callbacks: { done: 1, overdue: 1 },
    });
    expect(row(page, '2026-01-10', 'osaka')).toMatchObject({
      calls: { answered: 1, abandoned: 1, avgHandleSeconds: 60 },
      branchCalls: { handled: 0, unhandled: 1 },
      callbacks: { done: 1, overdue: 0 },
    });
    expect(row(page, '2026-01-11', '')).toMatchObject({ calls: { missed: 1 }, mails: { received: 1 }, branchCalls: { unhandled: 1 }, callbacks: { overdue: 1 } });
  });

  it('widens a week to Monday–Sunday and a month to the calendar month', async () => {
    const { users } = backend.demo;
    const week = await report({ period: 'week', from: '2026-01-10', to: '2026-01-10', groupBy: 'operator' });
    expect(week.buckets).toEqual([{ key: '2026-01-05', start: '2026-01-04T15:00:00.000Z', end: '2026-01-11T15:00:00.000Z' }]);
    // c5 (9 Jan JST) is in this week; c3 (11 Jan JST 00:00, a Sunday) too.
    expect(row(week, '2026-01-05', users.agent.id)?.calls).toMatchObject({ answered: 3, missed: 1 });
    const month = await report({ period: 'month', from: '2026-01-31', to: '2026-01-31', groupBy: 'operator' });
    expect(month.buckets.map((b) => b.key)).toEqual(['2026-01-01']);
    expect(row(month, '2026-01-01', users.agent.id)?.calls).toMatchObject({ answered: 3, missed: 1 });
  });

  it('pages through the operators without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 10; guard += 1) {
      const page: ReportPage = await report({ period: 'day', from: '2026-01-10', to: '2026-01-10', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.groups.map((g) => g.key));
      for (const r of page.rows) expect(page.groups.map((g) => g.key)).toContain(r.group);
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    const { users } = backend.demo;
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(['', users.admin.id, users.supervisor.id, users.agent.id, users.osakaAgent.id]));
  });

  it('exports every group as CSV', async () => {
    const response = await backend.get(url(REPORTS_API.exportCsv, { period: 'day', from: '2026-01-10', to: '2026-01-11' }), tokens.admin);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const lines = response.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe(
      '"period_start","group_key","group_name","calls_answered","calls_missed","calls_abandoned","calls_avg_handle_seconds","calls_avg_wait_seconds","mails_received","mails_replied","mails_avg_review_seconds","mails_returned","branch_calls_handled","branch_calls_unhandled","callbacks_done","callbacks_overdue"',
    );
    expect(lines).toContain(`"2026-01-10","${backend.demo.users.agent.id}","鈴木 一郎","2","0","0","200","15","0","1","900","1","1","1","1","1"`);
    expect(lines).toHaveLength(6);
  });

  it('answers 403 to an operator and names what is wrong in a bad query', async () => {
    expect((await backend.get(url(REPORTS_API.page, { from: '2026-01-10', to: '2026-01-10' }), tokens.agent)).statusCode).toBe(403);
    expect((await backend.get(url(REPORTS_API.exportCsv, { from: '2026-01-10', to: '2026-01-10' }), tokens.agent)).statusCode).toBe(403);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ from: '2026-13-01', to: '2026-01-10' }, /from/],
      [{ from: '2026-01-10' }, /to/],
      [{ from: '2026-01-10', to: '2026-01-09' }, /query\.to/],
      [{ from: '2026-01-01', to: '2026-12-31' }, /at most/],
      [{ from: '2026-01-10', to: '2026-01-10', period: 'year' }, /period/],
      [{ from: '2026-01-10', to: '2026-01-10', cursor: 'nonsense' }, /cursor/],
    ];
    for (const [params, message] of cases) {
      const response = await backend.get(url(REPORTS_API.page, params), tokens.admin);
      expect(response.statusCode, JSON.stringify(params)).toBe(400);
      expect(response.body).toMatch(message);
    }
  });
});
