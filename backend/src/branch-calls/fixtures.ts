import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../db/database.js';
import { branchCallsDb } from './schema.js';
import { DEFAULT_CALLBACK_TEMPLATE } from './template.js';

/** The demo branch whose rep gets calls (the seed's `rep-shibuya`). */
export const DEMO_BRANCH = '渋谷支店';
const DEMO_REP_LOGIN = 'rep-shibuya';
const HOUR_MS = 3_600_000;

/**
 * Demo data of "calls for you" on a freshly seeded tenant, so `npm start` shows the feature:
 * calls to the branch rep from their customers (missed, and one a contact-center operator
 * answered), one from an unregistered number, three coming seminars and the tenant's
 * callback template. The calls are in `calls` as the PBX would have reported them; like the rest
 * of the seed they have no change-log entries (the change log starts at 0), and the first sync's
 * snapshot brings them to the apps.
 */
export async function seedCallsForYou(handle: DatabaseHandle, tenant: { id: string; slug: string }, now: Date): Promise<void> {
  const db = branchCallsDb(handle.db);
  const rep = await db.selectFrom('users').select(['id', 'sip_user']).where('tenant_id', '=', tenant.id).where('login', '=', DEMO_REP_LOGIN).executeTakeFirst();
  const admin = await db.selectFrom('users').select('id').where('tenant_id', '=', tenant.id).where('role', '=', 'admin').executeTakeFirst();
  const operator = await db
    .selectFrom('users')
    .select(['id', 'sip_user'])
    .where('tenant_id', '=', tenant.id)
    .where('role', '=', 'agent')
    .where('branch', 'is', null)
    .orderBy('login')
    .executeTakeFirst();
  if (!rep || !admin || !operator) return;
  // The rep's own customers within their authority (class 2 and 3), each with a phone.
  const customers = await db
    .selectFrom('customers as c')
    .innerJoin('customer_phones as p', (join) => join.onRef('p.customer_id', '=', 'c.id').on('p.position', '=', 0))
    .select(['c.id', 'p.e164'])
    .where('c.tenant_id', '=', tenant.id)
    .where('c.assigned_rep_id', '=', rep.id)
    .where('c.classification', '>=', 2)
    .orderBy('c.code')
    .limit(4)
    .execute();
  const calls = [
    ...customers.slice(0, 3).map((customer, index) => ({ customer, hoursAgo: 2 + index * 5, answeredBy: null as { id: string; sip_user: string | null } | null })),
    ...customers.slice(3, 4).map((customer) => ({ customer, hoursAgo: 26, answeredBy: operator })),
    { customer: { id: null, e164: '+819011112222' }, hoursAgo: 4, answeredBy: null },
  ];
  for (const [index, call] of calls.entries()) {
    const startedAt = new Date(now.getTime() - call.hoursAgo * HOUR_MS);
    const answeredAt = call.answeredBy ? new Date(startedAt.getTime() + 15_000).toISOString() : null;
    const endedAt = new Date(startedAt.getTime() + (call.answeredBy ? 180_000 : 30_000)).toISOString();
    const leg = call.answeredBy ?? rep;
    await db
      .insertInto('calls')
      .values({
        id: randomUUID(),
        tenant_id: tenant.id,
        external_id: `demo-branch-call-${index + 1}@${tenant.slug}.tsunagu.localhost`,
        status: 'ended',
        direction: 'inbound',
        agent_id: leg.id,
        from_number: call.customer.e164,
        to_number: leg.sip_user ?? '',
        started_at: startedAt.toISOString(),
        answered_at: answeredAt,
        ended_at: endedAt,
        updated_at: endedAt,
        customer_id: call.customer.id,
        reported_events: call.answeredBy ? ',answered,ended,' : ',missed,',
        pbx_reported: 1,
        call_log_contact_id: null,
      })
      .execute();
  }
  const seminars = [
    { title: '新NISA活用セミナー', days: 7, place: `${DEMO_BRANCH} 3F セミナールーム`, capacity: 20 },
    { title: '相続・贈与の基礎セミナー', days: 14, place: `${DEMO_BRANCH} 3F セミナールーム`, capacity: 12 },
    { title: '債券投資入門（オンライン）', days: 21, place: 'オンライン', capacity: 100 },
  ];
  for (const seminar of seminars) {
    const startsAt = new Date(now.getTime() + seminar.days * 24 * HOUR_MS);
    startsAt.setUTCHours(5, 0, 0, 0);
    await db
      .insertInto('seminars')
      .values({ id: randomUUID(), tenant_id: tenant.id, title: seminar.title, starts_at: startsAt.toISOString(), place: seminar.place, capacity: seminar.capacity, seats_taken: 0, created_at: now.toISOString() })
      .execute();
  }
  await db
    .insertInto('callback_templates')
    .values({ tenant_id: tenant.id, subject: DEFAULT_CALLBACK_TEMPLATE.subject, body: DEFAULT_CALLBACK_TEMPLATE.body, updated_by: admin.id, updated_at: now.toISOString() })
    .execute();
}
