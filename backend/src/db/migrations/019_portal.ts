import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// The customer portal (issue 10): customers' portal accounts (rank, password, invitation),
// portal sessions (never valid on the staff API: a table of their own), one-time sign-in
// codes, the pages and products admins edit with their media, per-customer page access, web
// activity received (the idempotency record of beacons), orders and the products a customer
// owns. Table types: backend/src/portal/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('portal_accounts')
    .addColumn('customer_id', 'text', (c) => c.primaryKey().references('customers.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('rank', 'integer', (c) => c.notNull().defaultTo(1).check(sql`rank between 1 and 5`))
    .addColumn('password_hash', 'text')
    .addColumn('invitation_hash', 'text')
    .addColumn('invitation_expires_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('portal_accounts_invitation').on('portal_accounts').column('invitation_hash').execute();

  await db.schema
    .createTable('portal_sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('portal_sessions_customer').on('portal_sessions').column('customer_id').execute();

  await db.schema
    .createTable('portal_login_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('portal_login_codes_customer').on('portal_login_codes').columns(['customer_id', 'created_at']).execute();

  await db.schema
    .createTable('portal_media')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('bytes', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('portal_pages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('page', 'product')`))
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body_markdown', 'text', (c) => c.notNull())
    .addColumn('body_html', 'text', (c) => c.notNull())
    .addColumn('image_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('video_id', 'text', (c) => c.references('portal_media.id'))
    .addColumn('hotspots', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('price_yen', 'integer')
    .addColumn('min_rank', 'integer', (c) => c.notNull().defaultTo(1).check(sql`min_rank between 1 and 5`))
    .addColumn('restricted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('published', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('portal_pages_slug', ['tenant_id', 'slug'])
    .execute();

  await db.schema
    .createTable('portal_page_customers')
    .addColumn('page_id', 'text', (c) => c.notNull().references('portal_pages.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addPrimaryKeyConstraint('portal_page_customers_pk', ['page_id', 'customer_id'])
    .execute();

  await db.schema
    .createTable('portal_events')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('page_id', 'text', (c) => c.notNull())
    // Null once the retention limit removed the contact (the row stays as the idempotency record until it ages out too).
    .addColumn('contact_id', 'text')
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('portal_events_pk', ['tenant_id', 'customer_id', 'client_id'])
    .execute();
  await db.schema.createIndex('portal_events_received').on('portal_events').columns(['customer_id', 'received_at']).execute();

  await db.schema
    .createTable('portal_orders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull().references('portal_pages.id'))
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('contact_id', 'text', (c) => c.notNull())
    .addColumn('confirmation', 'text', (c) => c.notNull().check(sql`confirmation in ('pending', 'sent', 'failed', 'no_address')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('portal_orders_client', ['tenant_id', 'customer_id', 'client_id'])
    .execute();

  await db.schema
    .createTable('customer_products')
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('portal_pages.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('first_ordered_at', 'text', (c) => c.notNull())
    .addColumn('last_ordered_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('customer_products_pk', ['customer_id', 'product_id'])
    .execute();
}
