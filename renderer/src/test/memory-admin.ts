import type { AdminUser, TenantSettings } from '../../../shared/admin.js';
import type { MailAddress, MailSettings, MailTemplate } from '../../../shared/api.js';
import type { AdminIpcChannel, IpcHandlerTable, SessionInfo, TelephonySettings } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';
import type { CallMeHours } from '../../../shared/callme.js';
import type { RoutingRules } from '../../../shared/routing-rules.js';

/**
 * The backend's admin routes as the renderer tests need them, in memory. The request schemas
 * are checked by the memory bridge like the core's dispatcher does; the rules here are the
 * backend's role checks and its conflicts on a taken login or SIP user.
 */
export class MemoryAdmin {
  readonly users: AdminUser[] = [];
  readonly addresses: MailAddress[] = [];
  mailSettings: MailSettings = { leaseSeconds: 300, busyCallsPerAgent: 0.5, presenceTimeoutSeconds: 60, preferenceSeconds: 30 };
  routing: RoutingRules = { groups: [], rules: [] };
  tenantSettings: TenantSettings = { timeZone: null, deploymentTimeZone: 'Asia/Tokyo' };
  /** "Call me" hours; null: around the clock. */
  callMeHours: CallMeHours | null = null;
  /** Every password reset asked for, by user id (the tests check nothing else leaks). */
  readonly passwordResets: string[] = [];

  constructor(
    private readonly session: () => SessionInfo,
    /** The mail templates and telephony settings the other memory channels serve, so a save shows there. */
    private readonly shared: { mail: { templates: MailTemplate[] }; telephony: { settings: Omit<TelephonySettings, 'defaultRegion'> } },
  ) {}

  #admin(): void {
    if (this.session().user.role !== 'admin') throw new CodedError('forbidden', 'only admins may do this');
  }

  #user(userId: string): AdminUser {
    const user = this.users.find((u) => u.id === userId);
    if (!user) throw new CodedError('not_found', 'no such user');
    return user;
  }

  readonly handlers: Pick<IpcHandlerTable, AdminIpcChannel> = {
    'admin:users': async () => {
      const { role } = this.session().user;
      if (role !== 'admin' && role !== 'supervisor') throw new CodedError('forbidden', 'only supervisors and admins may list users');
      return this.users.map((u) => ({ ...u }));
    },
    'admin:createUser': async (input) => {
      this.#admin();
      if (this.users.some((u) => u.login === input.login)) throw new CodedError('conflict', `body.login: ${input.login} is already taken`);
      if (input.sipUser && this.users.some((u) => u.sipUser === input.sipUser)) throw new CodedError('conflict', `body.sipUser: ${input.sipUser} is already in use on the PBX`);
      const now = new Date().toISOString();
      const partner = input.role === 'partner';
      const user: AdminUser = {
        login: input.login,
        displayName: input.displayName,
        role: input.role,
        branch: input.branch ?? null,
        customerLimitAuthority: input.customerLimitAuthority ?? 3,
        mayHandleUnregisteredCallers: input.mayHandleUnregisteredCallers ?? false,
        callsViewOnly: input.callsViewOnly ?? false,
        callsAllBranches: input.callsAllBranches ?? false,
        ...(partner ? { partnerOrg: input.partnerOrg ?? null } : {}),
        id: `50000000-0000-4000-8000-${String(this.users.length + 1).padStart(12, '0')}`,
        tenantId: this.session().tenant.id,
        disabled: false,
        sipUser: partner || input.role === 'admin' ? null : (input.sipUser ?? `${input.login}.demo`),
        createdAt: now,
        updatedAt: now,
      };
      this.users.push(user);
      return { ...user };
    },
    'admin:updateUser': async ({ userId, changes }) => {
      this.#admin();
      const user = this.#user(userId);
      if (changes.sipUser && this.users.some((u) => u.id !== userId && u.sipUser === changes.sipUser)) {
        throw new CodedError('conflict', `body.sipUser: ${changes.sipUser} is already in use on the PBX`);
      }
      Object.assign(user, changes, { updatedAt: new Date().toISOString() });
      return { ...user };
    },
    'admin:setRights': async ({ userId, rights }) => {
      const user = this.#user(userId);
      Object.assign(user, rights);
      const { disabled: _d, sipUser: _s, createdAt: _c, updatedAt: _u, ...plain } = user;
      return plain;
    },
    'admin:resetPassword': async ({ userId }) => {
      this.#admin();
      this.#user(userId);
      this.passwordResets.push(userId);
      return null;
    },
    'admin:saveMailTemplate': async ({ id, template }) => {
      const templates = this.shared.mail.templates;
      const saved: MailTemplate = { id: id ?? `60000000-0000-4000-8000-${String(templates.length + 1).padStart(12, '0')}`, ...template, updatedAt: new Date().toISOString() };
      this.shared.mail.templates = [...templates.filter((t) => t.id !== saved.id), saved];
      return saved;
    },
    'admin:deleteMailTemplate': async ({ id }) => {
      if (!this.shared.mail.templates.some((t) => t.id === id)) throw new CodedError('not_found', `no template ${id}`);
      this.shared.mail.templates = this.shared.mail.templates.filter((t) => t.id !== id);
      return null;
    },
    'admin:mailAddresses': async () => this.addresses.map((a) => ({ ...a })),
    'admin:addMailAddress': async (address) => {
      this.#admin();
      if (this.addresses.some((a) => a.address === address.address)) throw new CodedError('conflict', `body.address: ${address.address} is already in use`);
      this.addresses.push({ ...address });
      return address;
    },
    'admin:removeMailAddress': async ({ address }) => {
      this.#admin();
      const index = this.addresses.findIndex((a) => a.address === address);
      if (index < 0) throw new CodedError('not_found', `no address ${address}`);
      this.addresses.splice(index, 1);
      return null;
    },
    'admin:mailSettings': async () => ({ ...this.mailSettings }),
    'admin:saveMailSettings': async (update) => {
      this.mailSettings = {
        ...this.mailSettings,
        ...(update.leaseSeconds != null ? { leaseSeconds: update.leaseSeconds } : {}),
        ...(update.busyCallsPerAgent != null ? { busyCallsPerAgent: update.busyCallsPerAgent } : {}),
      };
      return { ...this.mailSettings };
    },
    'admin:saveTelephonySettings': async (update) => {
      this.#admin();
      const { defaultRegion, ...rest } = update;
      const next = { ...this.shared.telephony.settings };
      for (const [key, value] of Object.entries(rest)) if (value !== undefined && value !== null) Object.assign(next, { [key]: value });
      this.shared.telephony.settings = next;
      return { ...next, defaultRegion: defaultRegion ?? this.session().tenant.defaultRegion };
    },
    'admin:routingRules': async () => structuredClone(this.routing),
    'admin:callMeHours': async () => (this.callMeHours ? structuredClone(this.callMeHours) : null),
    'admin:saveCallMeHours': async (hours) => {
      this.#admin();
      this.callMeHours = { ...hours, days: [...new Set(hours.days)].sort() };
      return structuredClone(this.callMeHours);
    },
    'admin:tenantSettings': async () => {
      this.#admin();
      return { ...this.tenantSettings };
    },
    'admin:saveTenantSettings': async ({ timeZone }) => {
      this.#admin();
      this.tenantSettings = { ...this.tenantSettings, timeZone };
      return { ...this.tenantSettings };
    },
    'admin:saveRoutingRules': async (rules) => {
      this.#admin();
      this.routing = structuredClone(rules);
      return structuredClone(rules);
    },
  };
}
