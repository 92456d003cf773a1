import { findPhoneNumbersInText, type CountryCode } from 'libphonenumber-js/max';
import { toE164 } from '../../../shared/phone.js';

/**
 * Headers in which fax gateways name the sending machine's number, first found wins. The
 * subject ("FAX from 03-1234-5678", "受信FAX 0312345678") is the fallback. The mail's From is
 * the gateway itself and says nothing about the sender.
 */
export const FAX_SENDER_HEADERS = ['x-fax-sender', 'x-fax-from', 'x-fax-number', 'x-fax-remote-id'] as const;

/** The first valid phone number in a text, in E.164, or null (libphonenumber's own finder, with the tenant's region). */
function firstNumber(text: string, region: CountryCode): string | null {
  const normalised = text.normalize('NFKC').slice(0, 500);
  const [found] = findPhoneNumbersInText(normalised, region);
  if (found) return found.number.number;
  // The finder gives up on a number run into a date or a page count; try the words on their own.
  for (const word of normalised.split(/[\s,;:]+/)) {
    const e164 = word.replace(/\D/g, '').length >= 9 ? toE164(word, region) : null;
    if (e164 !== null) return e164;
  }
  return null;
}

/**
 * The sender's fax number as the gateway reports it: a known header first, then the subject.
 * Null when neither names a plausible number; the fax is then filed under a new customer
 * rather than under whoever the gateway's address happens to match.
 */
export function faxSenderNumber(headers: ReadonlyMap<string, string>, subject: string, region: CountryCode): string | null {
  for (const name of FAX_SENDER_HEADERS) {
    const value = headers.get(name);
    if (value !== undefined) {
      const e164 = firstNumber(value, region);
      if (e164 !== null) return e164;
    }
  }
  return firstNumber(subject, region);
}
