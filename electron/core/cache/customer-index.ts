import type { Customer } from '../../../shared/domain.js';
import { nationalDigits } from '../../../shared/phone.js';
import { normaliseForSearch, searchTokens, suffixTokens } from '../../../shared/search-text.js';

/**
 * What the cache indexes for one customer, derived from the record alone so that the
 * snapshot worker and the main thread index identically.
 */
export interface CustomerIndexEntry {
  /** Normalised fields joined by spaces for the trigram FTS table. Normalised queries never
   * contain a space, so no match spans two fields. */
  ftsText: string;
  /**
   * Matched by prefix for 1–2 character queries: every suffix of the name and reading words
   * (so a short query matches anywhere inside them), plus code and e-mail local parts.
   */
  tokens: string[];
  /** Normalised reading, the secondary sort key of search results. */
  sortKana: string;
}

export function indexCustomer(customer: Customer): CustomerIndexEntry {
  return { ftsText: customerFtsText(customer), tokens: customerTokens(customer), sortKana: customerSortKana(customer) };
}

/** The text of the trigram index alone (`CustomerIndexEntry.ftsText`): a deferred first sync writes it after its last page. */
export function customerFtsText(customer: Customer): string {
  const phoneDigits = customer.phones.flatMap((phone) => [nationalDigits(phone.e164), phone.e164.slice(1)]);
  const fields = [
    customer.name,
    customer.nameKana,
    customer.code,
    ...customer.emails,
    customer.postalCode,
    customer.address,
    ...phoneDigits,
  ];
  return fields
    .map(normaliseForSearch)
    .filter((text) => text !== '')
    .join(' ');
}

/** The tokens alone (`CustomerIndexEntry.tokens`): a deferred first sync stores them with the customer. */
export function customerTokens(customer: Customer): string[] {
  const emailLocalParts = customer.emails.map((email) => email.slice(0, Math.max(0, email.lastIndexOf('@'))));
  return [...new Set([...suffixTokens(customer.name, customer.nameKana), ...searchTokens(customer.code, ...emailLocalParts)])];
}

/** The secondary sort key of search results alone (`CustomerIndexEntry.sortKana`). */
export function customerSortKana(customer: Pick<Customer, 'name' | 'nameKana'>): string {
  return normaliseForSearch(customer.nameKana || customer.name);
}
