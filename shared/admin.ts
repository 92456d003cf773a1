import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import {
  MailAddress,
  MailSettings,
  MailSettingsUpdate,
  MailTemplate,
  MailTemplateInput,
  RightsUpdate,
} from './api.js';
import { Classification, Id, IsoTime, Role, User as UserSchema } from './domain.js';
import { CallMeHours } from './callme.js';
import { PartnerOrg } from './exchange.js';
import { SIP_USER_PATTERN } from './sip-identity.js';
import { RoutingRules } from './routing-rules.js';
import { Disposition, TelephonySettings } from './telephony-settings.js';

/**
 * The admin console (renderer/src/admin): the tenant's users, and the screens for the settings
 * routes that exist elsewhere (mail templates, addresses and settings, telephony settings,
 * routing rules). Every write is validated on the backend with the schemas below and audited.
 *
 * Routes (admins; supervisors where noted):
 * - users GET → AdminUsersResponse (supervisors and admins); POST UserCreate → AdminUser (admins).
 * - user PATCH UserUpdate → AdminUser (admins): display name, role, disabled.
 * - userPassword POST PasswordReset → 204 (admins): the user's sessions end.
 * - tenantSettings GET → TenantSettings, PUT TenantSettingsUpdate → TenantSettings (admins).
 * - rights: PATCH /api/users/:id/rights (shared/api.ts RightsUpdate, backend/src/users/routes.ts).
 */
export const ADMIN_API = {
  users: '/api/users',
  user: '/api/users/:id',
  userPassword: '/api/users/:id/password',
  tenantSettings: '/api/tenant/settings',
} as const;

/** Logins as people type them: letters, digits and `._-`, so a tenant-qualified SIP user can be derived. */
export const Login = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 of A-Z a-z 0-9 . _ - starting with a letter or digit');

/** The shortest password an admin may set; the user is told it and changes nothing else. */
export const MIN_PASSWORD_LENGTH = 10;
export const NewPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1000);

/** Staff roles: users of the tenant's own centre, with a branch, an authority and (but admins) a phone. */
export const StaffRole = z.enum(['agent', 'supervisor', 'admin']);
export type StaffRole = z.infer<typeof StaffRole>;

/**
 * A SIP user an admin assigns (shared/sip-identity.ts): the syntax here; the tenant's namespace
 * (`mayAssignSipUser`) and uniqueness across the PBX on the server. Lower case, like the
 * derived ones, because PBXs differ on whether user parts are case-sensitive.
 */
export const SipUserAssignment = z
  .string()
  .trim()
  .toLowerCase()
  .regex(SIP_USER_PATTERN, 'must be a SIP user part: 1-128 of a-z 0-9 . _ ~ + -');

/**
 * The fields only staff users have. A partner user has none of them: the server refuses each
 * one given for a partner (400 naming it), and the console does not offer them.
 */
export const STAFF_ONLY_FIELDS = ['branch', 'customerLimitAuthority', 'mayHandleUnregisteredCallers', 'callsViewOnly', 'callsAllBranches', 'sipUser'] as const;

export const AdminUser = UserSchema.extend({
  disabled: z.boolean(),
  /** The user's SIP user on the PBX (colleagues dial it); null: no phone. */
  sipUser: z.string().nullable(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type AdminUser = z.infer<typeof AdminUser>;
export const AdminUsersResponse = z.object({ users: z.array(AdminUser) });
export type AdminUsersResponse = z.infer<typeof AdminUsersResponse>;

/**
 * POST users. Staff fields left out take their defaults on the server (no branch, authority 3,
 * no extra rights, the tenant-qualified SIP user; none for admins). A `partner` user needs its
 * `partnerOrg` and takes none of the staff fields.
 */
export const UserCreate = z
  .object({
    login: Login,
    displayName: z.string().trim().min(1, 'must not be empty').max(100),
    password: NewPassword,
    role: Role.default('agent'),
    partnerOrg: PartnerOrg.optional(),
    branch: z.string().trim().min(1).max(100).nullable().optional(),
    customerLimitAuthority: Classification.optional(),
    mayHandleUnregisteredCallers: z.boolean().optional(),
    callsViewOnly: z.boolean().optional(),
    callsAllBranches: z.boolean().optional(),
    sipUser: SipUserAssignment.nullable().optional(),
  })
  .strict()
  .superRefine((user, ctx) => {
    if (user.role === 'partner') {
      if (user.partnerOrg === undefined) ctx.addIssue({ code: 'custom', path: ['partnerOrg'], message: 'a partner user needs its partner organisation' });
      for (const field of STAFF_ONLY_FIELDS) {
        if (user[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'a partner user has no staff rights or phone; leave it out' });
      }
      return;
    }
    if (user.partnerOrg !== undefined) ctx.addIssue({ code: 'custom', path: ['partnerOrg'], message: 'only partner users belong to a partner organisation' });
    if (user.role === 'admin' && user.sipUser) ctx.addIssue({ code: 'custom', path: ['sipUser'], message: 'admins take no calls and have no SIP user' });
  });
export type UserCreate = z.infer<typeof UserCreate>;

/**
 * PATCH a user. Important: a staff user never becomes a partner user or back (a partner's
 * role cannot change; the server says so), because the two have different data: create the
 * other kind of user instead. `partnerOrg` is for partner users, `sipUser` for staff but admins.
 */
export const UserUpdate = z
  .object({
    displayName: z.string().trim().min(1, 'must not be empty').max(100).optional(),
    role: Role.refine((role) => role !== 'partner', 'a staff user cannot become a partner user; create a partner user instead').optional(),
    disabled: z.boolean().optional(),
    partnerOrg: PartnerOrg.optional(),
    sipUser: SipUserAssignment.nullable().optional(),
  })
  .strict()
  .refine((v) => Object.values(v).some((value) => value !== undefined), 'give displayName, role, disabled, partnerOrg or sipUser');
export type UserUpdate = z.infer<typeof UserUpdate>;

export const PasswordReset = z.object({ password: NewPassword }).strict();
export type PasswordReset = z.infer<typeof PasswordReset>;

/** A country code libphonenumber knows, upper case (the tenant's region for reading numbers). */
export const Region = z
  .string()
  .trim()
  .toUpperCase()
  .refine((value) => isSupportedCountry(value), 'must be a two-letter country code such as JP');

/**
 * PUT /api/telephony/settings (admins). null resets a setting to the default; `defaultRegion`
 * is the tenant's region (how numbers without a country code are read).
 */
export const TelephonySettingsUpdate = z
  .object({
    dispositions: z
      .array(
        Disposition.extend({
          code: z.string().trim().regex(/^[A-Za-z0-9_.-]{1,50}$/, 'must be 1-50 of A-Z a-z 0-9 _ . -'),
          label: z.string().trim().min(1, 'must not be empty').max(100),
        }),
      )
      .min(1)
      .max(100)
      .refine((list) => new Set(list.map((d) => d.code)).size === list.length, 'codes must be unique')
      .nullable()
      .optional(),
    customerIdHeader: TelephonySettings.shape.customerIdHeader.nullable().optional(),
    afterCallWorkSeconds: TelephonySettings.shape.afterCallWorkSeconds.nullable().optional(),
    dtmfMode: TelephonySettings.shape.dtmfMode.nullable().optional(),
    ringSeconds: TelephonySettings.shape.ringSeconds.nullable().optional(),
    defaultRegion: Region.optional(),
  })
  .strict()
  .refine((v) => Object.values(v).some((value) => value !== undefined), 'give at least one setting to change');
export type TelephonySettingsUpdate = z.infer<typeof TelephonySettingsUpdate>;

/** An IANA time zone the runtime knows, e.g. Asia/Tokyo. */
export const TimeZone = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Asia/Tokyo');

/** The tenant's own settings: the zone its reports count days, weeks and months in. */
export const TenantSettings = z.object({
  /** null: the deployment's zone (`deploymentTimeZone`). */
  timeZone: z.string().nullable(),
  deploymentTimeZone: z.string(),
});
export type TenantSettings = z.infer<typeof TenantSettings>;
export const TenantSettingsUpdate = z.object({ timeZone: TimeZone.nullable() }).strict();
export type TenantSettingsUpdate = z.infer<typeof TenantSettingsUpdate>;

const UserRef = z.object({ userId: Id });
/** Channels without a payload (JSON drops `undefined`, so the browser shell may send nothing or null). */
const NoPayload = z.undefined().or(z.null());

/** The admin console's channels: served by electron/core/admin.ts, online only (nothing of it is cached). */
export const ADMIN_IPC_CHANNELS = {
  'admin:users': { request: NoPayload, result: z.array(AdminUser) },
  'admin:createUser': { request: UserCreate, result: AdminUser },
  'admin:updateUser': { request: UserRef.extend({ changes: UserUpdate }), result: AdminUser },
  'admin:setRights': { request: UserRef.extend({ rights: RightsUpdate }), result: UserSchema },
  'admin:resetPassword': { request: UserRef.extend({ password: NewPassword }), result: z.null() },
  'admin:saveMailTemplate': { request: z.object({ id: Id.nullable(), template: MailTemplateInput }), result: MailTemplate },
  'admin:deleteMailTemplate': { request: z.object({ id: Id }), result: z.null() },
  'admin:mailAddresses': { request: NoPayload, result: z.array(MailAddress) },
  'admin:addMailAddress': { request: MailAddress, result: MailAddress },
  'admin:removeMailAddress': { request: z.object({ address: z.string().min(1).max(320) }), result: z.null() },
  'admin:mailSettings': { request: NoPayload, result: MailSettings },
  'admin:saveMailSettings': { request: MailSettingsUpdate, result: MailSettings },
  'admin:saveTelephonySettings': { request: TelephonySettingsUpdate, result: TelephonySettings },
  'admin:routingRules': { request: NoPayload, result: RoutingRules },
  'admin:saveRoutingRules': { request: RoutingRules, result: RoutingRules },
  // "Call me" business hours (backend/src/callme): null while none are set.
  'admin:callMeHours': { request: NoPayload, result: CallMeHours.nullable() },
  'admin:saveCallMeHours': { request: CallMeHours, result: CallMeHours.nullable() },
  // The tenant's report time zone (backend/src/users/admin-routes.ts).
  'admin:tenantSettings': { request: NoPayload, result: TenantSettings },
  'admin:saveTenantSettings': { request: TenantSettingsUpdate, result: TenantSettings },
} as const;
