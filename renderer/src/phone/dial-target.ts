import type { CountryCode } from 'libphonenumber-js';
import { DEFAULT_REGION, toE164 } from '../../../shared/phone.js';

/**
 * What the operator typed into "call" or "transfer to", turned into a SIP URI on the
 * agent's own domain: a phone number (any common way of writing it) becomes its E.164 form,
 * a colleague's extension or SIP user stays as it is, and a full sip: URI is taken when it
 * is plainly one. Anything else is refused with a reason rather than sent to the PBX.
 */

export type DialTarget =
  | { ok: true; uri: string; kind: 'number'; e164: string }
  | { ok: true; uri: string; kind: 'user'; user: string }
  | { ok: false; problem: 'empty' | 'invalid' };

const SIP_USER = /^[A-Za-z0-9._~+-]{1,64}$/;
const SIP_URI = /^sips?:([A-Za-z0-9._~+-]{1,64})@([A-Za-z0-9.-]{1,253})(:\d{1,5})?$/i;
const DOMAIN = /^[A-Za-z0-9.-]{1,253}$/;

export function parseDialTarget(input: string, domain: string, region: string = DEFAULT_REGION): DialTarget {
  const text = input.trim();
  if (text === '') return { ok: false, problem: 'empty' };
  if (!DOMAIN.test(domain)) return { ok: false, problem: 'invalid' };
  const uri = SIP_URI.exec(text);
  if (uri) return { ok: true, uri: text, kind: 'user', user: uri[1] as string };
  const countryCode = /^[A-Z]{2}$/.test(region) ? (region as CountryCode) : DEFAULT_REGION;
  // A number written with separators (03-1234-5678) or full-width digits is still a number.
  // Short digit strings are internal extensions, not phone numbers.
  if (/^[0-9]{2,6}$/.test(text)) return { ok: true, uri: `sip:${text}@${domain}`, kind: 'user', user: text };
  if (/^[+＋]?[\d\s()\-‐–—．.]+$/u.test(text.normalize('NFKC')) && /\d/.test(text.normalize('NFKC'))) {
    const e164 = toE164(text, countryCode);
    if (e164) return { ok: true, uri: `sip:${e164}@${domain}`, kind: 'number', e164 };
    return { ok: false, problem: 'invalid' };
  }
  if (SIP_USER.test(text)) return { ok: true, uri: `sip:${text}@${domain}`, kind: 'user', user: text };
  return { ok: false, problem: 'invalid' };
}

/** The user and domain of an address of record such as `sip:agent1@tsunagu.test`. */
export function splitAor(aor: string): { user: string; domain: string } | null {
  const match = /^sips?:([^@;?]+)@([^;?>:]+)/i.exec(aor.trim());
  if (!match) return null;
  return { user: match[1] as string, domain: match[2] as string };
}
