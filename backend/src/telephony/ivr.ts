import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { DatabaseHandle } from '../db/database.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { assertServes, type CtiPbx } from './cti-access.js';

/**
 * The IVR's customer check (CTI-CONTRACT §3): a caller without a caller ID keys in their
 * customer number on the PBX's IVR, which asks here whose it is. Three tries per call: the
 * backend counts them (in the audit trail, so every instance counts the same) and refuses a
 * fourth, which keeps one call from walking through the tenant's customer numbers.
 */

export const IVR_TRIES_PER_CALL = 3;
/** Tries are counted over this window; an IVR call lasts minutes at most. */
const TRY_WINDOW_MS = 60 * 60 * 1000;

export const IvrCustomerQuery = z.object({
  tenant: z.string().trim().min(1).max(100),
  /** What the caller keyed in: digits only, as DTMF has no letters. */
  code: z.string().regex(/^\d{1,20}$/, 'must be 1-20 digits (the customer number as keyed in)'),
  /** The caller's Call-ID, which the tries are counted by. */
  callId: z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be the call\'s SIP Call-ID (1-200 printable characters)'),
});
export type IvrCustomerQuery = z.infer<typeof IvrCustomerQuery>;

export interface IvrCustomerResponse {
  customerId: string;
}

type Outcome = 'found' | 'not_found' | 'refused';

/**
 * The customer whose code is the keyed-in number: the code itself, or the code's digits when it
 * also has letters or separators (C0001234 is keyed in as 0001234). Two customers with the same
 * digits are no answer: the IVR must never pop the wrong one.
 */
async function customerByKeyedCode(handle: DatabaseHandle, tenantId: string, digits: string): Promise<string | null> {
  const exact = await handle.db
    .selectFrom('customers')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('code', '=', digits)
    .executeTakeFirst();
  if (exact) return exact.id;
  const candidates = await handle.db
    .selectFrom('customers')
    .select(['id', 'code'])
    .where('tenant_id', '=', tenantId)
    .where('code', 'like', `%${digits}`)
    .limit(50)
    .execute();
  const matches = candidates.filter((row) => row.code.replace(/\D/g, '') === digits);
  return matches.length === 1 ? (matches[0]?.id ?? null) : null;
}

async function triesSoFar(handle: DatabaseHandle, tenantId: string, callId: string): Promise<number> {
  const rows = await handle.db
    .selectFrom('audit_events')
    .select('details')
    .where('tenant_id', '=', tenantId)
    .where('action', '=', 'ivr_customer_checked')
    .where('at', '>=', new Date(Date.now() - TRY_WINDOW_MS).toISOString())
    .execute();
  return rows.filter((row) => {
    try {
      return (JSON.parse(row.details) as { callId?: unknown }).callId === callId;
    } catch {
      return false;
    }
  }).length;
}

export async function checkIvrCustomer(handle: DatabaseHandle, query: IvrCustomerQuery, pbxId: string): Promise<IvrCustomerResponse> {
  const tenant = await handle.db.selectFrom('tenants').select('id').where('slug', '=', query.tenant).executeTakeFirst();
  if (!tenant) throw new HttpError('not_found', 'tenant: no such tenant');
  const previous = await triesSoFar(handle, tenant.id, query.callId);
  const attempt = previous + 1;
  const audit = (outcome: Outcome, customerId: string | null) =>
    recordAudit(handle.db, {
      tenantId: tenant.id,
      userId: null,
      action: 'ivr_customer_checked',
      customerId,
      // Important: the digits of a try that found nobody are not kept, only how many there were.
      details: { pbx: pbxId, callId: query.callId, try: attempt, outcome, digits: query.code.length },
    });
  if (previous >= IVR_TRIES_PER_CALL) {
    await audit('refused', null);
    throw new HttpError('rate_limited', `callId: this call has used its ${IVR_TRIES_PER_CALL} tries`, 3600);
  }
  const customerId = await customerByKeyedCode(handle, tenant.id, query.code);
  await audit(customerId ? 'found' : 'not_found', customerId);
  if (!customerId) throw new HttpError('not_found', 'code: no customer of this tenant has this customer number');
  return { customerId };
}

export const IVR_CUSTOMER_PATH = '/api/cti/ivr/customer';

/**
 * GET /api/cti/ivr/customer ?tenant=&code=&callId= → { customerId }; 404 when no customer has
 * that number; 429 from the fourth try of one call. Registered inside the CTI scope, whose hook
 * has already authenticated the PBX (pbxOf).
 */
export function registerIvrCustomerRoute(scope: FastifyInstance, handle: DatabaseHandle, pbxOf: (request: FastifyRequest) => CtiPbx): void {
  scope.get(IVR_CUSTOMER_PATH, async (request): Promise<IvrCustomerResponse> => {
    const query = parseRequest(IvrCustomerQuery, request.query, 'query');
    const pbx = pbxOf(request);
    assertServes(pbx, query.tenant);
    return checkIvrCustomer(handle, query, pbx.id);
  });
}
