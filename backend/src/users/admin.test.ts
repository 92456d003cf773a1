import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API, AdminUser, AdminUsersResponse } from '../../../shared/admin.js';
import { API, ApiErrorBody, AUDIT_API, AuditPage, MAIL_API } from '../../../shared/api.js';
import { TelephonySettings } from '../../../shared/ipc.js';
import { TELEPHONY_API } from '../telephony/routes.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

describe.each(DIALECTS)('admin console routes, on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: { admin: string; supervisor: string; agent: string };
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = { admin: await backend.login('admin'), supervisor: await backend.login('supervisor'), agent: await backend.login('agent') };
  });
  afterAll(() => backend?.dispose());

  const errorOf = (response: { json(): unknown }) => ApiErrorBody.parse(response.json()).error;
  const userUrl = (template: string, id: string) => template.replace(':id', id);
  const audit = async (action: string) =>
    AuditPage.parse((await backend.get(`${AUDIT_API.list}?action=${action}`, tokens.admin)).json()).entries;
  const call = (method: 'PUT' | 'DELETE', url: string, body: unknown, token: string) =>
    body === undefined
      ? backend.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } })
      : backend.app.inject({ method, url, payload: body as object, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });

  it('lists users for supervisors and admins only', async () => {
    const list = await backend.get(ADMIN_API.users, tokens.admin);
    expect(list.statusCode, list.body).toBe(200);
    const logins = AdminUsersResponse.parse(list.json()).users.map((u) => u.login);
    expect(logins).toEqual(expect.arrayContaining(['admin', 'supervisor', 'agent']));
    expect((await backend.get(ADMIN_API.users, tokens.supervisor)).statusCode).toBe(200);
    expect((await backend.get(ADMIN_API.users, tokens.agent)).statusCode).toBe(403);
  });

  it('creates a user who can sign in, names a bad field, refuses a taken login, and audits it', async () => {
    const bad = await backend.send('POST', ADMIN_API.users, { login: 'new agent', displayName: '', password: 'short' }, tokens.admin);
    expect(bad.statusCode).toBe(400);
    const message = errorOf(bad).message;
    expect(message).toContain('body.login');
    expect(message).toContain('body.displayName');
    expect(message).toContain('body.password');
    expect((await backend.send('POST', ADMIN_API.users, { login: 'x1', displayName: 'X', password: 'long-enough-1' }, tokens.supervisor)).statusCode).toBe(403);

    const created = await backend.send(
      'POST',
      ADMIN_API.users,
      { login: 'newagent', displayName: '新人 一郎', password: 'new-agent-pass', branch: 'osaka', customerLimitAuthority: 2 },
      tokens.admin,
    );
    expect(created.statusCode, created.body).toBe(201);
    const user = AdminUser.parse(created.json());
    expect(user).toMatchObject({ login: 'newagent', role: 'agent', branch: 'osaka', customerLimitAuthority: 2, disabled: false });
    expect(user.sipUser).toMatch(/^newagent\./);
    await backend.login('newagent', { password: 'new-agent-pass' });

    const taken = await backend.send('POST', ADMIN_API.users, { login: 'newagent', displayName: 'Y', password: 'another-pass-1' }, tokens.admin);
    expect(taken.statusCode).toBe(409);
    expect(errorOf(taken).message).toContain('body.login');
    const entries = await audit('user_created');
    expect(entries.some((e) => e.details.targetUserId === user.id)).toBe(true);
    expect(JSON.stringify(entries)).not.toContain('new-agent-pass');
  });

  it('disables a user (sessions end, sign-in refused), enables them again, changes a role, and never lets an admin lock themselves out', async () => {
    const created = AdminUser.parse(
      (await backend.send('POST', ADMIN_API.users, { login: 'leaver', displayName: '退職 予定', password: 'leaver-pass-1' }, tokens.admin)).json(),
    );
    const leaverToken = await backend.login('leaver', { password: 'leaver-pass-1' });
    const disabled = await backend.send('PATCH', userUrl(ADMIN_API.user, created.id), { disabled: true }, tokens.admin);
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(AdminUser.parse(disabled.json()).disabled).toBe(true);
    expect((await backend.get(API.me, leaverToken)).statusCode).toBe(401);
    await expect(backend.login('leaver', { password: 'leaver-pass-1' })).rejects.toThrow(/401/);

    const enabled = await backend.send('PATCH', userUrl(ADMIN_API.user, created.id), { disabled: false, role: 'supervisor' }, tokens.admin);
    expect(AdminUser.parse(enabled.json())).toMatchObject({ disabled: false, role: 'supervisor' });
    await backend.login('leaver', { password: 'leaver-pass-1' });

    const self = await backend.send('PATCH', userUrl(ADMIN_API.user, backend.demo.users.admin.id), { disabled: true }, tokens.admin);
    expect(self.statusCode).toBe(403);
    expect(errorOf(self).message).toContain('body.disabled');
    const badRole = await backend.send('PATCH', userUrl(ADMIN_API.user, created.id), { role: 'owner' }, tokens.admin);
    expect(badRole.statusCode).toBe(400);
    expect(errorOf(badRole).message).toContain('body.role');
    const entries = await audit('user_updated');
    expect(entries.find((e) => e.details.targetUserId === created.id)?.details).toMatchObject({ after: { role: 'supervisor', disabled: false } });
  });

  it('resets a password: the old one and its sessions stop working, nothing of it is audited', async () => {
    const created = AdminUser.parse(
      (await backend.send('POST', ADMIN_API.users, { login: 'forgetful', displayName: '忘れ 物', password: 'forgotten-pass' }, tokens.admin)).json(),
    );
    const oldToken = await backend.login('forgetful', { password: 'forgotten-pass' });
    const tooShort = await backend.send('POST', userUrl(ADMIN_API.userPassword, created.id), { password: 'abc' }, tokens.admin);
    expect(errorOf(tooShort).message).toContain('body.password');
    const reset = await backend.send('POST', userUrl(ADMIN_API.userPassword, created.id), { password: 'brand-new-pass' }, tokens.admin);
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await backend.get(API.me, oldToken)).statusCode).toBe(401);
    await expect(backend.login('forgetful', { password: 'forgotten-pass' })).rejects.toThrow(/401/);
    await backend.login('forgetful', { password: 'brand-new-pass' });
    const entries = await audit('user_password_reset');
    expect(entries.some((e) => e.details.targetUserId === created.id)).toBe(true);
    expect(JSON.stringify(entries)).not.toContain('brand-new-pass');
  });

  it("audits the telephony settings, the tenant's region, mail templates and addresses", async () => {
    const region = await call('PUT', TELEPHONY_API.telephonySettings, { defaultRegion: 'us', afterCallWorkSeconds: 30 }, tokens.admin);
    expect(region.statusCode, region.body).toBe(200);
    expect(TelephonySettings.parse(region.json())).toMatchObject({ defaultRegion: 'US', afterCallWorkSeconds: 30 });
    const badRegion = await call('PUT', TELEPHONY_API.telephonySettings, { defaultRegion: 'XX' }, tokens.admin);
    expect(badRegion.statusCode).toBe(400);
    expect(errorOf(badRegion).message).toContain('body.defaultRegion');
    await call('PUT', TELEPHONY_API.telephonySettings, { defaultRegion: 'JP' }, tokens.admin);
    expect((await audit('telephony_settings_changed')).length).toBe(2);

    const template = await backend.send('POST', MAIL_API.mailTemplates, { name: 'お礼', body: '{{customerName}} 様' }, tokens.admin);
    expect(template.statusCode, template.body).toBe(200);
    const address = await backend.send('POST', MAIL_API.mailAddresses, { address: 'Fax-In@example.jp', kind: 'fax' }, tokens.admin);
    expect(address.statusCode, address.body).toBe(200);
    expect((await call('DELETE', MAIL_API.mailAddress.replace(':address', 'fax-in@example.jp'), undefined, tokens.admin)).statusCode).toBe(204);
    expect((await audit('mail_template_changed')).map((e) => e.details.change)).toEqual(['created']);
    expect((await audit('mail_address_changed')).map((e) => e.details.change)).toEqual(['removed', 'added']);
  });
});
