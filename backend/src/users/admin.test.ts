import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API, AdminUser, AdminUsersResponse } from '../../../shared/admin.js';
import { API, ApiErrorBody, AUDIT_API, AuditPage, MAIL_API } from '../../../shared/api.js';
import { EXCHANGE_API, ExchangeExportList, ExchangeExportSummary } from '../../../shared/exchange.js';
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

  describe('partner users', () => {
    const ORG = '新規協力 株式会社';
    const partnerBody = { login: 'partner-new', displayName: '協力 花子', password: 'partner-new-pass', role: 'partner', partnerOrg: ORG };

    it('refuses every staff field for a partner, and an organisation for staff, naming the field', async () => {
      for (const [field, value] of [
        ['branch', 'osaka'],
        ['branch', null],
        ['customerLimitAuthority', 1],
        ['mayHandleUnregisteredCallers', true],
        ['callsViewOnly', false],
        ['callsAllBranches', true],
        ['sipUser', '7001'],
      ] as const) {
        const refused = await backend.send('POST', ADMIN_API.users, { ...partnerBody, [field]: value }, tokens.admin);
        expect(refused.statusCode, field).toBe(400);
        expect(errorOf(refused).message).toContain(`body.${field}`);
      }
      const noOrg = await backend.send('POST', ADMIN_API.users, { ...partnerBody, partnerOrg: undefined }, tokens.admin);
      expect(errorOf(noOrg).message).toContain('body.partnerOrg');
      const blankOrg = await backend.send('POST', ADMIN_API.users, { ...partnerBody, partnerOrg: '  ' }, tokens.admin);
      expect(errorOf(blankOrg).message).toContain('body.partnerOrg');
      const staffWithOrg = await backend.send('POST', ADMIN_API.users, { login: 'staff-org', displayName: 'S', password: 'staff-org-pass', partnerOrg: ORG }, tokens.admin);
      expect(staffWithOrg.statusCode).toBe(400);
      expect(errorOf(staffWithOrg).message).toContain('body.partnerOrg');
      const bySupervisor = await backend.send('POST', ADMIN_API.users, partnerBody, tokens.supervisor);
      expect(bySupervisor.statusCode).toBe(403);
      const users = AdminUsersResponse.parse((await backend.get(ADMIN_API.users, tokens.admin)).json()).users;
      expect(users.map((u) => u.login)).not.toContain('partner-new');
    });

    it("creates a partner user who sees the exports shared with its organisation, and nothing of the staff's", async () => {
      const created = await backend.send('POST', ADMIN_API.users, partnerBody, tokens.admin);
      expect(created.statusCode, created.body).toBe(201);
      const partner = AdminUser.parse(created.json());
      expect(partner).toMatchObject({ role: 'partner', partnerOrg: ORG, sipUser: null, branch: null, disabled: false });
      const listed = AdminUsersResponse.parse((await backend.get(ADMIN_API.users, tokens.admin)).json()).users.find((u) => u.id === partner.id);
      expect(listed).toMatchObject({ role: 'partner', partnerOrg: ORG });
      // Supervisors never see partner users.
      const bySupervisor = AdminUsersResponse.parse((await backend.get(ADMIN_API.users, tokens.supervisor)).json()).users;
      expect(bySupervisor.some((u) => u.id === partner.id)).toBe(false);
      // The organisation is offered for sharing, and an export shared with it reaches the new user only.
      expect((await backend.get(EXCHANGE_API.partners, tokens.admin)).json()).toMatchObject({ partners: expect.arrayContaining([ORG]) });
      const made = await backend.send('POST', EXCHANGE_API.exports, { title: 'for the new partner', filter: {} }, tokens.admin);
      expect(made.statusCode, made.body).toBe(200);
      const exportId = ExchangeExportSummary.parse(made.json()).id;
      const shared = await backend.send('POST', EXCHANGE_API.share.replace(':id', exportId), { partnerOrg: ORG }, tokens.admin);
      expect(shared.statusCode, shared.body).toBe(200);
      const partnerToken = await backend.login('partner-new', { password: 'partner-new-pass' });
      const exports = ExchangeExportList.parse((await backend.get(EXCHANGE_API.exports, partnerToken)).json()).exports;
      expect(exports.map((e) => [e.id, e.sharedWith])).toEqual([[exportId, [ORG]]]);
      expect((await backend.get(`${API.customerSearch}?q=yamada`, partnerToken)).statusCode).toBe(403);
      expect((await backend.get(`${API.syncChanges}?after=0`, partnerToken)).statusCode).toBe(403);
      const audited = (await audit('user_created')).find((e) => e.details.targetUserId === partner.id);
      expect(audited?.details).toMatchObject({ role: 'partner', partnerOrg: ORG });
      expect(audited?.details).not.toHaveProperty('branch');
    });

    it('disables, resets, moves a partner user to another organisation, and never turns staff into partner or back', async () => {
      const partner = AdminUsersResponse.parse((await backend.get(ADMIN_API.users, tokens.admin)).json()).users.find((u) => u.login === 'partner-new')!;
      const agentId = backend.demo.users.agent.id;
      const toPartner = await backend.send('PATCH', userUrl(ADMIN_API.user, agentId), { role: 'partner' }, tokens.admin);
      expect(toPartner.statusCode).toBe(400);
      expect(errorOf(toPartner).message).toMatch(/body\.role: a staff user cannot become a partner/);
      const toStaff = await backend.send('PATCH', userUrl(ADMIN_API.user, partner.id), { role: 'agent' }, tokens.admin);
      expect(toStaff.statusCode).toBe(403);
      expect(errorOf(toStaff).message).toContain('body.role');
      const staffOrg = await backend.send('PATCH', userUrl(ADMIN_API.user, agentId), { partnerOrg: ORG }, tokens.admin);
      expect(errorOf(staffOrg).message).toContain('body.partnerOrg');
      const partnerPhone = await backend.send('PATCH', userUrl(ADMIN_API.user, partner.id), { sipUser: '7002' }, tokens.admin);
      expect(errorOf(partnerPhone).message).toContain('body.sipUser');
      const rights = await backend.send('PATCH', userUrl(API.userRights, partner.id), { customerLimitAuthority: 1 }, tokens.admin);
      expect(rights.statusCode).toBe(400);
      expect(errorOf(rights).message).toContain('body.customerLimitAuthority');
      const stored = AdminUsersResponse.parse((await backend.get(ADMIN_API.users, tokens.admin)).json()).users.find((u) => u.id === partner.id);
      expect(stored).toMatchObject({ role: 'partner', customerLimitAuthority: 3, partnerOrg: ORG });

      const moved = await backend.send('PATCH', userUrl(ADMIN_API.user, partner.id), { partnerOrg: '別の協力会社' }, tokens.admin);
      expect(AdminUser.parse(moved.json())).toMatchObject({ partnerOrg: '別の協力会社' });
      const partnerToken = await backend.login('partner-new', { password: 'partner-new-pass' });
      expect(ExchangeExportList.parse((await backend.get(EXCHANGE_API.exports, partnerToken)).json()).exports).toEqual([]);

      expect((await backend.send('POST', userUrl(ADMIN_API.userPassword, partner.id), { password: 'partner-reset-pass' }, tokens.admin)).statusCode).toBe(204);
      expect((await backend.get(API.me, partnerToken)).statusCode).toBe(401);
      const disabled = await backend.send('PATCH', userUrl(ADMIN_API.user, partner.id), { disabled: true }, tokens.admin);
      expect(AdminUser.parse(disabled.json()).disabled).toBe(true);
      await expect(backend.login('partner-new', { password: 'partner-reset-pass' })).rejects.toThrow(/401/);
      const entry = (await audit('user_updated')).find((e) => e.details.targetUserId === partner.id && (e.details.before as { partnerOrg?: string }).partnerOrg === ORG);
      expect(entry?.details).toMatchObject({ before: { partnerOrg: ORG }, after: { partnerOrg: '別の協力会社' } });
    });
  });

  describe('SIP users', () => {
    it('assigns an extension or a SIP user of the tenant, names a bad or taken one, and audits the change', async () => {
      const agentId = backend.demo.users.agent.id;
      const set = (sipUser: unknown, id = agentId) => backend.send('PATCH', userUrl(ADMIN_API.user, id), { sipUser }, tokens.admin);
      for (const bad of ['has space', 'a@b', '', 'x'.repeat(129)]) {
        const refused = await set(bad);
        expect(refused.statusCode, bad).toBe(400);
        expect(errorOf(refused).message).toContain('body.sipUser');
      }
      // Another tenant's namespace is refused even when nobody holds it.
      const foreign = await set('agent.other');
      expect(foreign.statusCode).toBe(400);
      expect(errorOf(foreign).message).toMatch(/body\.sipUser: .*\.demo/);
      const taken = await set(backend.demo.users.supervisor.login + '.DEMO');
      expect(taken.statusCode).toBe(409);
      expect(errorOf(taken).message).toContain('body.sipUser');
      const adminPhone = await set('7003', backend.demo.users.admin.id);
      expect(errorOf(adminPhone).message).toContain('body.sipUser');

      const before = AdminUsersResponse.parse((await backend.get(ADMIN_API.users, tokens.admin)).json()).users.find((u) => u.id === agentId)!;
      const changed = await set('Desk-2001');
      expect(changed.statusCode, changed.body).toBe(200);
      expect(AdminUser.parse(changed.json()).sipUser).toBe('desk-2001');
      const dotted = await set('front.desk.demo');
      expect(AdminUser.parse(dotted.json()).sipUser).toBe('front.desk.demo');
      // The user gets their own released SIP user back at once.
      expect(AdminUser.parse((await set('desk-2001')).json()).sipUser).toBe('desk-2001');
      const entry = (await audit('user_updated')).find((e) => e.details.targetUserId === agentId && (e.details.before as { sipUser?: string }).sipUser === before.sipUser);
      expect(entry?.details).toMatchObject({ after: { sipUser: 'desk-2001' } });

      // A SIP user taken from its holder goes to nobody else while their credentials may still be valid.
      const cooling = await backend.send('POST', ADMIN_API.users, { login: 'sip-taker', displayName: 'S', password: 'sip-taker-pass', sipUser: 'front.desk.demo' }, tokens.admin);
      expect(cooling.statusCode).toBe(409);
      expect(errorOf(cooling).message).toMatch(/body\.sipUser: front\.desk\.demo was taken from its previous holder/);
      const fresh = await backend.send('POST', ADMIN_API.users, { login: 'sip-taker', displayName: 'S', password: 'sip-taker-pass', sipUser: '2002' }, tokens.admin);
      expect(AdminUser.parse(fresh.json()).sipUser).toBe('2002');
    });
  });
});
