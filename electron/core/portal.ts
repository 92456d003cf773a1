import type { IpcHandlerTable, PortalIpcChannel } from '../../shared/ipc.js';
import { CustomerPortalInfo, PORTAL_STAFF_API, PortalAdminPage, PortalAdminPageList, PortalInvitation, PortalMediaUploaded, PortalPageDeleted } from '../../shared/portal.js';
import type { BackendClient } from './backend-client.js';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The staff side of the customer portal: a customer's rank and invitation link, and the pages
 * admins edit. Online only — nothing of it is cached, and the backend decides who may do what.
 */
export function portalHandlers(client: () => BackendClient): Pick<IpcHandlerTable, PortalIpcChannel> {
  const customerUrl = (template: string, customerId: string) => template.replace(':id', encodeURIComponent(customerId));
  return {
    'portal:account': ({ customerId }) => client().request('GET', customerUrl(PORTAL_STAFF_API.customer, customerId), CustomerPortalInfo, { timeoutMs: REQUEST_TIMEOUT_MS }),
    'portal:setRank': ({ customerId, rank }) =>
      client().request('PUT', customerUrl(PORTAL_STAFF_API.rank, customerId), CustomerPortalInfo, { body: { rank }, timeoutMs: REQUEST_TIMEOUT_MS, idempotent: true }),
    'portal:invite': ({ customerId }) => client().request('POST', customerUrl(PORTAL_STAFF_API.invitation, customerId), PortalInvitation, { timeoutMs: REQUEST_TIMEOUT_MS }),
    'portal:pages': () => client().request('GET', PORTAL_STAFF_API.pages, PortalAdminPageList, { timeoutMs: REQUEST_TIMEOUT_MS }),
    'portal:savePage': ({ id, page }) =>
      id === null
        ? client().request('POST', PORTAL_STAFF_API.pages, PortalAdminPage, { body: page, timeoutMs: REQUEST_TIMEOUT_MS })
        : client().request('PUT', PORTAL_STAFF_API.page.replace(':id', encodeURIComponent(id)), PortalAdminPage, { body: page, timeoutMs: REQUEST_TIMEOUT_MS, idempotent: true }),
    'portal:deletePage': ({ id }) => client().request('DELETE', PORTAL_STAFF_API.page.replace(':id', encodeURIComponent(id)), PortalPageDeleted, { timeoutMs: REQUEST_TIMEOUT_MS }),
    'portal:uploadMedia': (upload) => client().request('POST', PORTAL_STAFF_API.media, PortalMediaUploaded, { body: upload, timeoutMs: 60_000 }),
  };
}
