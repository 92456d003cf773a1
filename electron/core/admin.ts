import { ADMIN_API, AdminUser, AdminUsersResponse, TenantSettings } from '../../shared/admin.js';
import { API, MAIL_API, MailAddress, MailAddressesResponse, MailSettings, MailTemplate, UserResponse } from '../../shared/api.js';
import type { AdminIpcChannel, IpcHandlerTable } from '../../shared/ipc.js';
import { TelephonySettings } from '../../shared/ipc.js';
import { CALLME_API, CallMeHoursResponse } from '../../shared/callme.js';
import { RoutingRules } from '../../shared/routing-rules.js';
import type { BackendClient } from './backend-client.js';
import { TELEPHONY_PATHS } from './telephony.js';

const REQUEST_TIMEOUT_MS = 10_000;
/** Not in TELEPHONY_PATHS (only the console uses it); must match the backend's TELEPHONY_API.routingRules. */
const ROUTING_RULES_PATH = '/api/telephony/routing-rules';

const at = (template: string, id: string) => template.replace(/:[A-Za-z]+/, encodeURIComponent(id));

/**
 * The admin console's channels, straight to the backend: nothing of it is cached, and the
 * backend decides who may do what (supervisors list users and change agents' rights; admins
 * do the rest). Writes that replace a whole value (PUT, PATCH) may be retried on another
 * instance; creating a user or a template may not.
 */
export function adminHandlers(client: () => BackendClient): Pick<IpcHandlerTable, AdminIpcChannel> {
  const options = { timeoutMs: REQUEST_TIMEOUT_MS };
  return {
    'admin:users': async () => (await client().request('GET', ADMIN_API.users, AdminUsersResponse, options)).users,
    'admin:createUser': (user) => client().request('POST', ADMIN_API.users, AdminUser, { ...options, body: user }),
    'admin:updateUser': ({ userId, changes }) => client().request('PATCH', at(ADMIN_API.user, userId), AdminUser, { ...options, body: changes, idempotent: true }),
    'admin:setRights': async ({ userId, rights }) =>
      (await client().request('PATCH', at(API.userRights, userId), UserResponse, { ...options, body: rights, idempotent: true })).user,
    'admin:resetPassword': async ({ userId, password }) => {
      await client().request('POST', at(ADMIN_API.userPassword, userId), null, { ...options, body: { password } });
      return null;
    },
    'admin:saveMailTemplate': ({ id, template }) =>
      id === null
        ? client().request('POST', MAIL_API.mailTemplates, MailTemplate, { ...options, body: template })
        : client().request('PUT', at(MAIL_API.mailTemplate, id), MailTemplate, { ...options, body: template, idempotent: true }),
    'admin:deleteMailTemplate': async ({ id }) => {
      await client().request('DELETE', at(MAIL_API.mailTemplate, id), null, { ...options, idempotent: true });
      return null;
    },
    'admin:mailAddresses': async () => (await client().request('GET', MAIL_API.mailAddresses, MailAddressesResponse, options)).addresses,
    'admin:addMailAddress': (address) => client().request('POST', MAIL_API.mailAddresses, MailAddress, { ...options, body: address }),
    'admin:removeMailAddress': async ({ address }) => {
      await client().request('DELETE', at(MAIL_API.mailAddress, address), null, { ...options, idempotent: true });
      return null;
    },
    'admin:mailSettings': () => client().request('GET', MAIL_API.mailSettings, MailSettings, options),
    'admin:saveMailSettings': (update) => client().request('PUT', MAIL_API.mailSettings, MailSettings, { ...options, body: update, idempotent: true }),
    'admin:saveTelephonySettings': (update) => client().request('PUT', TELEPHONY_PATHS.telephonySettings, TelephonySettings, { ...options, body: update, idempotent: true }),
    'admin:routingRules': () => client().request('GET', ROUTING_RULES_PATH, RoutingRules, options),
    'admin:saveRoutingRules': (rules) => client().request('PUT', ROUTING_RULES_PATH, RoutingRules, { ...options, body: rules, idempotent: true }),
    'admin:callMeHours': async () => (await client().request('GET', CALLME_API.hours, CallMeHoursResponse, options)).hours,
    'admin:saveCallMeHours': async (hours) =>
      (await client().request('PUT', CALLME_API.hours, CallMeHoursResponse, { ...options, body: hours, idempotent: true })).hours,
    'admin:tenantSettings': () => client().request('GET', ADMIN_API.tenantSettings, TenantSettings, options),
    'admin:saveTenantSettings': (update) => client().request('PUT', ADMIN_API.tenantSettings, TenantSettings, { ...options, body: update, idempotent: true }),
  };
}
