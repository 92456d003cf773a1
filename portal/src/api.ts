import type { z } from 'zod';
import {
  PORTAL_API,
  PORTAL_CSRF_HEADER,
  PortalEventBatchResult,
  PortalOrder,
  PortalOrderList,
  PortalPageList,
  PortalPageView,
  PortalSession,
  type PortalEvent,
  type PortalOrderInput,
} from '../../shared/portal.js';
import { PORTAL_REP_API, PortalAddress, PortalRepRequestResult, type PortalRepRequestInput } from '../../shared/rep-requests.js';

/** The tenant this page serves, from its address: /portal/<tenant>/. */
export function tenantSlug(): string {
  const match = /^\/portal\/([^/]+)\//.exec(window.location.pathname);
  return match ? decodeURIComponent(match[1]!) : '';
}

export class PortalApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

export async function call<T>(method: 'GET' | 'POST' | 'DELETE', route: string, schema: z.ZodType<T> | null, body?: unknown): Promise<T> {
  const response = await fetch(`/portal/${encodeURIComponent(tenantSlug())}${route}`, {
    method,
    credentials: 'same-origin',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(method === 'GET' ? {} : { [PORTAL_CSRF_HEADER]: csrfToken }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) {
    const payload = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new PortalApiError(response.status, payload?.error?.code ?? 'internal', payload?.error?.message ?? response.statusText);
  }
  if (schema === null || response.status === 204) return undefined as T;
  return schema.parse(await response.json());
}

function signedIn(session: PortalSession): PortalSession {
  csrfToken = session.csrfToken;
  return session;
}

export const portalApi = {
  /** The current session, or null when signed out. */
  async session(): Promise<PortalSession | null> {
    try {
      return signedIn(await call('GET', PORTAL_API.session, PortalSession));
    } catch (error) {
      if (error instanceof PortalApiError && error.status === 401) return null;
      throw error;
    }
  },
  login: async (customerCode: string, password: string) => signedIn(await call('POST', PORTAL_API.login, PortalSession, { customerCode, password })),
  requestCode: (customerCode: string, email: string) => call('POST', PORTAL_API.loginCode, null, { customerCode, email }),
  verifyCode: async (customerCode: string, code: string) => signedIn(await call('POST', PORTAL_API.loginCodeVerify, PortalSession, { customerCode, code })),
  acceptInvitation: async (token: string, password: string) => signedIn(await call('POST', PORTAL_API.invitation, PortalSession, { token, password })),
  async logout(): Promise<void> {
    await call('DELETE', PORTAL_API.session, null);
    csrfToken = '';
  },
  pages: async () => (await call('GET', PORTAL_API.pages, PortalPageList)).pages,
  page: (slug: string) => call('GET', PORTAL_API.page.replace(':slug', encodeURIComponent(slug)), PortalPageView),
  sendEvents: (events: PortalEvent[]) => call('POST', PORTAL_API.events, PortalEventBatchResult, { events }),
  orders: async () => (await call('GET', PORTAL_API.orders, PortalOrderList)).orders,
  placeOrder: (input: PortalOrderInput) => call('POST', PORTAL_API.orders, PortalOrder, input),
  repRequest: (input: PortalRepRequestInput) => call('POST', PORTAL_REP_API.requests, PortalRepRequestResult, input),
  address: () => call('GET', PORTAL_REP_API.address, PortalAddress),
};
