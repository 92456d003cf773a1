import { z } from 'zod';
import { Id, IsoTime } from './domain.js';
import { plainText } from './portal.js';

/**
 * "Contact my rep" (issue 10 item 5): what a customer asks of their rep from the portal, how it
 * is routed (assigned rep → coverage of the customer's region and the product → tenant fallback),
 * and the admins' coverage table and settings. Backend: backend/src/rep-requests. Portal form:
 * portal/src/ContactRep.tsx. The rep's task is an entry of "calls for you" (key `req:<id>`,
 * shared/calls-for-you.ts `request`), so it syncs, lists and is marked handled like a call.
 */

// ---------------------------------------------------------------------------------------------
// Regions from the postal code
// ---------------------------------------------------------------------------------------------

/** The eight regions of Japan used by the coverage table (Okinawa counts with Kyushu). */
export const JP_REGIONS = ['hokkaido', 'tohoku', 'kanto', 'chubu', 'kinki', 'chugoku', 'shikoku', 'kyushu'] as const;
export const JpRegion = z.enum(JP_REGIONS);
export type JpRegion = z.infer<typeof JpRegion>;

/**
 * Prefecture (JIS X 0401 code) by the first two digits of a JP postal code, and each
 * prefecture's region. Japan Post hands out the first two digits by prefecture; the few
 * three-digit blocks that cross a prefecture border (e.g. 498 Aichi/Mie) are counted with the
 * prefecture that holds most of the two-digit block, which never changes the region except on
 * the Gifu/Shiga and Mie/Nara borders, where the neighbouring region's rep is asked instead.
 */
const PREFECTURE_BY_PREFIX: readonly [from: number, to: number, prefecture: number][] = [
  [0, 0, 1], // 00x Hokkaido (Sapporo)
  [1, 1, 5], // 01x Akita
  [2, 2, 3], // 02x Iwate
  [3, 3, 2], // 03x Aomori
  [4, 9, 1], // 04x–09x Hokkaido
  [10, 20, 13], // Tokyo
  [21, 25, 14], // Kanagawa
  [26, 29, 12], // Chiba
  [30, 31, 8], // Ibaraki
  [32, 32, 9], // Tochigi
  [33, 36, 11], // Saitama
  [37, 37, 10], // Gunma
  [38, 39, 20], // Nagano
  [40, 40, 19], // Yamanashi
  [41, 43, 22], // Shizuoka
  [44, 49, 23], // Aichi
  [50, 50, 21], // Gifu
  [51, 51, 24], // Mie
  [52, 52, 25], // Shiga
  [53, 59, 27], // Osaka
  [60, 62, 26], // Kyoto
  [63, 63, 29], // Nara
  [64, 64, 30], // Wakayama
  [65, 67, 28], // Hyogo
  [68, 68, 31], // Tottori
  [69, 69, 32], // Shimane
  [70, 71, 33], // Okayama
  [72, 73, 34], // Hiroshima
  [74, 75, 35], // Yamaguchi
  [76, 76, 37], // Kagawa
  [77, 77, 36], // Tokushima
  [78, 78, 39], // Kochi
  [79, 79, 38], // Ehime
  [80, 83, 40], // Fukuoka
  [84, 84, 41], // Saga
  [85, 85, 42], // Nagasaki
  [86, 86, 43], // Kumamoto
  [87, 87, 44], // Oita
  [88, 88, 45], // Miyazaki
  [89, 89, 46], // Kagoshima
  [90, 90, 47], // Okinawa
  [91, 91, 18], // Fukui
  [92, 92, 17], // Ishikawa
  [93, 93, 16], // Toyama
  [94, 95, 15], // Niigata
  [96, 97, 7], // Fukushima
  [98, 98, 4], // Miyagi
  [99, 99, 6], // Yamagata
];

/** Region of each prefecture code 1–47 (the usual eight-region division). */
function regionOfPrefecture(prefecture: number): JpRegion {
  if (prefecture === 1) return 'hokkaido';
  if (prefecture <= 7) return 'tohoku';
  if (prefecture <= 14) return 'kanto';
  if (prefecture <= 23) return 'chubu';
  if (prefecture <= 30) return 'kinki';
  if (prefecture <= 35) return 'chugoku';
  if (prefecture <= 39) return 'shikoku';
  return 'kyushu';
}

/** The JIS prefecture code of a JP postal code ("100-0001", "1000001", "〒530-0001"), or null. */
export function prefectureOfPostalCode(postalCode: string): number | null {
  const digits = postalCode.normalize('NFKC').replace(/[〒\s-]/g, '');
  if (!/^\d{7}$/.test(digits)) return null;
  const prefix = Number(digits.slice(0, 2));
  return PREFECTURE_BY_PREFIX.find(([from, to]) => prefix >= from && prefix <= to)?.[2] ?? null;
}

/** The coverage region of a JP postal code, or null when it is not one. */
export function regionOfPostalCode(postalCode: string): JpRegion | null {
  const prefecture = prefectureOfPostalCode(postalCode);
  return prefecture === null ? null : regionOfPrefecture(prefecture);
}

// ---------------------------------------------------------------------------------------------
// Portal: what a customer sends
// ---------------------------------------------------------------------------------------------

export const REP_REQUEST_KINDS = ['contact_rep', 'material', 'address_change'] as const;
export const RepRequestKind = z.enum(REP_REQUEST_KINDS);
export type RepRequestKind = z.infer<typeof RepRequestKind>;

export const PREFERRED_METHODS = ['phone', 'email', 'visit'] as const;
export const PreferredMethod = z.enum(PREFERRED_METHODS);
export const REQUESTED_ACTIONS = ['documents', 'visit', 'call'] as const;
export const RequestedAction = z.enum(REQUESTED_ACTIONS);

const PostalCode = z
  .string()
  .trim()
  .refine((value) => prefectureOfPostalCode(value) !== null, 'must be a Japanese postal code such as 100-0001');

/** POST /portal/:tenant/api/rep-requests. Markup in any text is refused (plainText). */
export const PortalRepRequestInput = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('contact_rep'),
      clientId: z.uuid(),
      productId: Id,
      message: plainText(2000).pipe(z.string().min(1, 'must not be empty')),
      preferredMethod: PreferredMethod,
      preferredTime: plainText(200).default(''),
      requestedAction: RequestedAction,
    })
    .strict(),
  z.object({ kind: z.literal('material'), clientId: z.uuid(), productId: Id, message: plainText(2000).default('') }).strict(),
  z
    .object({
      kind: z.literal('address_change'),
      clientId: z.uuid(),
      postalCode: PostalCode,
      address: plainText(300).pipe(z.string().min(1, 'must not be empty')),
    })
    .strict(),
]);
export type PortalRepRequestInput = z.input<typeof PortalRepRequestInput>;

export const PortalRepRequestResult = z.object({ id: Id, kind: RepRequestKind, createdAt: IsoTime });
export type PortalRepRequestResult = z.infer<typeof PortalRepRequestResult>;

/** The customer's own address, for the address-change form. */
export const PortalAddress = z.object({ postalCode: z.string(), address: z.string() });
export type PortalAddress = z.infer<typeof PortalAddress>;

export const PORTAL_REP_API = {
  /** POST PortalRepRequestInput → PortalRepRequestResult (201; 200 when the clientId was sent before). */
  requests: '/api/rep-requests',
  /** GET → PortalAddress. */
  address: '/api/address',
} as const;

// ---------------------------------------------------------------------------------------------
// The rep's task (carried inside a "calls for you" entry)
// ---------------------------------------------------------------------------------------------

export const ROUTED_BY = ['assigned_rep', 'coverage', 'fallback', 'nobody'] as const;
export const RoutedBy = z.enum(ROUTED_BY);
export type RoutedBy = z.infer<typeof RoutedBy>;

/** What the rep sees of a request: the customer's words and the product's details. */
export const RepRequestDetails = z.object({
  id: Id,
  kind: RepRequestKind,
  routedBy: RoutedBy,
  region: JpRegion.nullable(),
  product: z.object({ id: Id, title: z.string(), slug: z.string(), priceYen: z.number().int().nullable() }).nullable(),
  message: z.string(),
  preferredMethod: PreferredMethod.nullable(),
  preferredTime: z.string(),
  requestedAction: RequestedAction.nullable(),
  /** Address changes: the address before and after (applied to the customer record). */
  address: z.object({ postalCode: z.string(), address: z.string(), previousPostalCode: z.string(), previousAddress: z.string() }).nullable(),
  customerPhone: z.string().nullable(),
  customerEmail: z.string().nullable(),
});
export type RepRequestDetails = z.infer<typeof RepRequestDetails>;

/** A request's key among "calls for you" entries (call keys are SIP Call-IDs or leg ids, never this shape). */
export const REP_REQUEST_KEY_PREFIX = 'req:';
export function repRequestKey(id: string): string {
  return `${REP_REQUEST_KEY_PREFIX}${id}`;
}
export function repRequestIdOfKey(key: string): string | null {
  return key.startsWith(REP_REQUEST_KEY_PREFIX) ? key.slice(REP_REQUEST_KEY_PREFIX.length) : null;
}

/** Where the customer's requests are filed in their incident tree. */
export const REP_REQUESTS_INCIDENT_TITLE = 'Webからのご依頼';

// ---------------------------------------------------------------------------------------------
// Admins: coverage, fallback, manager address, template
// ---------------------------------------------------------------------------------------------

export const REP_MAIL_PLACEHOLDERS = ['repName', 'customerName', 'customerCode', 'request', 'product', 'message', 'preferredMethod', 'preferredTime', 'requestedAction', 'address'] as const;

export const CoverageRow = z.object({ region: JpRegion, productId: Id, repId: Id }).strict();
export type CoverageRow = z.infer<typeof CoverageRow>;

export const RepRoutingInput = z
  .object({
    coverage: z.array(CoverageRow).max(2000),
    fallbackUserId: Id.nullable(),
    infoManagerEmail: z.email().max(320).nullable(),
    mailSubject: z.string().trim().min(1, 'must not be empty').max(300),
    mailBody: z.string().trim().min(1, 'must not be empty').max(10_000),
    /** The address each rep's task e-mails go to (user id → address); users left out have none. */
    repEmails: z.array(z.object({ userId: Id, email: z.email().max(320) }).strict()).max(2000),
  })
  .strict();
export type RepRoutingInput = z.infer<typeof RepRoutingInput>;

export const RepRoutingSettings = RepRoutingInput.extend({
  regions: z.array(JpRegion),
  products: z.array(z.object({ id: Id, title: z.string() })),
  users: z.array(z.object({ id: Id, name: z.string(), branch: z.string().nullable() })),
  placeholders: z.array(z.string()),
  updatedAt: IsoTime.nullable(),
});
export type RepRoutingSettings = z.infer<typeof RepRoutingSettings>;

export const REP_ROUTING_API = {
  /** GET → RepRoutingSettings; PUT RepRoutingInput → RepRoutingSettings (admins). */
  settings: '/api/rep-routing',
} as const;

export const REP_ROUTING_IPC_CHANNELS = {
  /** Admins: the coverage table, fallback user, manager address, rep addresses and mail template. */
  'repRouting:get': { request: z.undefined().or(z.null()).or(z.object({}).strict()), result: RepRoutingSettings },
  'repRouting:save': { request: RepRoutingInput, result: RepRoutingSettings },
} as const;
