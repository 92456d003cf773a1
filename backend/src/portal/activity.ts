import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import {
  WEB_ACTIVITY_INCIDENT_TITLE,
  WEB_ORDERS_INCIDENT_TITLE,
  webActivitySummary,
  type PortalEventBatch,
  type PortalEventBatchResult,
  type PortalOrder,
  type PortalOrderInput,
  type WebActivityBody,
} from '../../../shared/portal.js';
import { insertContact, openIncidentTitled } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { HttpError } from '../http/errors.js';
import { writeTransaction, type WriteTx } from '../sync/changelog.js';
import { visiblePagesQuery } from './content.js';
import { portalDb, portalTrx } from './schema.js';

/**
 * Web activity and orders into the customer's record. Each accepted event becomes a `web`
 * contact in the customer's "Web activity" incident, written through the change log, so the
 * operators' caches get it under the same classification rules as every other contact.
 * `portal_events` keeps one row per (customer, clientId): a batch sent again is applied once.
 */

export interface ActivityLimits {
  /** Events accepted per customer per minute, counted in the database (every instance shares it). */
  eventsPerMinute: number;
  /** Web-activity contacts kept per customer; older ones are removed (orders are kept). */
  keepPerCustomer: number;
  /** Web activity older than this is removed. */
  retentionDays: number;
}

export const DEFAULT_ACTIVITY_LIMITS: ActivityLimits = { eventsPerMinute: 120, keepPerCustomer: 500, retentionDays: 180 };

interface Customer {
  tenantId: string;
  customerId: string;
  rank: number;
}

export async function recordEvents(
  handle: DatabaseHandle,
  customer: Customer,
  batch: z.infer<typeof PortalEventBatch>,
  limits: ActivityLimits,
): Promise<PortalEventBatchResult> {
  const db = portalDb(handle.db);
  const clientIds = batch.events.map((event) => event.clientId);
  const seen = new Set(
    (
      await db
        .selectFrom('portal_events')
        .select('client_id')
        .where('tenant_id', '=', customer.tenantId)
        .where('customer_id', '=', customer.customerId)
        .where('client_id', 'in', clientIds)
        .execute()
    ).map((row) => row.client_id),
  );
  const fresh = batch.events.filter((event, index) => !seen.has(event.clientId) && clientIds.indexOf(event.clientId) === index);
  const duplicates = batch.events.length - fresh.length;
  if (fresh.length === 0) return { accepted: 0, duplicates, dropped: [] };

  const since = new Date(Date.now() - 60_000).toISOString();
  const recent = await db
    .selectFrom('portal_events')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('customer_id', '=', customer.customerId)
    .where('received_at', '>', since)
    .executeTakeFirstOrThrow();
  if (Number(recent.n) + fresh.length > limits.eventsPerMinute) {
    throw new HttpError('rate_limited', `too many web events: at most ${limits.eventsPerMinute} a minute per customer; send again later`, 60);
  }

  const pages = new Map(
    (
      await visiblePagesQuery(handle.db, customer.tenantId, { id: customer.customerId, rank: customer.rank })
        .select(['p.id', 'p.title'])
        .where('p.id', 'in', [...new Set(fresh.map((event) => event.pageId))])
        .execute()
    ).map((page) => [page.id, page.title]),
  );
  const dropped = fresh.filter((event) => !pages.has(event.pageId)).map((event) => ({ clientId: event.clientId, reason: 'pageId: no such page' }));
  const kept = fresh.filter((event) => pages.has(event.pageId));
  if (kept.length === 0) return { accepted: 0, duplicates, dropped };

  const accepted = await writeTransaction(handle, async (tx) => {
    const trx = portalTrx(tx.trx);
    const incidentId = await openIncidentTitled(tx, customer.tenantId, customer.customerId, WEB_ACTIVITY_INCIDENT_TITLE);
    const now = new Date().toISOString();
    let count = 0;
    for (const event of kept) {
      // A concurrent copy of the same batch may have landed since the check above: the key decides.
      const inserted = await trx
        .insertInto('portal_events')
        .values({
          tenant_id: customer.tenantId,
          customer_id: customer.customerId,
          client_id: event.clientId,
          kind: event.kind,
          page_id: event.pageId,
          contact_id: null,
          occurred_at: event.occurredAt,
          received_at: now,
        })
        .onConflict((oc) => oc.doNothing())
        .returning('client_id')
        .executeTakeFirst();
      if (!inserted) continue;
      const body: WebActivityBody = {
        webActivity: event.kind,
        pageId: event.pageId,
        title: pages.get(event.pageId)!,
        target: event.target,
        positionSeconds: event.positionSeconds,
      };
      const contactId = await insertContact(tx, customer.tenantId, {
        incidentId,
        customerId: customer.customerId,
        kind: 'web',
        direction: 'inbound',
        // An event dated in the future (a wrong clock) is filed at its arrival.
        occurredAt: event.occurredAt > now ? now : event.occurredAt,
        agentId: null,
        summary: webActivitySummary(body),
        body: JSON.stringify(body),
        callMeta: null,
      });
      await trx
        .updateTable('portal_events')
        .set({ contact_id: contactId })
        .where('tenant_id', '=', customer.tenantId)
        .where('customer_id', '=', customer.customerId)
        .where('client_id', '=', event.clientId)
        .execute();
      count += 1;
    }
    await pruneActivity(tx, customer, limits);
    return count;
  });
  return { accepted, duplicates: duplicates + (kept.length - accepted), dropped };
}

/** The retention limit: web-activity contacts past the count or the age go (through the change log). */
async function pruneActivity(tx: WriteTx, customer: Customer, limits: ActivityLimits): Promise<void> {
  const trx = portalTrx(tx.trx);
  const cutoff = new Date(Date.now() - limits.retentionDays * 86_400_000).toISOString();
  const beyondCount = await trx
    .selectFrom('portal_events')
    .select(['client_id', 'contact_id'])
    .where('customer_id', '=', customer.customerId)
    .where('contact_id', 'is not', null)
    .orderBy('occurred_at', 'desc')
    .orderBy('client_id', 'desc')
    .offset(limits.keepPerCustomer)
    .limit(1000)
    .execute();
  const tooOld = await trx
    .selectFrom('portal_events')
    .select(['client_id', 'contact_id'])
    .where('customer_id', '=', customer.customerId)
    .where('contact_id', 'is not', null)
    .where('occurred_at', '<', cutoff)
    .limit(1000)
    .execute();
  const contactIds = [...new Set([...beyondCount, ...tooOld].map((row) => row.contact_id!))];
  for (const contactId of contactIds) {
    await trx.deleteFrom('contacts').where('id', '=', contactId).execute();
    await trx.updateTable('portal_events').set({ contact_id: null }).where('contact_id', '=', contactId).execute();
    await tx.recordChange({ tenantId: customer.tenantId, entity: 'contact', entityId: contactId, customerId: customer.customerId, op: 'delete' });
  }
  // Idempotency records outlive their contact only until the age limit.
  await trx.deleteFrom('portal_events').where('customer_id', '=', customer.customerId).where('occurred_at', '<', cutoff).execute();
}

export async function listOrders(handle: DatabaseHandle, customerId: string, limit = 50): Promise<PortalOrder[]> {
  const rows = await portalDb(handle.db)
    .selectFrom('portal_orders as o')
    .innerJoin('portal_pages as p', 'p.id', 'o.product_id')
    .select(['o.id', 'o.product_id', 'p.title', 'o.quantity', 'o.note', 'o.created_at', 'o.confirmation'])
    .where('o.customer_id', '=', customerId)
    .orderBy('o.created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    productId: row.product_id,
    productTitle: row.title,
    quantity: row.quantity,
    note: row.note,
    createdAt: row.created_at,
    confirmation: row.confirmation,
  }));
}

/**
 * An order of a catalogue product: recorded once per clientId, a `web` contact in the
 * customer's "Web orders" incident, and the products the customer owns. The confirmation mail
 * is sent after commit by the caller (placeOrder's result says where to).
 */
export async function placeOrder(
  handle: DatabaseHandle,
  customer: Customer,
  input: z.infer<typeof PortalOrderInput>,
): Promise<{ order: PortalOrder; created: boolean }> {
  const db = portalDb(handle.db);
  const existing = await db
    .selectFrom('portal_orders')
    .select('id')
    .where('tenant_id', '=', customer.tenantId)
    .where('customer_id', '=', customer.customerId)
    .where('client_id', '=', input.clientId)
    .executeTakeFirst();
  if (existing) return { order: (await listOrders(handle, customer.customerId)).find((order) => order.id === existing.id)!, created: false };
  const product = await visiblePagesQuery(handle.db, customer.tenantId, { id: customer.customerId, rank: customer.rank })
    .select(['p.id', 'p.title', 'p.kind'])
    .where('p.id', '=', input.productId)
    .executeTakeFirst();
  if (!product || product.kind !== 'product') throw new HttpError('not_found', 'productId: no such product');
  const id = randomUUID();
  await writeTransaction(handle, async (tx) => {
    const trx = portalTrx(tx.trx);
    const now = new Date().toISOString();
    const incidentId = await openIncidentTitled(tx, customer.tenantId, customer.customerId, WEB_ORDERS_INCIDENT_TITLE);
    const body: WebActivityBody = { webActivity: 'order', pageId: product.id, title: product.title, quantity: input.quantity };
    const contactId = await insertContact(tx, customer.tenantId, {
      incidentId,
      customerId: customer.customerId,
      kind: 'web',
      direction: 'inbound',
      occurredAt: now,
      agentId: null,
      summary: webActivitySummary(body),
      body: input.note === '' ? JSON.stringify(body) : JSON.stringify({ ...body, target: input.note }),
      callMeta: null,
    });
    await trx
      .insertInto('portal_orders')
      .values({
        id,
        tenant_id: customer.tenantId,
        customer_id: customer.customerId,
        client_id: input.clientId,
        product_id: product.id,
        quantity: input.quantity,
        note: input.note,
        contact_id: contactId,
        confirmation: 'pending',
        created_at: now,
      })
      .execute();
    await trx
      .insertInto('customer_products')
      .values({ customer_id: customer.customerId, product_id: product.id, tenant_id: customer.tenantId, quantity: input.quantity, first_ordered_at: now, last_ordered_at: now })
      .onConflict((oc) => oc.columns(['customer_id', 'product_id']).doUpdateSet((eb) => ({ quantity: eb('customer_products.quantity', '+', input.quantity), last_ordered_at: now })))
      .execute();
  });
  return { order: (await listOrders(handle, customer.customerId)).find((order) => order.id === id)!, created: true };
}
