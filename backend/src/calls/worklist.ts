import type { FastifyInstance } from 'fastify';
import { API, type CallbackListResponse, type CallbackTask } from '../../../shared/api.js';
import { maySeeTeamCallbacks } from '../../../shared/permissions.js';
import type { BackendContext } from '../context.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { callsDb } from './schema.js';

const MAX_TASKS = 500;

/**
 * GET callbacks: the callback worklist. A callback is a task from the wrap-up that flagged it
 * until a later call with the customer is logged (calls/callbacks.ts) or it is marked done.
 * Each user sees their own open ones by due time, and the overdue ones of their team
 * (maySeeTeamCallbacks: same branch; supervisors and admins the whole tenant), always only for
 * customers they may see. Anyone who sees a task may call it back: the logged call closes it.
 */
export function registerCallbackWorklistRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = callsDb(ctx.handle.db);

  app.get(API.callbacks, async (request): Promise<CallbackListResponse> => {
    const { user, tenant } = request.auth;
    const now = new Date().toISOString();
    const open = () =>
      db
        .selectFrom('callbacks as b')
        .innerJoin('customers as c', 'c.id', 'b.customer_id')
        .innerJoin('users as u', 'u.id', 'b.flagged_by')
        .select([
          'b.id',
          'b.customer_id',
          'c.name',
          'b.call_id',
          'b.contact_id',
          'b.remote',
          'b.flagged_by',
          'u.display_name',
          'u.branch',
          'b.flagged_at',
          'b.due_at',
        ])
        .where('b.tenant_id', '=', tenant.id)
        .where('b.done_at', 'is', null)
        .where(visibleCustomerSql(user, 'c'));
    const [mine, overdue] = await Promise.all([
      open().where('b.flagged_by', '=', user.id).orderBy('b.due_at').limit(MAX_TASKS).execute(),
      open()
        .where('b.flagged_by', '!=', user.id)
        .where((eb) => eb.or([eb('b.due_at', '<', now), eb('b.due_at', 'is', null)]))
        .orderBy('b.due_at')
        .limit(MAX_TASKS)
        .execute(),
    ]);
    const toTask = (row: (typeof mine)[number]): CallbackTask => {
      const dueAt = row.due_at;
      return {
        id: row.id,
        customerId: row.customer_id,
        customerName: row.name,
        callId: row.call_id,
        contactId: row.contact_id,
        remote: row.remote,
        flaggedBy: row.flagged_by,
        flaggedByName: row.display_name,
        flaggedAt: row.flagged_at,
        dueAt,
        doneAt: null,
        doneReason: null,
        overdue: (dueAt ?? row.flagged_at) < now,
      };
    };
    // Sorted here: SQLite and PostgreSQL put a null due time (as soon as possible) at opposite ends.
    const byDue = (a: CallbackTask, b: CallbackTask) => {
      const [x, y] = [a.dueAt ?? a.flaggedAt, b.dueAt ?? b.flaggedAt];
      return x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : 1;
    };
    return {
      mine: mine.map(toTask).sort(byDue),
      teamOverdue: overdue
        .filter((row) => maySeeTeamCallbacks(user, { branch: row.branch }))
        .map(toTask)
        .sort(byDue),
      now,
    };
  });
}
