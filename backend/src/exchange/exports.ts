import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { EXPORT_RECORD_LIMIT, type ExchangeFilter, type ExchangePolicy } from '../../../shared/exchange.js';
import { recordAudit } from '../audit.js';
import type { Database } from '../db/schema.js';
import { buildRecords, exportedFields, toCsv } from './build.js';
import { exchangeDb } from './schema.js';

export interface NewExport {
  tenantId: string;
  userId: string;
  title: string;
  filter: ExchangeFilter;
  policy: ExchangePolicy;
}

/**
 * Builds an export and stores it with its audit entry (the route and the demo seed both use
 * this). The content is kept in the database, JSON and CSV, as the partner will download it;
 * the pseudonym key is gone once the records are built.
 */
export async function createExchangeExport(db: Kysely<Database>, spec: NewExport): Promise<{ id: string; createdAt: string; recordCount: number }> {
  const records = await buildRecords(db, spec.tenantId, spec.filter, spec.policy, EXPORT_RECORD_LIMIT + 1);
  const fields = exportedFields(spec.policy);
  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const content = { format: 'tsunagu-exchange/1', title: spec.title, createdAt, filter: spec.filter, policy: spec.policy, fields, records };
  await db.transaction().execute(async (trx) => {
    await exchangeDb(trx)
      .insertInto('exchange_exports')
      .values({
        id,
        tenant_id: spec.tenantId,
        title: spec.title,
        created_by: spec.userId,
        created_at: createdAt,
        filter: JSON.stringify(spec.filter),
        policy: JSON.stringify(spec.policy),
        record_count: records.length,
        content_json: JSON.stringify(content, null, 1),
        content_csv: toCsv(fields, records),
      })
      .execute();
    await recordAudit(trx, {
      tenantId: spec.tenantId,
      userId: spec.userId,
      action: 'exchange_created',
      details: { exportId: id, title: spec.title, records: records.length, filter: spec.filter, policy: spec.policy },
    });
  });
  return { id, createdAt, recordCount: records.length };
}

/** Shares an export with a partner organisation, once; audited the first time. */
export async function shareExchangeExport(db: Kysely<Database>, share: { tenantId: string; userId: string; exportId: string; partnerOrg: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const exchange = exchangeDb(trx);
    const already = await exchange
      .selectFrom('exchange_shares')
      .select('export_id')
      .where('export_id', '=', share.exportId)
      .where('partner_org', '=', share.partnerOrg)
      .executeTakeFirst();
    if (already) return;
    await exchange
      .insertInto('exchange_shares')
      .values({ export_id: share.exportId, tenant_id: share.tenantId, partner_org: share.partnerOrg, shared_by: share.userId, shared_at: new Date().toISOString() })
      .execute();
    await recordAudit(trx, { tenantId: share.tenantId, userId: share.userId, action: 'exchange_shared', details: { exportId: share.exportId, partnerOrg: share.partnerOrg } });
  });
}
