import { randomUUID } from 'node:crypto';
import { marked } from 'marked';
import { sql, type Kysely, type Selectable } from 'kysely';
import {
  PortalPageInput,
  type PortalAdminPage,
  type PortalPageSummary,
  type PortalPageView,
  type VideoHotspot,
} from '../../../shared/portal.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { sanitizeMailHtml } from '../mail/sanitize.js';
import { isUniqueViolation } from '../customers/writes.js';
import { portalDb, type PortalPagesTable } from './schema.js';
import type { z } from 'zod';

type PageRow = Selectable<PortalPagesTable>;

/**
 * Which pages a customer sees: published, of a minimum rank at or below theirs, and, for a page
 * limited to named customers, only when they are one. Every portal read goes through this
 * condition, and a page outside it answers 404 like one that does not exist.
 */
export function visiblePagesQuery(db: Kysely<Database>, tenantId: string, customer: { id: string; rank: number }) {
  return portalDb(db)
    .selectFrom('portal_pages as p')
    .where('p.tenant_id', '=', tenantId)
    .where('p.deleted_at', 'is', null)
    .where('p.published', '=', 1)
    .where('p.min_rank', '<=', customer.rank)
    .where((eb) =>
      eb.or([
        eb('p.restricted', '=', 0),
        eb.exists(
          eb
            .selectFrom('portal_page_customers as pc')
            .select(sql`1`.as('one'))
            .whereRef('pc.page_id', '=', 'p.id')
            .where('pc.customer_id', '=', customer.id),
        ),
      ]),
    );
}

export function mediaUrl(tenantSlug: string, mediaId: string): string {
  return `/portal/${encodeURIComponent(tenantSlug)}/media/${encodeURIComponent(mediaId)}`;
}

function summaryOf(row: Pick<PageRow, 'id' | 'kind' | 'slug' | 'title' | 'price_yen'>): PortalPageSummary {
  return { id: row.id, kind: row.kind, slug: row.slug, title: row.title, priceYen: row.price_yen };
}

export function pageView(row: PageRow, tenantSlug: string, owned: boolean): PortalPageView {
  return {
    ...summaryOf(row),
    bodyHtml: row.body_html,
    imageUrls: (JSON.parse(row.image_ids) as string[]).map((id) => mediaUrl(tenantSlug, id)),
    videoUrl: row.video_id === null ? null : mediaUrl(tenantSlug, row.video_id),
    hotspots: JSON.parse(row.hotspots) as VideoHotspot[],
    owned,
  };
}

export async function listVisiblePages(db: Kysely<Database>, tenantId: string, customer: { id: string; rank: number }): Promise<PortalPageSummary[]> {
  const rows = await visiblePagesQuery(db, tenantId, customer)
    .select(['p.id', 'p.kind', 'p.slug', 'p.title', 'p.price_yen'])
    .orderBy('p.kind')
    .orderBy('p.title')
    .execute();
  return rows.map(summaryOf);
}

/** Markdown of an admin, as HTML the portal may insert: rendered, then sanitised like inbound mail. */
export function renderPageBody(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return sanitizeMailHtml(html);
}

async function adminPage(db: Kysely<Database>, row: PageRow): Promise<PortalAdminPage> {
  const only = await portalDb(db)
    .selectFrom('portal_page_customers as pc')
    .innerJoin('customers as c', 'c.id', 'pc.customer_id')
    .select('c.code')
    .where('pc.page_id', '=', row.id)
    .orderBy('c.code')
    .execute();
  return {
    id: row.id,
    kind: row.kind,
    slug: row.slug,
    title: row.title,
    bodyMarkdown: row.body_markdown,
    imageIds: JSON.parse(row.image_ids) as string[],
    videoId: row.video_id,
    hotspots: JSON.parse(row.hotspots) as VideoHotspot[],
    priceYen: row.price_yen,
    minRank: row.min_rank,
    onlyCustomerCodes: only.map((entry) => entry.code),
    published: row.published === 1,
    updatedAt: row.updated_at,
  };
}

export async function listAdminPages(db: Kysely<Database>, tenantId: string): Promise<PortalAdminPage[]> {
  const rows = await portalDb(db).selectFrom('portal_pages').selectAll().where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).orderBy('kind').orderBy('title').execute();
  return Promise.all(rows.map((row) => adminPage(db, row)));
}

/** Creates (id null) or replaces a page; names the field that is wrong (unknown media, unknown customer code, taken slug). */
export async function savePage(db: Kysely<Database>, tenantId: string, id: string | null, input: z.infer<typeof PortalPageInput>): Promise<PortalAdminPage> {
  const pdb = portalDb(db);
  const mediaIds = [...input.imageIds, ...(input.videoId ? [input.videoId] : [])];
  if (mediaIds.length > 0) {
    const found = await pdb.selectFrom('portal_media').select(['id', 'content_type']).where('tenant_id', '=', tenantId).where('id', 'in', mediaIds).execute();
    const typeOf = new Map(found.map((media) => [media.id, media.content_type]));
    const badImage = input.imageIds.find((mediaId) => !typeOf.get(mediaId)?.startsWith('image/'));
    if (badImage) throw new HttpError('invalid_input', `body.imageIds: ${badImage} is not an uploaded image`);
    if (input.videoId && !typeOf.get(input.videoId)?.startsWith('video/')) throw new HttpError('invalid_input', 'body.videoId: not an uploaded video');
  }
  const customers = input.onlyCustomerCodes.length
    ? await db.selectFrom('customers').select(['id', 'code']).where('tenant_id', '=', tenantId).where('code', 'in', input.onlyCustomerCodes).execute()
    : [];
  const unknown = input.onlyCustomerCodes.filter((code) => !customers.some((customer) => customer.code === code));
  if (unknown.length > 0) throw new HttpError('invalid_input', `body.onlyCustomerCodes: no customer ${unknown.join(', ')}`);
  const now = new Date().toISOString();
  const values = {
    kind: input.kind,
    slug: input.slug,
    title: input.title,
    body_markdown: input.bodyMarkdown,
    body_html: renderPageBody(input.bodyMarkdown),
    image_ids: JSON.stringify(input.imageIds),
    video_id: input.videoId,
    hotspots: JSON.stringify(input.hotspots),
    price_yen: input.priceYen,
    min_rank: input.minRank,
    restricted: customers.length > 0 ? 1 : 0,
    published: input.published ? 1 : 0,
    updated_at: now,
  };
  const pageId = id ?? randomUUID();
  try {
    await db.transaction().execute(async (trx) => {
      const ptrx = portalDb(trx);
      if (id === null) {
        await ptrx.insertInto('portal_pages').values({ id: pageId, tenant_id: tenantId, created_at: now, ...values }).execute();
      } else {
        const updated = await ptrx.updateTable('portal_pages').set(values).where('tenant_id', '=', tenantId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) throw new HttpError('not_found', 'no such page');
        await ptrx.deleteFrom('portal_page_customers').where('page_id', '=', id).execute();
      }
      for (const customer of customers) {
        await ptrx.insertInto('portal_page_customers').values({ page_id: pageId, customer_id: customer.id, tenant_id: tenantId }).execute();
      }
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new HttpError('conflict', `body.slug: another page already uses "${input.slug}"`);
    throw error;
  }
  const row = await pdb.selectFrom('portal_pages').selectAll().where('id', '=', pageId).executeTakeFirstOrThrow();
  return adminPage(db, row);
}

/**
 * Deletes a page or product for everyone: it leaves the portal and the admin list, its slug is
 * free again, and the named-customer list goes. The row itself stays (marked deleted): orders,
 * owned products and web-activity contacts that name it keep their product and title.
 */
export async function deletePage(db: Kysely<Database>, tenantId: string, id: string): Promise<{ title: string }> {
  return db.transaction().execute(async (trx) => {
    const ptrx = portalDb(trx);
    const page = await ptrx.selectFrom('portal_pages').select(['slug', 'title']).where('tenant_id', '=', tenantId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    if (!page) throw new HttpError('not_found', 'no such page');
    const now = new Date().toISOString();
    await ptrx
      .updateTable('portal_pages')
      .set({ deleted_at: now, published: 0, slug: `${page.slug.slice(0, 40)}--deleted-${id}`.slice(0, 120), updated_at: now })
      .where('id', '=', id)
      .execute();
    await ptrx.deleteFrom('portal_page_customers').where('page_id', '=', id).execute();
    return { title: page.title };
  });
}

const MAGIC: Record<string, (bytes: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/webp': (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  'video/mp4': (b) => b.subarray(4, 8).toString('latin1') === 'ftyp',
  'video/webm': (b) => b.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])),
};

/** An uploaded image or video: its bytes must be what its type says (served with that type and nosniff). */
export async function storeMedia(db: Kysely<Database>, tenantId: string, contentType: string, base64: string): Promise<string> {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0 || !MAGIC[contentType]?.(bytes)) throw new HttpError('invalid_input', `body.data: not a ${contentType} file`);
  const id = randomUUID();
  await portalDb(db).insertInto('portal_media').values({ id, tenant_id: tenantId, content_type: contentType, bytes, created_at: new Date().toISOString() }).execute();
  return id;
}
