import { z } from 'zod';
import { Id, IsoTime } from './domain.js';

/**
 * The customer portal (issue 10): its REST contract as the portal page and the staff app use
 * it, and the shape of the web-activity contacts that reach the operators' caches.
 * Backend: backend/src/portal. Portal page: portal/. Staff screens: renderer/src/portal.
 */

/** Ranks 1 (everyone) … 5 (the best customers). A page or product shows to ranks at or above its minimum. */
export const PORTAL_MIN_RANK = 1;
export const PORTAL_MAX_RANK = 5;
export const PortalRank = z.number().int().min(PORTAL_MIN_RANK).max(PORTAL_MAX_RANK);

/** The portal's base path of a tenant: pages at `${base}/`, its API at `${base}/api/…`. */
export function portalBase(tenantSlug: string): string {
  return `/portal/${encodeURIComponent(tenantSlug)}`;
}

/** Routes of the portal's own API, below `/portal/:tenant`. Only a portal session opens them. */
export const PORTAL_API = {
  /** GET → PortalSession (401 without one); DELETE signs out. */
  session: '/api/session',
  /** POST PortalPasswordLogin → PortalSession. */
  login: '/api/login',
  /** POST PortalCodeRequest → 202 (the same answer whether or not the code and address exist). */
  loginCode: '/api/login-code',
  /** POST PortalCodeLogin → PortalSession. */
  loginCodeVerify: '/api/login-code/verify',
  /** POST PortalInvitationAccept → PortalSession: sets the password of an invitation link. */
  invitation: '/api/invitation',
  /** GET → PortalPageList: the pages and products this customer may see. */
  pages: '/api/pages',
  /** GET → PortalPageView (404 for one this customer may not see). */
  page: '/api/pages/:slug',
  /** POST PortalEventBatch → PortalEventBatchResult. */
  events: '/api/events',
  /** GET → PortalOrderList; POST PortalOrderInput → PortalOrder. */
  orders: '/api/orders',
} as const;

/** Staff routes (bearer session) for the portal: a customer's account, and the content admins edit. */
export const PORTAL_STAFF_API = {
  /** GET → CustomerPortalInfo. */
  customer: '/api/customers/:id/portal',
  /** PUT { rank } → CustomerPortalInfo (supervisors and admins). */
  rank: '/api/customers/:id/portal/rank',
  /** POST → PortalInvitation: a link the customer opens to set a password. */
  invitation: '/api/customers/:id/portal/invitation',
  /** GET → PortalAdminPage[]; POST PortalPageInput → PortalAdminPage (admins). */
  pages: '/api/portal/pages',
  /**
   * PUT PortalPageInput → PortalAdminPage (admins). DELETE → { deleted: true } (admins): gone from
   * the portal and the admin list; orders, owned products and web activity keep naming it.
   */
  page: '/api/portal/pages/:id',
  /** POST PortalMediaUpload → { id, url } (admins). */
  media: '/api/portal/media',
} as const;

/** Header carrying the portal session's CSRF token on every request that changes something. */
export const PORTAL_CSRF_HEADER = 'x-csrf-token';

/** Plain text from a customer: markup is refused with a clear error rather than stored. */
const MARKUP = /<\s*[a-z!/?]/i;
export function plainText(max: number) {
  return z
    .string()
    .trim()
    .max(max)
    .refine((value) => !MARKUP.test(value), 'must be plain text (no HTML)');
}

export const CustomerCode = z.string().trim().min(1, 'must not be empty').max(40);
const Password = z.string().min(1, 'must not be empty').max(200);
export const NewPortalPassword = z.string().min(10, 'must be at least 10 characters').max(200);

export const PortalPasswordLogin = z.object({ customerCode: CustomerCode, password: Password }).strict();
export const PortalCodeRequest = z.object({ customerCode: CustomerCode, email: z.email().max(320) }).strict();
export const PortalCodeLogin = z.object({ customerCode: CustomerCode, code: z.string().regex(/^\d{6}$/, 'must be the six digits of the e-mail') }).strict();
export const PortalInvitationAccept = z.object({ token: z.string().min(20).max(100), password: NewPortalPassword }).strict();

export const PortalSession = z.object({
  customer: z.object({ code: z.string(), name: z.string(), rank: PortalRank }),
  tenant: z.object({ slug: z.string(), name: z.string() }),
  /** Sent back in the x-csrf-token header on every POST/PUT/DELETE. */
  csrfToken: z.string(),
  expiresAt: IsoTime,
});
export type PortalSession = z.infer<typeof PortalSession>;

export const PORTAL_PAGE_KINDS = ['page', 'product'] as const;
export const PortalPageKind = z.enum(PORTAL_PAGE_KINDS);
export type PortalPageKind = z.infer<typeof PortalPageKind>;

/** A clickable area of a video, in percent of its frame, shown between two moments. */
export const VideoHotspot = z
  .object({
    id: z.string().trim().min(1).max(40),
    label: z.string().trim().min(1).max(100),
    fromSeconds: z.number().min(0).max(86_400),
    toSeconds: z.number().min(0).max(86_400),
    x: z.number().min(0).max(100),
    y: z.number().min(0).max(100),
    width: z.number().min(1).max(100),
    height: z.number().min(1).max(100),
    /** Where the hotspot leads (http or https), opened in a new tab after the click is recorded; absent: nowhere. */
    link: z
      .url({ protocol: /^https?$/, error: 'must be an http or https address' })
      .max(500)
      .optional(),
  })
  .strict()
  .refine((spot) => spot.toSeconds > spot.fromSeconds, 'toSeconds: must be after fromSeconds');
export type VideoHotspot = z.infer<typeof VideoHotspot>;

export const PortalPageSummary = z.object({
  id: Id,
  kind: PortalPageKind,
  slug: z.string(),
  title: z.string(),
  /** Products only: price in yen, tax included; null: on request. */
  priceYen: z.number().int().nullable(),
});
export type PortalPageSummary = z.infer<typeof PortalPageSummary>;
export const PortalPageList = z.object({ pages: z.array(PortalPageSummary) });

export const PortalPageView = PortalPageSummary.extend({
  /** Sanitised on the backend from the admin's Markdown. */
  bodyHtml: z.string(),
  imageUrls: z.array(z.string()),
  videoUrl: z.string().nullable(),
  hotspots: z.array(VideoHotspot),
  /** Whether the customer already owns this product (products only). */
  owned: z.boolean(),
});
export type PortalPageView = z.infer<typeof PortalPageView>;

const Slug = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and hyphens');

export const PortalPageInput = z
  .object({
    kind: PortalPageKind,
    slug: Slug,
    title: z.string().trim().min(1, 'must not be empty').max(200),
    bodyMarkdown: z.string().max(100_000),
    imageIds: z.array(Id).max(20).default([]),
    videoId: Id.nullable().default(null),
    hotspots: z.array(VideoHotspot).max(30).default([]),
    priceYen: z.number().int().min(0).max(1_000_000_000).nullable().default(null),
    minRank: PortalRank.default(PORTAL_MIN_RANK),
    /** Non-empty: only these customers (by customer code) see the page, rank permitting. */
    onlyCustomerCodes: z.array(CustomerCode).max(500).default([]),
    published: z.boolean().default(true),
  })
  .strict();
export type PortalPageInput = z.input<typeof PortalPageInput>;

export const PortalAdminPage = z.object({
  id: Id,
  kind: PortalPageKind,
  slug: z.string(),
  title: z.string(),
  bodyMarkdown: z.string(),
  imageIds: z.array(Id),
  videoId: Id.nullable(),
  hotspots: z.array(VideoHotspot),
  priceYen: z.number().int().nullable(),
  minRank: PortalRank,
  onlyCustomerCodes: z.array(z.string()),
  published: z.boolean(),
  updatedAt: IsoTime,
});
export type PortalAdminPage = z.infer<typeof PortalAdminPage>;
export const PortalAdminPageList = z.object({ pages: z.array(PortalAdminPage) });

export const PORTAL_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'video/mp4', 'video/webm'] as const;
export const PortalMediaUpload = z
  .object({
    contentType: z.enum(PORTAL_MEDIA_TYPES),
    /** The file, base64. */
    data: z.string().min(1).max(12 * 1024 * 1024),
  })
  .strict();
export const PortalMediaUploaded = z.object({ id: Id, url: z.string() });
export const PortalPageDeleted = z.object({ deleted: z.literal(true) });
/** The largest file an admin may upload (the base64 of it must stay under PortalMediaUpload's limit). */
export const PORTAL_MEDIA_MAX_BYTES = 9 * 1024 * 1024;

/** What the portal page records. Orders are recorded by their own route, not as beacons. */
export const WEB_EVENT_KINDS = ['page_view', 'link_click', 'video_play', 'hotspot_click'] as const;
export const WebEventKind = z.enum(WEB_EVENT_KINDS);
export type WebEventKind = z.infer<typeof WebEventKind>;

export const PORTAL_EVENTS_PER_BATCH = 50;

export const PortalEvent = z
  .object({
    clientId: z.uuid(),
    kind: WebEventKind,
    pageId: Id,
    occurredAt: IsoTime,
    /** A tracked link's address, or a hotspot's id. */
    target: z.string().max(500).nullable().default(null),
    /** Where in the video (video plays, hotspot clicks). */
    positionSeconds: z.number().min(0).max(86_400).nullable().default(null),
  })
  .strict();
export type PortalEvent = z.input<typeof PortalEvent>;
export const PortalEventBatch = z.object({ events: z.array(PortalEvent).min(1).max(PORTAL_EVENTS_PER_BATCH) }).strict();

export const PortalEventBatchResult = z.object({
  accepted: z.number().int(),
  /** Sent before (same clientId): applied once, answered again. */
  duplicates: z.number().int(),
  /** Events about pages this customer cannot see (or that do not exist): dropped, with why. */
  dropped: z.array(z.object({ clientId: z.string(), reason: z.string() })),
});
export type PortalEventBatchResult = z.infer<typeof PortalEventBatchResult>;

export const PortalOrderInput = z
  .object({
    clientId: z.uuid(),
    productId: Id,
    quantity: z.number().int().min(1).max(1000),
    note: plainText(1000).default(''),
  })
  .strict();
export type PortalOrderInput = z.input<typeof PortalOrderInput>;

export const PortalOrder = z.object({
  id: Id,
  productId: Id,
  productTitle: z.string(),
  quantity: z.number().int(),
  note: z.string(),
  createdAt: IsoTime,
  /** Whether the confirmation left for the customer's address. */
  confirmation: z.enum(['pending', 'sent', 'failed', 'no_address']),
});
export type PortalOrder = z.infer<typeof PortalOrder>;
export const PortalOrderList = z.object({ orders: z.array(PortalOrder) });

export const OwnedProduct = z.object({ productId: Id, title: z.string(), quantity: z.number().int(), lastOrderedAt: IsoTime });
export type OwnedProduct = z.infer<typeof OwnedProduct>;

export const CustomerPortalInfo = z.object({
  customerId: Id,
  rank: PortalRank,
  hasPassword: z.boolean(),
  invitationPending: z.boolean(),
  ownedProducts: z.array(OwnedProduct),
});
export type CustomerPortalInfo = z.infer<typeof CustomerPortalInfo>;

export const PortalRankInput = z.object({ rank: PortalRank }).strict();
export const PortalInvitation = z.object({ url: z.string(), expiresAt: IsoTime });
export type PortalInvitation = z.infer<typeof PortalInvitation>;

/** Where web activity and orders are filed in the customer's incident tree. */
export const WEB_ACTIVITY_INCIDENT_TITLE = 'Webアクティビティ';
export const WEB_ORDERS_INCIDENT_TITLE = 'Webでのご注文';

/**
 * The body of a web contact (kind `web`): JSON, so the panel and the pop can say what happened
 * in the operator's language ("viewed 投資信託 A 3 minutes ago"), while the summary stays
 * readable in the incident tree.
 */
export const WebActivityBody = z.object({
  webActivity: z.enum([...WEB_EVENT_KINDS, 'order']),
  pageId: Id,
  title: z.string(),
  target: z.string().nullable().optional(),
  positionSeconds: z.number().nullable().optional(),
  quantity: z.number().int().optional(),
});
export type WebActivityBody = z.infer<typeof WebActivityBody>;

const SUMMARY_VERB: Record<WebActivityBody['webActivity'], string> = {
  page_view: '閲覧',
  link_click: 'リンク',
  video_play: '動画再生',
  hotspot_click: '動画内クリック',
  order: '注文',
};

export function webActivitySummary(body: WebActivityBody): string {
  const quantity = body.quantity !== undefined ? ` ×${body.quantity}` : '';
  return `Web ${SUMMARY_VERB[body.webActivity]}: ${body.title}${quantity}`.slice(0, 300);
}

/** The web activity of a contact body, or null for a contact that is not one. */
export function readWebActivity(body: string): WebActivityBody | null {
  if (!body.startsWith('{')) return null;
  try {
    const parsed = WebActivityBody.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The staff app's channels for the portal (spread into IPC_CHANNELS in ipc.ts; served by
 * electron/core/portal.ts). All online: ranks, invitations and content live on the backend,
 * which enforces who may change them.
 */
export const PORTAL_IPC_CHANNELS = {
  /** A customer's portal account: rank, password set, invitation pending, products owned. */
  'portal:account': { request: z.object({ customerId: Id }), result: CustomerPortalInfo },
  /** Supervisors and admins. */
  'portal:setRank': { request: z.object({ customerId: Id, rank: PortalRank }), result: CustomerPortalInfo },
  /** A new invitation link (replaces an earlier one) the operator sends the customer. */
  'portal:invite': { request: z.object({ customerId: Id }), result: PortalInvitation },
  /** Admins: every page and product of the portal. */
  'portal:pages': { request: z.undefined().or(z.null()).or(z.object({}).strict()), result: PortalAdminPageList },
  /** Admins: a new page (id null) or changes to one. */
  'portal:savePage': { request: z.object({ id: Id.nullable(), page: PortalPageInput }), result: PortalAdminPage },
  /** Admins: deletes a page or product (activity and orders that name it stay). */
  'portal:deletePage': { request: z.object({ id: Id }), result: PortalPageDeleted },
  /** Admins: uploads an image or a video (base64), checked by type and size on the backend. */
  'portal:uploadMedia': { request: PortalMediaUpload, result: PortalMediaUploaded },
} as const;
