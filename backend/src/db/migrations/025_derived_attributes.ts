import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Derived attributes (issue 10 item 8, backend/src/derived): what the job learned about each
// customer from the logs, and per tenant the change-log sequence it has read up to (its
// high-water mark, advanced in the same transaction as the attributes it wrote, so that a run
// killed half-way resumes where the last committed batch ended). Portal pages and products get
// a deletion time: a deleted product stays behind the orders, owned products and web activity
// that name it. Table types: backend/src/derived/schema.ts, backend/src/portal/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('customer_derived')
    // No foreign key: the attributes are rebuilt from the logs and never block a customer's deletion.
    .addColumn('customer_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('computed_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('customer_derived_tenant').on('customer_derived').column('tenant_id').execute();

  await db.schema
    .createTable('derived_job_marks')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('after_seq', 'bigint', (c) => c.notNull())
    // The first run goes over every customer by id (not the change log, which may not reach back
    // to the first contact): the last id done, '' before the first, null once done.
    .addColumn('backfill_after_id', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('portal_pages').addColumn('deleted_at', 'text').execute();
}
