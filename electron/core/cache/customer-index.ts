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
  const ftsText = fields
    .map(normaliseForSearch)
    .filter((text) => text !== '')
    .join(' ');
  const emailLocalParts = customer.emails.map((email) => email.slice(0, Math.max(0, email.lastIndexOf('@'))));
  const tokens = [...new Set([...suffixTokens(customer.name, customer.nameKana), ...searchTokens(customer.code, ...emailLocalParts)])];
  return { ftsText, tokens, sortKana: customerSortKana(customer) };
}

/** The secondary sort key of search results, alone: a deferred first sync stores it before the index. */
export function customerSortKana(customer: Pick<Customer, 'name' | 'nameKana'>): string {
  return normaliseForSearch(customer.nameKana || customer.name);
}
