import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { telephonyDb } from './schema.js';

/**
 * A connected inbound call leg of `agentId` with `customerId`, as the app's call events leave it
 * (for tests). Returns the leg's id and its SIP Call-ID (`external_id`).
 */
export async function insertConnectedCall(
  db: Kysely<Database>,
  tenantId: string,
  options: { agentId: string; customerId: string | null; sipCallId?: (id: string) => string },
): Promise<{ id: string; sipCallId: string }> {
  const id = randomUUID();
  const sipCallId = options.sipCallId?.(id) ?? `sip-${id}`;
  const now = new Date().toISOString();
  await telephonyDb(db)
    .insertInto('calls')
    .values({
      id,
      tenant_id: tenantId,
      external_id: sipCallId,
      status: 'connected',
      direction: 'inbound',
      agent_id: options.agentId,
      from_number: '+81312345678',
      to_number: 'agent',
      started_at: now,
      answered_at: now,
      ended_at: null,
      updated_at: now,
      customer_id: options.customerId,
      call_log_contact_id: null,
    })
    .execute();
  return { id, sipCallId };
}
