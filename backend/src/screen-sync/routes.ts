import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Classification } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import {
  PORTAL_SCREEN_SYNC_API,
  RRWEB_META_EVENT,
  SCREEN_SYNC_API,
  SCREEN_SYNC_CODE_MINUTES,
  SCREEN_SYNC_LIMITS,
  SCREEN_SYNC_MAX_CODE_ATTEMPTS,
  ScreenSyncBatch,
  ScreenSyncFeedQuery,
  ScreenSyncJoin,
  ScreenSyncPointer,
  type PortalScreenShare,
  type ScreenSyncBatchResult,
  type ScreenSyncFeed,
  type ScreenSyncView,
} from '../../../shared/screen-sync.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import type { Database } from '../db/schema.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { codeHash, endSession, loadSession, operatorView, portalShareView, sameCode, screenSyncDb, settle, type ScreenSyncDatabase, type SessionRow } from './store.js';

/**
 * Screen sync's relay (issue 10 item 7). The customer's side runs in the portal's signed-in
 * scope (portal session, CSRF header, same-origin writes); the operator's side in the staff
 * scope. A share is bound to the customer's connected call and that call's operator when the
 * customer presses "share"; the operator binds it to themselves with the six-digit code, which
 * works once, for a few minutes, and is throttled twice over: per operator and address by the
 * login throttle, and per share (five wrong codes end it). Events are stored per share only
 * since the latest full snapshot, so any backend instance serves them; nothing lives in memory.
 */

const IdParams = z.object({ id: z.string().min(1).max(64) });
const CODE_REFUSED = 'code: wrong or expired code; ask the customer to read it again or to share anew';
/** Batches one feed read returns at most; the app reads again at once when it got this many. */
const FEED_MAX_BATCHES = 200;

/** rrweb's Meta event opens every full snapshot (record's start and each checkout). */
function startsFullSnapshot(events: readonly { type: number }[]): boolean {
  return events.some((event) => event.type === RRWEB_META_EVENT);
}

function auditDb(db: Kysely<ScreenSyncDatabase>): Kysely<Database> {
  return db as unknown as Kysely<Database>;
}

/** The customer's routes, registered by registerPortalRoutes inside its signed-in scope. */
export function registerPortalScreenSyncRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = screenSyncDb(ctx.handle.db);
  const base = '/portal/:tenant';

  const ownShare = async (tenantId: string, customerId: string, id: string): Promise<SessionRow> => {
    const row = await loadSession(db, tenantId, id);
    if (!row || row.customer_id !== customerId) throw new HttpError('not_found', 'no such screen share');
    return settle(db, row);
  };

  app.post(`${base}${PORTAL_SCREEN_SYNC_API.shares}`, async (request, reply): Promise<PortalScreenShare> => {
    const { tenantId, customerId } = request.portal;
    const call = await db
      .selectFrom('calls')
      .select(['id', 'agent_id'])
      .where('tenant_id', '=', tenantId)
      .where('customer_id', '=', customerId)
      .where('status', '=', 'connected')
      .where('agent_id', 'is not', null)
      .orderBy('answered_at', 'desc')
      .executeTakeFirst();
    if (!call || call.agent_id === null) {
      throw new HttpError('conflict', 'screen sync works during a call with an operator: no call of yours is connected');
    }
    // One share per customer at a time: an earlier one (another tab, a lost code) ends here.
    const earlier = await db.selectFrom('screen_sync_sessions').select('id').where('customer_id', '=', customerId).where('state', '!=', 'ended').execute();
    for (const { id } of earlier) {
      const row = await loadSession(db, tenantId, id);
      if (row) await endSession(db, row, 'replaced', null);
    }
    const id = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const now = new Date();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('screen_sync_sessions')
        .values({
          id,
          tenant_id: tenantId,
          customer_id: customerId,
          call_id: call.id,
          agent_id: call.agent_id!,
          code_hash: codeHash(id, code),
          code_attempts: 0,
          state: 'pending',
          end_reason: null,
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + SCREEN_SYNC_CODE_MINUTES * 60_000).toISOString(),
          started_at: null,
          ended_at: null,
          highlight: null,
          window_started_at: now.toISOString(),
          window_batches: 0,
          stored_bytes: 0,
        })
        .execute();
      await recordAudit(auditDb(trx), {
        tenantId,
        userId: null,
        action: 'screen_sync_offered',
        customerId,
        details: { sessionId: id, callId: call.id, agentId: call.agent_id, ip: request.ip },
      });
    });
    const row = await loadSession(db, tenantId, id);
    return reply.status(201).send(portalShareView(row!, code));
  });

  app.get(`${base}${PORTAL_SCREEN_SYNC_API.share}`, async (request): Promise<PortalScreenShare> => {
    const { id } = parseRequest(IdParams.extend({ tenant: z.string() }), request.params, 'params');
    return portalShareView(await ownShare(request.portal.tenantId, request.portal.customerId, id));
  });

  app.post(`${base}${PORTAL_SCREEN_SYNC_API.stop}`, async (request): Promise<PortalScreenShare> => {
    const { id } = parseRequest(IdParams.extend({ tenant: z.string() }), request.params, 'params');
    const row = await ownShare(request.portal.tenantId, request.portal.customerId, id);
    return portalShareView(await endSession(db, row, 'customer_stopped', null));
  });

  app.post(`${base}${PORTAL_SCREEN_SYNC_API.events}`, async (request, reply): Promise<ScreenSyncBatchResult> => {
    const { id } = parseRequest(IdParams.extend({ tenant: z.string() }), request.params, 'params');
    const row = await ownShare(request.portal.tenantId, request.portal.customerId, id);
    if (row.state !== 'active') throw new HttpError('conflict', `the screen share is ${row.state}${row.end_reason ? ` (${row.end_reason})` : ''}: events are relayed only while the operator watches`);
    const batch = parseRequest(ScreenSyncBatch, request.body, 'body');
    const events = JSON.stringify(batch.events);
    const bytes = Buffer.byteLength(events);
    const checkout = startsFullSnapshot(batch.events);
    const now = new Date();
    const stored = await db.transaction().execute(async (trx) => {
      const current = await (ctx.handle.dialect === 'postgres'
        ? trx.selectFrom('screen_sync_sessions').selectAll().where('id', '=', id).forUpdate()
        : trx.selectFrom('screen_sync_sessions').selectAll().where('id', '=', id)
      ).executeTakeFirstOrThrow();
      const windowOver = Date.parse(current.window_started_at) + SCREEN_SYNC_LIMITS.windowSeconds * 1000 <= now.getTime();
      const batches = (windowOver ? 0 : current.window_batches) + 1;
      if (batches > SCREEN_SYNC_LIMITS.batchesPerWindow) {
        throw new HttpError('rate_limited', `events: more than ${SCREEN_SYNC_LIMITS.batchesPerWindow} batches in ${SCREEN_SYNC_LIMITS.windowSeconds} s`, SCREEN_SYNC_LIMITS.windowSeconds);
      }
      const storedBytes = (checkout ? 0 : current.stored_bytes) + bytes;
      if (storedBytes > SCREEN_SYNC_LIMITS.storedBytes) {
        throw new HttpError('invalid_input', `events: more than ${SCREEN_SYNC_LIMITS.storedBytes} bytes since the last full snapshot; take a new one`);
      }
      const inserted = await trx
        .insertInto('screen_sync_batches')
        .values({ session_id: id, seq: batch.seq, checkout: checkout ? 1 : 0, bytes, events, received_at: now.toISOString() })
        .onConflict((oc) => oc.columns(['session_id', 'seq']).doNothing())
        .returning('seq')
        .executeTakeFirst();
      const isNew = inserted !== undefined;
      if (isNew && checkout) await trx.deleteFrom('screen_sync_batches').where('session_id', '=', id).where('seq', '<', batch.seq).execute();
      await trx
        .updateTable('screen_sync_sessions')
        .set({
          window_started_at: windowOver ? now.toISOString() : current.window_started_at,
          window_batches: batches,
          stored_bytes: isNew ? storedBytes : current.stored_bytes,
        })
        .where('id', '=', id)
        .execute();
      return isNew;
    });
    return reply.status(stored ? 201 : 200).send({ stored, state: 'active' });
  });
}

/** The operator's routes (staff scope). */
export function registerScreenSyncRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = screenSyncDb(ctx.handle.db);

  /** A share bound to this operator; any other share is "not found" (its existence is not told). */
  const operatorShare = async (tenantId: string, userId: string, id: string): Promise<SessionRow> => {
    const row = await loadSession(db, tenantId, id);
    if (!row || row.agent_id !== userId || row.started_at === null) throw new HttpError('not_found', 'no such screen share of yours');
    return settle(db, row);
  };

  app.post(SCREEN_SYNC_API.join, async (request): Promise<ScreenSyncView> => {
    const { user, tenant } = request.auth;
    const body = parseRequest(ScreenSyncJoin, request.body, 'body');
    const keys = { account: `screen-sync:${tenant.id}:${user.id}`, address: `screen-sync-address:${request.ip}` };
    const admission = await ctx.throttle.admit(keys);
    if (!admission.admitted) {
      throw new HttpError('rate_limited', `code: too many wrong codes; try again in ${admission.retryAfterSeconds} s`, admission.retryAfterSeconds);
    }
    const call = await db
      .selectFrom('calls as k')
      .leftJoin('customers as c', 'c.id', 'k.customer_id')
      .select(['k.id', 'k.status', 'k.customer_id', 'c.classification', 'c.branch'])
      .where('k.tenant_id', '=', tenant.id)
      .where('k.external_id', '=', body.sipCallId)
      .where('k.agent_id', '=', user.id)
      .orderBy('k.started_at', 'desc')
      .executeTakeFirst();
    if (!call) throw new HttpError('not_found', 'sipCallId: no call of yours with this Call-ID');
    if (call.status !== 'connected') throw new HttpError('conflict', 'sipCallId: the call is not connected');
    if (call.customer_id !== null && call.classification !== null && !maySeeCustomer(user, { classification: call.classification as Classification, branch: call.branch })) {
      throw new HttpError('forbidden', 'you may not see this customer’s record, nor their screen');
    }
    const pendingId = await db
      .selectFrom('screen_sync_sessions')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .where('call_id', '=', call.id)
      .where('agent_id', '=', user.id)
      .where('state', '=', 'pending')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    const pending = pendingId ? await settle(db, (await loadSession(db, tenant.id, pendingId.id))!) : undefined;
    const refuse = async (sessionId: string | null, customerId: string | null) => {
      await recordAudit(ctx.handle.db, { tenantId: tenant.id, userId: user.id, action: 'screen_sync_code_refused', customerId, details: { sessionId, callId: call.id, ip: request.ip } });
      return new HttpError('forbidden', CODE_REFUSED);
    };
    if (!pending || pending.state !== 'pending') throw await refuse(pending?.id ?? null, call.customer_id);
    if (!sameCode(pending.code_hash, pending.id, body.code)) {
      // Important: counted in the database (one atomic increment), not read-then-written: wrong
      // codes sent at once on several connections must each count, or a script that guesses in
      // parallel would never reach the lock.
      const counted = await db
        .updateTable('screen_sync_sessions')
        .set((eb) => ({ code_attempts: eb('code_attempts', '+', 1) }))
        .where('id', '=', pending.id)
        .returning('code_attempts')
        .executeTakeFirst();
      const attempts = counted?.code_attempts ?? pending.code_attempts + 1;
      if (attempts >= SCREEN_SYNC_MAX_CODE_ATTEMPTS) await endSession(db, { ...pending, code_attempts: attempts }, 'locked', user.id);
      throw await refuse(pending.id, pending.customer_id);
    }
    const now = new Date().toISOString();
    const joined = await db
      .updateTable('screen_sync_sessions')
      .set({ state: 'active', started_at: now, code_hash: '', window_started_at: now, window_batches: 0 })
      .where('id', '=', pending.id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    // Single use: of two racing joins with the right code, one wins.
    if (Number(joined.numUpdatedRows) !== 1) throw await refuse(pending.id, pending.customer_id);
    await ctx.throttle.succeeded(keys);
    await recordAudit(ctx.handle.db, { tenantId: tenant.id, userId: user.id, action: 'screen_sync_joined', customerId: pending.customer_id, details: { sessionId: pending.id, callId: call.id } });
    return operatorView((await loadSession(db, tenant.id, pending.id))!);
  });

  app.get(SCREEN_SYNC_API.feed, async (request): Promise<ScreenSyncFeed> => {
    const { user, tenant } = request.auth;
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { after } = parseRequest(ScreenSyncFeedQuery, request.query, 'query');
    const row = await operatorShare(tenant.id, user.id, id);
    if (row.state !== 'active') return { session: operatorView(row), reset: false, batches: [] };
    const checkout = await db
      .selectFrom('screen_sync_batches')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('session_id', '=', id)
      .where('checkout', '=', 1)
      .executeTakeFirst();
    const from = checkout?.seq ?? null;
    const reset = from !== null && after < Number(from);
    const rows = await db
      .selectFrom('screen_sync_batches')
      .select(['seq', 'events'])
      .where('session_id', '=', id)
      .where('seq', reset ? '>=' : '>', reset ? Number(from) : after)
      .orderBy('seq')
      .limit(FEED_MAX_BATCHES)
      .execute();
    return {
      session: operatorView(row),
      reset,
      batches: rows.map((batch) => ({ seq: Number(batch.seq), events: JSON.parse(batch.events) as ScreenSyncFeed['batches'][number]['events'] })),
    };
  });

  app.post(SCREEN_SYNC_API.highlight, async (request): Promise<ScreenSyncView> => {
    const { user, tenant } = request.auth;
    const { id } = parseRequest(IdParams, request.params, 'params');
    const pointer = parseRequest(ScreenSyncPointer, request.body, 'body');
    const row = await operatorShare(tenant.id, user.id, id);
    if (row.state !== 'active') throw new HttpError('conflict', `the screen share has ended (${row.end_reason ?? 'ended'})`);
    const previous = row.highlight === null ? 0 : (JSON.parse(row.highlight) as { seq?: number }).seq ?? 0;
    const highlight = { ...pointer, seq: previous + 1, at: new Date().toISOString() };
    await db.updateTable('screen_sync_sessions').set({ highlight: JSON.stringify(highlight) }).where('id', '=', id).where('state', '=', 'active').execute();
    return operatorView(row);
  });

  app.post(SCREEN_SYNC_API.stop, async (request): Promise<ScreenSyncView> => {
    const { user, tenant } = request.auth;
    const { id } = parseRequest(IdParams, request.params, 'params');
    const row = await operatorShare(tenant.id, user.id, id);
    return operatorView(await endSession(db, row, 'operator_stopped', user.id));
  });
}
