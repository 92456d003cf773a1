import type { Kysely } from 'kysely';
import type { AuditAction } from '../../shared/domain.js';
import type { Database } from './db/schema.js';

export interface AuditEvent {
  tenantId: string;
  userId: string | null;
  action: AuditAction;
  customerId?: string | null;
  /** Action-specific facts; never secrets (no passwords, no tokens). */
  details?: Record<string, unknown>;
  /** When it happened, if not now: a view made offline is recorded at the time of the view. */
  at?: string;
}

/**
 * Appends one audit event. Pass the transaction of the write being audited so that the event
 * and the write commit or roll back together.
 */
export async function recordAudit(db: Kysely<Database>, event: AuditEvent): Promise<void> {
  await db.insertInto('audit_events').values(auditRow(event)).execute();
}

/** The audit_events row of an event (also written by the one-statement note of sync/push.ts). */
export function auditRow(event: AuditEvent) {
  return {
    tenant_id: event.tenantId,
    user_id: event.userId,
    action: event.action,
    customer_id: event.customerId ?? null,
    details: JSON.stringify(event.details ?? {}),
    at: event.at === undefined ? new Date().toISOString() : new Date(event.at).toISOString(),
  };
}
