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

/** The fields of a customer its trigram text is made of. */
export type CustomerSearchFields = Pick<Customer, 'name' | 'nameKana' | 'code' | 'emails' | 'postalCode' | 'address' | 'phones'>;

/** The text of the trigram index alone (`CustomerIndexEntry.ftsText`): a deferred first sync writes it after its last page. */
export function customerFtsText(customer: CustomerSearchFields): string {
  // Built in one pass (no arrays of fields): this runs once per customer of a first sync.
  let text = '';
  const append = (normalised: string): void => {
    if (normalised !== '') text = text === '' ? normalised : `${text} ${normalised}`;
  };
  append(normaliseForSearch(customer.name));
  append(normaliseForSearch(customer.nameKana));
  append(normaliseForSearch(customer.code));
  for (const email of customer.emails) append(normaliseForSearch(email));
  append(normaliseForSearch(customer.postalCode));
  append(normaliseForSearch(customer.address));
  for (const phone of customer.phones) {
    append(digitsForSearch(nationalDigits(phone.e164)));
    append(digitsForSearch(phone.e164.slice(1)));
  }
  return text;
}

/** normaliseForSearch of a phone number's digits: ASCII digits alone are their own normal form. */
function digitsForSearch(digits: string): string {
  return /^[0-9]*$/.test(digits) ? digits : normaliseForSearch(digits);
}

/** The tokens alone (`CustomerIndexEntry.tokens`): a deferred first sync stores them with the customer. */
export function customerTokens(customer: Customer): string[] {
  const tokens = new Set(suffixTokens(customer.name, customer.nameKana));
  const emailLocalParts = customer.emails.map((email) => email.slice(0, Math.max(0, email.lastIndexOf('@'))));
  for (const token of searchTokens(customer.code, ...emailLocalParts)) tokens.add(token);
  return [...tokens];
}

/** The secondary sort key of search results alone (`CustomerIndexEntry.sortKana`). */
export function customerSortKana(customer: Pick<Customer, 'name' | 'nameKana'>): string {
  return normaliseForSearch(customer.nameKana || customer.name);
}
