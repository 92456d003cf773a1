import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  API,
  CallHistoryQuery,
  type AssigneesResponse,
  type Callback,
  type CallHistoryEntry,
  type CallHistoryResponse,
  type CallOutcome,
} from '../../../shared/api.js';
import { Id } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import type { BackendContext } from '../context.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { toUser } from '../users/users.js';
import { callsDb } from './schema.js';

/** Done callbacks stay in the history this long, so the operator sees them done rather than gone. */
const DONE_CALLBACKS_SHOWN_DAYS = 7;
const MAX_CALLBACKS = 500;

const IdParams = z.object({ id: Id });

function outcomeOf(row: { direction: 'inbound' | 'outbound'; status: string; answered_at: string | null; reported_events: string }): CallOutcome {
  if (row.answered_at !== null) return 'answered';
  if (row.status === 'ringing') return 'ringing';
  if (row.direction === 'outbound') return 'no_answer';
  return row.reported_events.includes(',rejected,') ? 'declined' : 'missed';
}

/**
 * GET callHistory: the user's own legs of calls (every call that rang for them or that they
 * placed, answered or not) with the customer where they may see it, and their callbacks.
 * GET customerAssignees: who an incident of this customer may be assigned to (they can read it).
 */
export function registerCallHistoryRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = callsDb(ctx.handle.db);

  app.get(API.callHistory, async (request): Promise<CallHistoryResponse> => {
    const { limit } = parseRequest(CallHistoryQuery, request.query, 'query');
    const { user, tenant } = request.auth;
    const rows = await db
      .selectFrom('calls')
      .select(['external_id', 'id', 'direction', 'status', 'from_number', 'to_number', 'customer_id', 'started_at', 'answered_at', 'ended_at', 'reported_events'])
      .where('tenant_id', '=', tenant.id)
      .where('agent_id', '=', user.id)
      .orderBy('started_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    const customerIds = [...new Set(rows.flatMap((row) => (row.customer_id ? [row.customer_id] : [])))];
    const names = new Map<string, string>();
    if (customerIds.length > 0) {
      const visible = await db
        .selectFrom('customers as c')
        .select(['c.id', 'c.name'])
        .where('c.tenant_id', '=', tenant.id)
        .where('c.id', 'in', customerIds)
        .where(visibleCustomerSql(user, 'c'))
        .execute();
      for (const row of visible) names.set(row.id, row.name);
    }
    const calls: CallHistoryEntry[] = rows.map((row) => {
      const visibleId = row.customer_id !== null && names.has(row.customer_id) ? row.customer_id : null;
      return {
        callId: row.external_id ?? row.id,
        direction: row.direction,
        outcome: outcomeOf(row),
        remote: row.direction === 'inbound' ? row.from_number : row.to_number,
        customerId: visibleId,
        customerName: visibleId === null ? null : (names.get(visibleId) ?? null),
        startedAt: row.started_at,
        answeredAt: row.answered_at,
        endedAt: row.ended_at,
      };
    });

    const doneSince = new Date(Date.now() - DONE_CALLBACKS_SHOWN_DAYS * 86_400_000).toISOString();
    const callbackRows = await db
      .selectFrom('callbacks as b')
      .innerJoin('customers as c', 'c.id', 'b.customer_id')
      .select(['b.id', 'b.customer_id', 'c.name', 'b.call_id', 'b.contact_id', 'b.remote', 'b.flagged_by', 'b.flagged_at', 'b.due_at', 'b.done_at', 'b.done_reason'])
      .where('b.tenant_id', '=', tenant.id)
      .where('b.flagged_by', '=', user.id)
      .where((eb) => eb.or([eb('b.done_at', 'is', null), eb('b.done_at', '>=', doneSince)]))
      .where(visibleCustomerSql(user, 'c'))
      .orderBy('b.flagged_at', 'desc')
      .limit(MAX_CALLBACKS)
      .execute();
    const callbacks: Callback[] = callbackRows.map((row) => ({
      id: row.id,
      customerId: row.customer_id,
      customerName: row.name,
      callId: row.call_id,
      contactId: row.contact_id,
      remote: row.remote,
      flaggedBy: row.flagged_by,
      flaggedAt: row.flagged_at,
      dueAt: row.due_at,
      doneAt: row.done_at,
      doneReason: row.done_reason,
    }));
    return { calls, callbacks };
  });

  app.get(API.customerAssignees, async (request): Promise<AssigneesResponse> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { user, tenant } = request.auth;
    const customer = await db
      .selectFrom('customers')
      .select(['classification', 'branch'])
      .where('tenant_id', '=', tenant.id)
      .where('id', '=', id)
      .executeTakeFirst();
    const rights = customer ? { classification: customer.classification as 1 | 2 | 3, branch: customer.branch } : null;
    if (!rights || !maySeeCustomer(user, rights)) throw new HttpError('not_found', 'no such customer');
    const users = await db.selectFrom('users').selectAll().where('tenant_id', '=', tenant.id).where('disabled', '=', 0).orderBy('display_name').execute();
    return {
      users: users
        .map(toUser)
        .flatMap((candidate) =>
          candidate.role !== 'partner' && maySeeCustomer(candidate, rights) ? [{ id: candidate.id, displayName: candidate.displayName, role: candidate.role }] : [],
        ),
    };
  });
}
