import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { REP_REQUESTS_INCIDENT_TITLE, repRequestKey, type PortalRepRequestInput, type PortalRepRequestResult, type RepRequestKind } from '../../../shared/rep-requests.js';
import { recordAudit } from '../audit.js';
import { recordBranchCallChange } from '../branch-calls/load.js';
import { insertContact, openIncidentTitled, updateCustomer } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { HttpError } from '../http/errors.js';
import type { MailConfig } from '../mail/config.js';
import { visiblePagesQuery } from '../portal/content.js';
import { sendPortalNotice } from '../portal/notice.js';
import { writeTransaction } from '../sync/changelog.js';
import type { StoredRequestDetails } from './load.js';
import { routeRepRequest } from './routing.js';
import { renderRepMail, routingSettingsRow } from './settings.js';
import { repRequestDb, repRequestTrx } from './schema.js';

type Input = z.infer<typeof PortalRepRequestInput>;

export interface PortalCustomer {
  tenantId: string;
  customerId: string;
  rank: number;
}

const KIND_LABEL: Record<RepRequestKind, string> = {
  contact_rep: '担当者への連絡依頼',
  material: '資料請求',
  address_change: '住所変更',
};
const METHOD_LABEL: Record<string, string> = { phone: '電話', email: 'メール', visit: '訪問' };
const ACTION_LABEL: Record<string, string> = { documents: '資料送付', visit: '訪問', call: '電話' };

/**
 * A customer's request from the portal (contact my rep, material for a product they do not own,
 * an address change): checked, routed (routing.ts), written with its contact in the customer's
 * incident tree and its entry of the rep's "calls for you" through the change log (an address
 * change also updates the customer record there), then the rep is e-mailed from the tenant's
 * template and, for an address change, the customer-information manager gets a copy.
 * The same clientId sent again answers the first request and changes nothing.
 */
export async function raiseRepRequest(
  handle: DatabaseHandle,
  mailConfig: MailConfig,
  log: FastifyBaseLogger,
  who: PortalCustomer,
  input: Input,
): Promise<{ result: PortalRepRequestResult; created: boolean }> {
  const db = repRequestDb(handle.db);
  const earlier = await db
    .selectFrom('rep_requests')
    .select(['id', 'kind', 'created_at'])
    .where('tenant_id', '=', who.tenantId)
    .where('customer_id', '=', who.customerId)
    .where('client_id', '=', input.clientId)
    .executeTakeFirst();
  if (earlier) return { result: { id: earlier.id, kind: earlier.kind, createdAt: new Date(earlier.created_at).toISOString() }, created: false };

  const customer = await db
    .selectFrom('customers')
    .select(['id', 'code', 'name', 'postal_code', 'address', 'assigned_rep_id'])
    .where('tenant_id', '=', who.tenantId)
    .where('id', '=', who.customerId)
    .executeTakeFirstOrThrow();

  let product: { id: string; title: string } | null = null;
  if (input.kind === 'contact_rep' || input.kind === 'material') {
    // Important: a product the customer may not see is unknown, exactly like one that does not exist.
    const row = await visiblePagesQuery(handle.db, who.tenantId, { id: who.customerId, rank: who.rank })
      .select(['p.id', 'p.title'])
      .where('p.id', '=', input.productId)
      .where('p.kind', '=', 'product')
      .executeTakeFirst();
    if (!row) throw new HttpError('not_found', 'productId: no such product');
    product = row;
    if (input.kind === 'material') {
      const owned = await db.selectFrom('customer_products').select('product_id').where('customer_id', '=', who.customerId).where('product_id', '=', row.id).executeTakeFirst();
      if (owned) throw new HttpError('conflict', 'productId: you already hold this product; use "contact my rep" to ask about it');
    }
  }

  const details: StoredRequestDetails =
    input.kind === 'contact_rep'
      ? { message: input.message, preferredMethod: input.preferredMethod, preferredTime: input.preferredTime ?? '', requestedAction: input.requestedAction, address: null }
      : input.kind === 'material'
        ? { message: input.message ?? '', preferredMethod: null, preferredTime: '', requestedAction: 'documents', address: null }
        : {
            message: '',
            preferredMethod: null,
            preferredTime: '',
            requestedAction: null,
            address: { postalCode: input.postalCode, address: input.address, previousPostalCode: customer.postal_code, previousAddress: customer.address },
          };
  const postalCode = details.address?.postalCode ?? customer.postal_code;
  const route = await routeRepRequest(handle.db, who.tenantId, { assignedRepId: customer.assigned_rep_id, postalCode }, product?.id ?? null);

  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const summary = `${KIND_LABEL[input.kind]}${product ? `: ${product.title}` : ''}`.slice(0, 300);
  const created = await writeTransaction(handle, async (tx) => {
    const trx = repRequestTrx(tx.trx);
    const claimed = await trx
      .insertInto('rep_requests')
      .values({
        id,
        tenant_id: who.tenantId,
        customer_id: who.customerId,
        client_id: input.clientId,
        kind: input.kind,
        product_id: product?.id ?? null,
        details: JSON.stringify(details),
        routed_to: route.repId,
        routed_by: route.routedBy,
        region: route.region,
        mail_status: 'pending',
        created_at: createdAt,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'customer_id', 'client_id']).doNothing())
      .executeTakeFirst();
    // A second request with the same clientId raced this one and won: answer with it.
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    if (details.address) {
      await updateCustomer(tx, who.tenantId, who.customerId, { postalCode: details.address.postalCode, address: details.address.address });
    }
    const incidentId = await openIncidentTitled(tx, who.tenantId, who.customerId, REP_REQUESTS_INCIDENT_TITLE);
    await insertContact(tx, who.tenantId, {
      incidentId,
      customerId: who.customerId,
      kind: 'web',
      direction: 'inbound',
      occurredAt: createdAt,
      agentId: null,
      summary,
      body: describeRequest(input.kind, product?.title ?? null, details),
      callMeta: null,
    });
    await recordBranchCallChange(tx, { tenantId: who.tenantId, key: repRequestKey(id), customerId: who.customerId });
    await recordAudit(tx.trx, {
      tenantId: who.tenantId,
      userId: null,
      action: 'rep_request_raised',
      customerId: who.customerId,
      details: { requestId: id, kind: input.kind, productId: product?.id ?? null, routedTo: route.repId, routedBy: route.routedBy, region: route.region },
    });
    return true;
  });
  if (!created) return raiseRepRequest(handle, mailConfig, log, who, input);

  const mailStatus = await mailRep(handle, mailConfig, log, {
    tenantId: who.tenantId,
    repId: route.repId,
    values: {
      customerName: customer.name,
      customerCode: customer.code,
      request: KIND_LABEL[input.kind],
      product: product?.title ?? '—',
      message: details.message,
      preferredMethod: details.preferredMethod ? (METHOD_LABEL[details.preferredMethod] ?? details.preferredMethod) : '—',
      preferredTime: details.preferredTime || '—',
      requestedAction: details.requestedAction ? (ACTION_LABEL[details.requestedAction] ?? details.requestedAction) : '—',
      address: details.address ? `〒${details.address.postalCode} ${details.address.address}（旧: 〒${details.address.previousPostalCode} ${details.address.previousAddress}）` : '—',
    },
  });
  await db.updateTable('rep_requests').set({ mail_status: mailStatus }).where('id', '=', id).execute();
  if (details.address) await copyToInfoManager(handle, mailConfig, log, who.tenantId, customer, details.address);
  return { result: { id, kind: input.kind, createdAt }, created: true };
}

function describeRequest(kind: RepRequestKind, productTitle: string | null, details: StoredRequestDetails): string {
  const lines = [`${KIND_LABEL[kind]}`];
  if (productTitle) lines.push(`商品: ${productTitle}`);
  if (details.preferredMethod) lines.push(`連絡方法: ${METHOD_LABEL[details.preferredMethod] ?? details.preferredMethod}`);
  if (details.preferredTime) lines.push(`希望時間帯: ${details.preferredTime}`);
  if (details.requestedAction) lines.push(`希望の対応: ${ACTION_LABEL[details.requestedAction] ?? details.requestedAction}`);
  if (details.address) lines.push(`新住所: 〒${details.address.postalCode} ${details.address.address}`, `旧住所: 〒${details.address.previousPostalCode} ${details.address.previousAddress}`);
  if (details.message) lines.push('', details.message);
  return lines.join('\n');
}

async function mailRep(
  handle: DatabaseHandle,
  mailConfig: MailConfig,
  log: FastifyBaseLogger,
  request: { tenantId: string; repId: string | null; values: Omit<Parameters<typeof renderRepMail>[1], 'repName'> },
): Promise<'sent' | 'failed' | 'no_address'> {
  if (request.repId === null) return 'no_address';
  const db = repRequestDb(handle.db);
  const rep = await db
    .selectFrom('users as u')
    .leftJoin('rep_mail_addresses as m', 'm.user_id', 'u.id')
    .select(['u.display_name', 'm.email'])
    .where('u.id', '=', request.repId)
    .executeTakeFirst();
  if (!rep?.email) return 'no_address';
  const settings = await routingSettingsRow(handle.db, request.tenantId);
  const values = { ...request.values, repName: rep.display_name };
  try {
    await sendPortalNotice(handle.db, mailConfig, request.tenantId, {
      to: rep.email,
      subject: renderRepMail(settings.mailSubject, values).replace(/[\r\n]+/g, ' '),
      text: renderRepMail(settings.mailBody, values),
    });
    return 'sent';
  } catch (error) {
    log.warn({ err: error, repId: request.repId }, 'rep requests: the mail to the rep failed');
    return 'failed';
  }
}

async function copyToInfoManager(
  handle: DatabaseHandle,
  mailConfig: MailConfig,
  log: FastifyBaseLogger,
  tenantId: string,
  customer: { code: string; name: string },
  address: NonNullable<StoredRequestDetails['address']>,
): Promise<void> {
  const { infoManagerEmail } = await routingSettingsRow(handle.db, tenantId);
  if (!infoManagerEmail) return;
  try {
    await sendPortalNotice(handle.db, mailConfig, tenantId, {
      to: infoManagerEmail,
      subject: `【住所変更】${customer.name} 様（${customer.code}）`,
      text:
        `お客さまポータルで住所が変更され、顧客情報に反映しました。\n\n` +
        `お客さま: ${customer.name} 様（${customer.code}）\n` +
        `新住所: 〒${address.postalCode} ${address.address}\n` +
        `旧住所: 〒${address.previousPostalCode} ${address.previousAddress}\n`,
    });
  } catch (error) {
    log.warn({ err: error }, 'rep requests: the copy to the customer-information manager failed');
  }
}
