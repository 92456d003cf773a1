import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// "Contact my rep" (issue 10 item 5): what customers ask of their rep from the portal (contact
// my rep, material for a product they do not own, an address change), each routed to one rep
// and listed in that rep's "calls for you" (change-log entity `branch_call`, key `req:<id>`);
// the coverage table regions × products → rep; the tenant's routing settings (fallback user,
// customer-information manager address, the rep's e-mail template); the reps' notification
// addresses. Table types: backend/src/rep-requests/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('rep_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('contact_rep', 'material', 'address_change')`))
    .addColumn('product_id', 'text', (c) => c.references('portal_pages.id'))
    // The request as the customer sent it (shared/rep-requests.ts RepRequestDetails), JSON.
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('routed_to', 'text', (c) => c.references('users.id'))
    .addColumn('routed_by', 'text', (c) => c.notNull().check(sql`routed_by in ('assigned_rep', 'coverage', 'fallback', 'nobody')`))
    .addColumn('region', 'text')
    .addColumn('mail_status', 'text', (c) => c.notNull().check(sql`mail_status in ('pending', 'sent', 'failed', 'no_address')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('rep_requests_client', ['tenant_id', 'customer_id', 'client_id'])
    .execute();
  await db.schema.createIndex('rep_requests_tenant_created').on('rep_requests').columns(['tenant_id', 'created_at']).execute();
  await db.schema.createIndex('rep_requests_customer').on('rep_requests').columns(['tenant_id', 'customer_id', 'created_at']).execute();

  await db.schema
    .createTable('rep_coverage')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull().references('portal_pages.id'))
    .addColumn('rep_id', 'text', (c) => c.notNull().references('users.id'))
    .addPrimaryKeyConstraint('rep_coverage_pk', ['tenant_id', 'region', 'product_id'])
    .execute();

  await db.schema
    .createTable('rep_routing_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('fallback_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('info_manager_email', 'text')
    .addColumn('mail_subject', 'text', (c) => c.notNull())
    .addColumn('mail_body', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rep_mail_addresses')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('email', 'text', (c) => c.notNull())
    .execute();
}
