import type { CountryCode } from 'libphonenumber-js';
import { DEFAULT_REGION, toE164 } from '../../../shared/phone.js';

/**
 * Who is calling, from the SIP headers of an incoming INVITE. Pure: no sip.js, no DOM.
 *
 * Important: every input here comes from the network. The PBX keeps a trust domain
 * (RFC 3325) so that only the trunk side may assert an identity, but the app still treats
 * the values as hostile: a header with control characters is ignored rather than cleaned up
 * (a CR/LF inside one value means someone tried to smuggle another header), lengths are
 * bounded, and only ASCII digits count as a phone number, so look-alike digits from other
 * scripts can never pop a customer.
 */

export type CallerIdentitySource = 'asserted' | 'from' | 'none';

export interface CallerIdentity {
  /** Which header the identity came from. */
  source: CallerIdentitySource;
  /** The caller's number in E.164 when the URI's user part is a plausible phone number. */
  e164: string | null;
  /** The user part as received (percent-decoded, bounded, printable): shown when it is not a number. */
  user: string | null;
  /** The display name, unquoted and stripped of control and bidi-override characters. */
  displayName: string | null;
  /** The IVR's customer id when its header is present and well formed. */
  customerId: string | null;
  /** The customer-id header was present but refused (malformed): worth a log line, never a lookup. */
  customerIdRejected: boolean;
}

export interface CallerHeaders {
  /** Every P-Asserted-Identity value of the request (a request may carry a sip: and a tel: one). */
  assertedIdentity?: readonly string[] | null;
  /** The raw From header value. */
  from?: string | null;
  /** The raw value of the tenant's customer-id header. */
  customerId?: string | null;
}

/** Longer header values are refused outright: no legitimate identity needs more. */
export const MAX_HEADER_LENGTH = 1024;
const MAX_USER_LENGTH = 64;
const MAX_DISPLAY_NAME_LENGTH = 100;
/** Matches shared Id (1–64 characters); the character set is what the backend generates and IVRs collect. */
const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** C0 and C1 controls and DEL: never valid inside one header value. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Bidi controls and zero-width characters that would let a display name disguise itself. */
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

interface ParsedAddress {
  scheme: 'sip' | 'sips' | 'tel';
  user: string;
  displayName: string | null;
}

export function parseCallerIdentity(headers: CallerHeaders, region: string = DEFAULT_REGION): CallerIdentity {
  const countryCode = toCountryCode(region);
  const customer = parseCustomerIdHeader(headers.customerId);
  const base = { customerId: customer.value, customerIdRejected: customer.rejected };

  const asserted = (headers.assertedIdentity ?? []).flatMap((value) => splitAddressList(value)).map(parseAddress);
  const assertedAddresses = asserted.filter((address): address is ParsedAddress => address !== null);
  // A tel: URI and a sip: URI may both be asserted; the first one that is a number wins,
  // otherwise the first one at all (an asserted non-numeric user is still who is calling).
  const assertedNumber = assertedAddresses
    .map((address) => ({ address, e164: numberOf(address, countryCode) }))
    .find((candidate) => candidate.e164 !== null);
  if (assertedNumber) return { source: 'asserted', ...describe(assertedNumber.address, assertedNumber.e164), ...base };
  const firstAsserted = assertedAddresses[0];
  if (firstAsserted) return { source: 'asserted', ...describe(firstAsserted, null), ...base };

  const from = headers.from === undefined || headers.from === null ? null : parseAddress(headers.from);
  if (from) return { source: 'from', ...describe(from, numberOf(from, countryCode)), ...base };
  return { source: 'none', e164: null, user: null, displayName: null, ...base };
}

/** The customer-id header's value when it is exactly one well-formed id; anything else is refused. */
export function parseCustomerIdHeader(raw: string | null | undefined): { value: string | null; rejected: boolean } {
  if (raw === undefined || raw === null) return { value: null, rejected: false };
  if (raw.length > MAX_HEADER_LENGTH || CONTROL.test(raw)) return { value: null, rejected: true };
  const value = raw.trim();
  if (value === '') return { value: null, rejected: true };
  return CUSTOMER_ID.test(value) ? { value, rejected: false } : { value: null, rejected: true };
}

/** What the operator sees for a caller: the name when there is one, then the number or user. */
export function callerLabel(identity: CallerIdentity, formatNumber: (e164: string) => string): string {
  const address = identity.e164 ? formatNumber(identity.e164) : identity.user;
  if (identity.displayName && address && identity.displayName !== address) return `${identity.displayName} (${address})`;
  return identity.displayName ?? address ?? '';
}

function describe(address: ParsedAddress, e164: string | null): Pick<CallerIdentity, 'e164' | 'user' | 'displayName'> {
  return { e164, user: address.user === '' ? null : address.user, displayName: address.displayName };
}

function toCountryCode(region: string): CountryCode {
  return /^[A-Z]{2}$/.test(region) ? (region as CountryCode) : DEFAULT_REGION;
}

/**
 * A phone number only from ASCII digits with an optional leading "+" and the visual
 * separators RFC 3966 allows in tel: URIs; for sip: URIs only digits and "+".
 */
function numberOf(address: ParsedAddress, region: CountryCode): string | null {
  const pattern = address.scheme === 'tel' ? /^\+?[0-9().-]+$/ : /^\+?[0-9]+$/;
  if (!pattern.test(address.user)) return null;
  const digits = address.user.replace(/[^0-9]/g, '');
  if (digits.length < 5 || digits.length > 15) return null;
  return toE164(address.user, region);
}

/**
 * Splits a header value holding several comma-separated name-addrs, leaving commas inside
 * quoted display names and inside <…> alone.
 */
function splitAddressList(value: string): string[] {
  if (value.length > MAX_HEADER_LENGTH || CONTROL.test(value)) return [];
  const parts: string[] = [];
  let current = '';
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (inQuotes) {
      current += ch;
      if (ch === '\\' && i + 1 < value.length) current += value[++i];
      else if (ch === '"') inQuotes = false;
      continue;
    }
    if (ch === '"') inQuotes = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    if (ch === ',' && !inAngle) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/**
 * Parses one name-addr (`"Name" <sip:user@host;params>;tag=x`, `Name <tel:+81…>`) or
 * addr-spec (`sip:user@host;tag=x`). Returns null for anything malformed or hostile.
 */
export function parseAddress(raw: string): ParsedAddress | null {
  if (raw.length > MAX_HEADER_LENGTH || CONTROL.test(raw)) return null;
  const text = raw.trim();
  let displayName: string | null = null;
  let uri: string;
  const angle = text.indexOf('<');
  if (angle >= 0) {
    const close = text.indexOf('>', angle);
    if (close < 0) return null;
    uri = text.slice(angle + 1, close).trim();
    const before = text.slice(0, angle).trim();
    if (before !== '') {
      const name = parseDisplayName(before);
      if (name === undefined) return null;
      displayName = name;
    }
  } else {
    // addr-spec: header parameters (;tag=…) follow the URI; a URI with its own parameters
    // must be in <…>, so the first ";" ends the URI's user/host part here.
    uri = text.split(';', 1)[0]?.trim() ?? '';
  }
  const parsed = parseUri(uri);
  return parsed ? { ...parsed, displayName } : null;
}

/** undefined: malformed (an unterminated quote); null: no name. */
function parseDisplayName(text: string): string | null | undefined {
  let name: string;
  if (text.startsWith('"')) {
    let value = '';
    let closed = false;
    for (let i = 1; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === '\\') {
        if (i + 1 >= text.length) return undefined;
        value += text[++i];
        continue;
      }
      if (ch === '"') {
        if (text.slice(i + 1).trim() !== '') return undefined;
        closed = true;
        break;
      }
      value += ch;
    }
    if (!closed) return undefined;
    name = value;
  } else {
    name = text;
  }
  const clean = name.replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
  if (clean === '') return null;
  return Array.from(clean).slice(0, MAX_DISPLAY_NAME_LENGTH).join('');
}

function parseUri(uri: string): Omit<ParsedAddress, 'displayName'> | null {
  const match = /^(sips?|tel):(.*)$/i.exec(uri);
  if (!match) return null;
  const scheme = (match[1] as string).toLowerCase() as ParsedAddress['scheme'];
  const rest = match[2] as string;
  let userPart: string;
  if (scheme === 'tel') {
    userPart = rest.split(';', 1)[0] ?? '';
  } else {
    const at = rest.lastIndexOf('@');
    // No user part (sip:host): a server, not a caller.
    if (at < 0) return { scheme, user: '' };
    userPart = (rest.slice(0, at).split(';', 1)[0] ?? '').split(':', 1)[0] ?? '';
  }
  const user = percentDecode(userPart);
  if (user === null || CONTROL.test(user)) return null;
  const visible = user.replace(INVISIBLE, '');
  if (visible !== user) return null;
  return { scheme, user: Array.from(user).slice(0, MAX_USER_LENGTH).join('') };
}

function percentDecode(text: string): string | null {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
