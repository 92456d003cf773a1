import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export const DEFAULT_REGION: CountryCode = 'JP';

/**
 * Normalises a phone number written any common way (03-1234-5678, 0312345678,
 * +81 3 1234 5678, full-width digits) to E.164, using the tenant's default region for
 * national numbers. Returns null when the text is not a plausible phone number.
 */
export function toE164(raw: string, region: CountryCode = DEFAULT_REGION): string | null {
  if (raw.length > 64) return null;
  const text = raw.normalize('NFKC').trim();
  if (!/^\+?[\d\s().\-‐–—]+$/.test(text)) return null;
  const digits = text.replace(/\D/g, '');
  if (digits.length < 5 || digits.length > 15) return null;
  const parsed = parsePhoneNumberFromString(text, region);
  if (!parsed || !parsed.isPossible()) return null;
  return parsed.number;
}

/** The number as a person of that region would write it, for display (03-1234-5678). */
export function formatPhoneForDisplay(e164: string, region: CountryCode = DEFAULT_REGION): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164;
  return parsed.country === region ? parsed.formatNational() : parsed.formatInternational();
}

/** Digits of the national form (0312345678), which is what people type in a search box. */
export function nationalDigits(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164.replace(/\D/g, '');
  return parsed.formatNational().replace(/\D/g, '');
}

export function isMobileNumber(e164: string): boolean {
  const type = parsePhoneNumberFromString(e164)?.getType();
  return type === 'MOBILE';
}

/**
 * Which of a customer's numbers a search query matched, so a result shows that number rather
 * than the customer's first one: the same number written any way, else the number whose digits
 * (national or international) contain the query's digits. Null when the query is not a number
 * or matched none of these (it matched the name, code, …).
 */
export function phoneMatchingQuery<P extends { e164: string }>(phones: readonly P[], query: string, region: CountryCode = DEFAULT_REGION): P | null {
  const e164 = toE164(query, region);
  if (e164 !== null) {
    const same = phones.find((phone) => phone.e164 === e164);
    if (same) return same;
  }
  const text = query.normalize('NFKC').trim();
  if (!/^\+?[\d\s().\-‐–—]+$/.test(text)) return null;
  const digits = text.replace(/\D/g, '');
  if (digits.length < 3) return null;
  return phones.find((phone) => nationalDigits(phone.e164).includes(digits) || phone.e164.slice(1).includes(digits)) ?? null;
}
