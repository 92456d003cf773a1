import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API, TenantSettings } from '../../../shared/admin.js';
import { ApiErrorBody, AUDIT_API, AuditPage } from '../../../shared/api.js';
import { REPORTS_API, ReportPage } from '../../../shared/reports.js';
import { insertReportLeg } from '../reports/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

/** The tenant's report time zone, set in the admin console: reports count its days from then on. */
describe.each(DIALECTS)("a tenant's report time zone, on %s", (dialect) => {
  let backend: TestBackend;
  let tokens: { admin: string; supervisor: string };

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = { admin: await backend.login('admin'), supervisor: await backend.login('supervisor') };
    const { tenant, users } = backend.demo;
    // 10 Jan 15:30 UTC: the 11th in Tokyo, the 10th in UTC.
    await insertReportLeg(backend.handle.db, tenant.id, { callId: 'zone-1', agentId: users.agent.id, customerId: null, startedAt: '2026-01-10T15:30:00.000Z', answeredAfter: 5, endedAfter: 60 });
  });
  afterAll(() => backend?.dispose());

  const put = (body: unknown, token = tokens.admin) =>
    backend.app.inject({ method: 'PUT', url: ADMIN_API.tenantSettings, payload: body as object, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  const answeredByDay = async () => {
    const response = await backend.get(`${REPORTS_API.page}?period=day&from=2026-01-10&to=2026-01-11&groupBy=operator&limit=100`, tokens.supervisor);
    expect(response.statusCode, response.body).toBe(200);
    const page = ReportPage.parse(response.json());
    const answered = Object.fromEntries(page.buckets.map((b) => [b.key, 0]));
    for (const row of page.rows) if (row.group === backend.demo.users.agent.id) answered[row.bucket] = row.calls.answered;
    return { timeZone: page.timeZone, answered };
  };

  it('counts report days in the deployment zone until the admin sets one, then in the tenant zone', async () => {
    const initial = TenantSettings.parse((await backend.get(ADMIN_API.tenantSettings, tokens.admin)).json());
    expect(initial).toEqual({ timeZone: null, deploymentTimeZone: 'Asia/Tokyo' });
    expect(await answeredByDay()).toEqual({ timeZone: 'Asia/Tokyo', answered: { '2026-01-10': 0, '2026-01-11': 1 } });

    const bad = await put({ timeZone: 'Mars/Olympus' });
    expect(bad.statusCode).toBe(400);
    expect(ApiErrorBody.parse(bad.json()).error.message).toContain('body.timeZone');
    expect((await put({ timeZone: 'UTC' }, tokens.supervisor)).statusCode).toBe(403);

    const set = await put({ timeZone: 'UTC' });
    expect(set.statusCode, set.body).toBe(200);
    expect(TenantSettings.parse(set.json()).timeZone).toBe('UTC');
    expect(await answeredByDay()).toEqual({ timeZone: 'UTC', answered: { '2026-01-10': 1, '2026-01-11': 0 } });

    expect((await put({ timeZone: null })).statusCode).toBe(200);
    expect((await answeredByDay()).timeZone).toBe('Asia/Tokyo');
    const audited = AuditPage.parse((await backend.get(`${AUDIT_API.list}?action=tenant_settings_changed`, tokens.admin)).json()).entries;
    expect(audited.map((e) => e.details)).toEqual([
      { before: { timeZone: 'UTC' }, after: { timeZone: null } },
      { before: { timeZone: null }, after: { timeZone: 'UTC' } },
    ]);
  });
});
