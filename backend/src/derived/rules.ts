import {
  DAY_PARTS,
  DERIVED_CHANNELS,
  type ContactKind,
  type CustomerType,
  type DayPart,
  type DerivedAttributes,
  type DerivedChannel,
  type Direction,
} from '../../../shared/domain.js';
import { readWebActivity, type WebActivityBody } from '../../../shared/portal.js';

/**
 * The rules of the derived attributes, as pure functions of a customer's stored history (the
 * job in job.ts loads it and writes the result). docs/derived-attributes.md explains them; keep
 * the two in step. Nothing here reads the clock: the same history always gives the same
 * attributes, which is what makes a rerun of the job a no-op.
 */

export interface HistoryContact {
  kind: ContactKind;
  direction: Direction;
  occurredAt: string;
  /** Web contacts only (the WebActivityBody JSON); other kinds need not load theirs. */
  body: string | null;
}

export interface HistoryOrder {
  productId: string;
  title: string;
  createdAt: string;
}

export interface CustomerHistory {
  type: CustomerType;
  contacts: readonly HistoryContact[];
  orders: readonly HistoryOrder[];
  /** Which page ids are catalogue products (deleted ones included). */
  productIds: ReadonlySet<string>;
  /** The promotion an earlier run recorded (in the audit log): kept, since the customer's type no longer shows it. */
  previousPromotion: DerivedAttributes['promotion'];
}

export type DerivedValues = Omit<DerivedAttributes, 'computedAt'>;

/** Interest points per web action on a product page, and per order of it. */
export const INTEREST_POINTS: Record<WebActivityBody['webActivity'], number> = {
  page_view: 1,
  link_click: 1,
  video_play: 2,
  hotspot_click: 3,
  order: 5,
};
export const PRODUCTS_OF_INTEREST = 5;
/** Types that become `existing` with a first order; dealers and agencies keep theirs. */
export const PROMOTED_TYPES: readonly CustomerType[] = ['new', 'prospect'];
const MIN_CONTACTS_FOR_DAY_PART = 2;

export function dayPartOf(time: string, timeZone: string): DayPart {
  const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(new Date(time)));
  if (hour >= 6 && hour < 12) return 'morning';
  if (hour >= 12 && hour < 17) return 'afternoon';
  if (hour >= 17 && hour < 21) return 'evening';
  return 'night';
}

function localDate(time: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(time));
}

/** A contact's channel; null for internal notes and internal contacts, and for order contacts (orders count from the orders). */
function channelOf(contact: HistoryContact, web: WebActivityBody | null): DerivedChannel | null {
  if (contact.kind === 'note' || contact.direction === 'internal') return null;
  if (contact.kind === 'web') return web?.webActivity === 'order' ? null : 'web';
  return contact.kind;
}

/** The key with the highest count; ties go to the latest `latest`, then to the order of `order`. */
function strongest<K extends string>(counts: Map<K, number>, latest: Map<K, string>, order: readonly K[]): K | null {
  let best: K | null = null;
  for (const key of order) {
    const count = counts.get(key) ?? 0;
    if (count === 0) continue;
    if (best === null) {
      best = key;
      continue;
    }
    const bestCount = counts.get(best) ?? 0;
    if (count > bestCount || (count === bestCount && (latest.get(key) ?? '') > (latest.get(best) ?? ''))) best = key;
  }
  return best;
}

export function deriveAttributes(history: CustomerHistory, timeZone: string): { values: DerivedValues; promoteTo: CustomerType | null } {
  const counts = new Map<DerivedChannel, number>();
  const latest = new Map<DerivedChannel, string>();
  // What the customer started: the units preference counts. Web activity counts once per day
  // (one visit is many page views), orders count as web.
  const initiated = new Map<DerivedChannel, number>();
  const initiatedLatest = new Map<DerivedChannel, string>();
  const webDays = new Set<string>();
  // When the customer got in touch, one entry per contact (web: per day and part of the day).
  const contactTimes = new Map<string, DayPart>();
  const interest = new Map<string, { title: string; titleAt: string; score: number; ordered: boolean }>();

  const count = (channel: DerivedChannel, at: string) => {
    counts.set(channel, (counts.get(channel) ?? 0) + 1);
    if (at > (latest.get(channel) ?? '')) latest.set(channel, at);
  };
  const initiate = (channel: DerivedChannel, at: string, unit: string) => {
    if (at > (initiatedLatest.get(channel) ?? '')) initiatedLatest.set(channel, at);
    const part = dayPartOf(at, timeZone);
    if (channel === 'web') {
      const day = localDate(at, timeZone);
      contactTimes.set(`web ${day} ${part}`, part);
      if (webDays.has(day)) return;
      webDays.add(day);
    } else {
      contactTimes.set(unit, part);
    }
    initiated.set(channel, (initiated.get(channel) ?? 0) + 1);
  };
  const interestIn = (productId: string, title: string, at: string, points: number, ordered: boolean) => {
    const entry = interest.get(productId) ?? { title, titleAt: at, score: 0, ordered: false };
    entry.score += points;
    entry.ordered ||= ordered;
    if (at >= entry.titleAt) {
      entry.title = title;
      entry.titleAt = at;
    }
    interest.set(productId, entry);
  };

  history.contacts.forEach((contact, index) => {
    const web = contact.kind === 'web' && contact.body !== null ? readWebActivity(contact.body) : null;
    const channel = channelOf(contact, web);
    if (channel === null) return;
    count(channel, contact.occurredAt);
    if (contact.direction === 'inbound') initiate(channel, contact.occurredAt, `contact ${index}`);
    if (web && history.productIds.has(web.pageId)) interestIn(web.pageId, web.title, contact.occurredAt, INTEREST_POINTS[web.webActivity], false);
  });
  history.orders.forEach((order, index) => {
    count('order', order.createdAt);
    initiate('web', order.createdAt, `order ${index}`);
    interestIn(order.productId, order.title, order.createdAt, INTEREST_POINTS.order, true);
  });

  const dayParts = new Map<DayPart, number>();
  for (const part of contactTimes.values()) dayParts.set(part, (dayParts.get(part) ?? 0) + 1);

  const lastContactAt: DerivedValues['lastContactAt'] = {};
  const contactCounts: DerivedValues['contactCounts'] = {};
  for (const channel of DERIVED_CHANNELS) {
    const at = latest.get(channel);
    if (at === undefined) continue;
    lastContactAt[channel] = at;
    contactCounts[channel] = counts.get(channel) ?? 0;
  }
  const productsOfInterest = [...interest.entries()]
    .sort(([idA, a], [idB, b]) => b.score - a.score || a.title.localeCompare(b.title, 'ja') || (idA < idB ? -1 : idA > idB ? 1 : 0))
    .slice(0, PRODUCTS_OF_INTEREST)
    .map(([productId, entry]) => ({ productId, title: entry.title, score: entry.score, ordered: entry.ordered }));

  let promotion = history.previousPromotion;
  let promoteTo: CustomerType | null = null;
  const firstOrder = history.orders.reduce<string | null>((first, order) => (first === null || order.createdAt < first ? order.createdAt : first), null);
  if (promotion === null && firstOrder !== null && PROMOTED_TYPES.includes(history.type)) {
    promotion = { from: history.type, to: 'existing', at: firstOrder };
    promoteTo = 'existing';
  }
  return {
    values: {
      lastContactAt,
      contactCounts,
      preferredChannel: strongest(initiated, initiatedLatest, DERIVED_CHANNELS),
      preferredDayPart: contactTimes.size >= MIN_CONTACTS_FOR_DAY_PART ? strongest(dayParts, new Map(), DAY_PARTS) : null,
      productsOfInterest,
      promotion,
    },
    promoteTo,
  };
}

