import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_STAFF_API, PortalAdminPage, PortalAdminPageList, PortalMediaUploaded, type PortalPageInput } from '../../../shared/portal.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { listOrders, placeOrder } from './activity.js';
import { listVisiblePages } from './content.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
const WEBM = Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]);

describe.each(DIALECTS)('portal content editing on %s', (dialect) => {
  let backend: TestBackend;
  const tokens = { admin: '', agent: '' };
  const staff = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, body?: unknown) =>
    backend.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const upload = (contentType: string, data: string, token = tokens.admin) => staff('POST', PORTAL_STAFF_API.media, token, { contentType, data });
  const create = async (input: PortalPageInput) => {
    const response = await staff('POST', PORTAL_STAFF_API.pages, tokens.admin, input);
    expect(response.statusCode, response.body).toBe(201);
    return PortalAdminPage.parse(response.json());
  };

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens.admin = await backend.login('admin');
    tokens.agent = await backend.login('agent');
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  it('takes images and a video, and refuses bad uploads with the field named', async () => {
    const image = await upload('image/png', PNG.toString('base64'));
    expect(image.statusCode, image.body).toBe(201);
    const video = await upload('video/webm', WEBM.toString('base64'));
    expect(video.statusCode, video.body).toBe(201);

    const wrongBytes = await upload('image/png', WEBM.toString('base64'));
    expect(wrongBytes.statusCode).toBe(400);
    expect(wrongBytes.json()).toMatchObject({ error: { code: 'invalid_input', message: expect.stringContaining('body.data') } });
    const wrongType = await upload('text/html', Buffer.from('<script>alert(1)</script>').toString('base64'));
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.message).toContain('contentType');
    const empty = await upload('image/png', '');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toContain('data');
    const tooLarge = await upload('video/webm', 'A'.repeat(13 * 1024 * 1024));
    expect([400, 413]).toContain(tooLarge.statusCode);
    expect((await upload('image/png', PNG.toString('base64'), tokens.agent)).statusCode).toBe(403);

    // A page with the video and a hotspot that leads somewhere; a hotspot link must be http(s).
    const videoId = PortalMediaUploaded.parse(video.json()).id;
    const imageId = PortalMediaUploaded.parse(image.json()).id;
    const hotspot = { id: 'fees', label: '手数料', fromSeconds: 2, toSeconds: 6, x: 10, y: 20, width: 30, height: 15, link: 'https://example.jp/fees' };
    const page = await create({ kind: 'page', slug: 'video-page', title: '動画', bodyMarkdown: 'v', imageIds: [imageId], videoId, hotspots: [hotspot] });
    expect(page).toMatchObject({ imageIds: [imageId], videoId, hotspots: [hotspot] });
    const badLink = await staff('POST', PORTAL_STAFF_API.pages, tokens.admin, { kind: 'page', slug: 'bad-link', title: 'x', bodyMarkdown: '', videoId, hotspots: [{ ...hotspot, link: 'javascript:alert(1)' }] });
    expect(badLink.statusCode).toBe(400);
    expect(badLink.json().error.message).toContain('link');
    const imageAsVideo = await staff('POST', PORTAL_STAFF_API.pages, tokens.admin, { kind: 'page', slug: 'bad-video', title: 'x', bodyMarkdown: '', videoId: imageId });
    expect(imageAsVideo.statusCode).toBe(400);
  });

  it('deletes a product for everyone while its orders and activity keep naming it', async () => {
    const tenantId = backend.demo.tenant.id;
    const customerId = backend.demo.customers.yamada.id;
    const product = await create({ kind: 'product', slug: 'fund-z', title: '投資信託 Z', bodyMarkdown: 'z', priceYen: 100 });
    const { order } = await placeOrder(backend.handle, { tenantId, customerId, rank: 1 }, { clientId: randomUUID(), productId: product.id, quantity: 1, note: '' });
    expect((await staff('DELETE', PORTAL_STAFF_API.page.replace(':id', product.id), tokens.agent)).statusCode).toBe(403);

    const deleted = await staff('DELETE', PORTAL_STAFF_API.page.replace(':id', product.id), tokens.admin);
    expect(deleted.statusCode, deleted.body).toBe(200);
    const list = PortalAdminPageList.parse((await staff('GET', PORTAL_STAFF_API.pages, tokens.admin)).json());
    expect(list.pages.map((page) => page.id)).not.toContain(product.id);
    expect((await listVisiblePages(backend.handle.db, tenantId, { id: customerId, rank: 5 })).map((page) => page.id)).not.toContain(product.id);
    // The order, its contact and the audit trail are untouched.
    expect(await listOrders(backend.handle, customerId)).toContainEqual(expect.objectContaining({ id: order.id, productId: product.id, productTitle: '投資信託 Z' }));
    const contact = await backend.handle.db.selectFrom('contacts').select('summary').where('customer_id', '=', customerId).where('summary', 'like', '%投資信託 Z%').execute();
    expect(contact).toHaveLength(1);
    const audit = await backend.handle.db.selectFrom('audit_events').select('details').where('action', '=', 'portal_page_deleted').execute();
    expect(audit.map((row) => JSON.parse(row.details) as unknown)).toEqual([{ pageId: product.id, title: '投資信託 Z' }]);

    // Gone for editing, and its slug is free again.
    expect((await staff('DELETE', PORTAL_STAFF_API.page.replace(':id', product.id), tokens.admin)).statusCode).toBe(404);
    expect((await staff('PUT', PORTAL_STAFF_API.page.replace(':id', product.id), tokens.admin, { kind: 'product', slug: 'fund-z', title: 'again', bodyMarkdown: '' })).statusCode).toBe(404);
    await create({ kind: 'product', slug: 'fund-z', title: '投資信託 Z (新)', bodyMarkdown: 'z2' });
  });
});
