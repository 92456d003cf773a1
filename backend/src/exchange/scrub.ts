import { createHmac, randomBytes } from 'node:crypto';
import { toE164 } from '../../../shared/phone.js';
import { katakanaToRomaji } from '../seed/romanise.js';

/**
 * Pseudonyms and free-text scrubbing of the PII-stripped exchange.
 *
 * A pseudonym is HMAC-SHA256 of the value under a key drawn for one export: the same value
 * gets the same pseudonym everywhere in that export (a partner can still tell that two
 * contacts are the same customer), and nothing links it to another export, whose key differs.
 * Important: the key lives only in this object's memory while its export is built; it is never
 * stored, logged or returned, and `discard()` overwrites it.
 */
export const PSEUDONYM_KINDS = {
  customer: 'CUST',
  person: 'PERSON',
  code: 'CODE',
  phone: 'PHONE',
  email: 'EMAIL',
  postal: 'POSTAL',
  address: 'ADDR',
  incident: 'INC',
  contact: 'CON',
  staff: 'STAFF',
} as const;
export type PseudonymKind = keyof typeof PSEUDONYM_KINDS;

const PSEUDONYM_LETTERS = 10;
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

export class Pseudonymiser {
  readonly #key: Buffer = randomBytes(32);
  #discarded = false;

  /**
   * `PREFIX-LETTERS`: letters only, so a scrubber's digit patterns never touch a pseudonym
   * that a record carries into its free text.
   */
  of(kind: PseudonymKind, value: string): string {
    if (this.#discarded) throw new Error('the export key was discarded');
    const mac = createHmac('sha256', this.#key).update(`${kind}\u0000${value}`).digest();
    let letters = '';
    for (let i = 0; i < PSEUDONYM_LETTERS; i += 1) letters += ALPHABET[mac[i]! % ALPHABET.length];
    return `${PSEUDONYM_KINDS[kind]}-${letters}`;
  }

  discard(): void {
    this.#key.fill(0);
    this.#discarded = true;
  }
}

/** One form of a phone number for its pseudonym: E.164 when it parses, else its digits. */
export function phoneKey(raw: string): string {
  return toE164(raw) ?? raw.normalize('NFKC').replace(/[^\d+]/g, '');
}

/** One form of any other value for its pseudonym: NFKC, lower case, no spaces. */
export function valueKey(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

// ---- free text -------------------------------------------------------------------------------

export const SCRUB_MARKS = { email: '[EMAIL]', url: '[URL]', phone: '[PHONE]', postal: '[POSTAL]', address: '[ADDRESS]' } as const;

/** Someone whose names are taken out of free text, replaced by `replacement` (their pseudonym). */
export interface KnownPerson {
  names: string[];
  replacement: string;
}

/** What one record's free text is scrubbed of besides the patterns: its customer's own details. */
export interface ScrubContext {
  people: KnownPerson[];
  /** Other literal values (customer code, postal address) and what replaces each. */
  literals: { value: string; replacement: string }[];
}

interface Span {
  start: number;
  end: number;
  replacement: string;
}

/** Separators people put inside phone numbers and postal codes (after NFKC). */
const DASHES = '\\-‐‑‒–—―−ー';
const PHONE_CANDIDATE = new RegExp(`\\+?\\(?\\d(?:[\\d\\s${DASHES}().]*\\d)?`, 'g');
const DATE_SHAPED = new RegExp(`^(?:19|20)\\d{2}[${DASHES}.]\\d{1,2}[${DASHES}.]\\d{1,2}$`);
const POSTAL_SHAPED = new RegExp(`^\\d{3}[${DASHES}]?\\d{4}$`);
const POSTAL_MARKED = new RegExp(`〒\\s*\\d{3}\\s*[${DASHES}]?\\s*\\d{4}`, 'g');
const EMAIL = /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/gi;
const URL_PATTERN = /\b(?:https?|ftp):\/\/[!-~]+|\bwww\.[!-~]+/gi;
const KANJI = '一-龥々〆ヵヶ';
const PREFECTURE_ADDRESS = new RegExp(
  `(?:北海道|東京都|京都府|大阪府|[${KANJI}]{2,3}県)[${KANJI}ぁ-んァ-ヶー0-9${DASHES}]*`,
  'g',
);
const CITY_ADDRESS = new RegExp(`[${KANJI}]{1,6}[市区町村][${KANJI}ぁ-んァ-ヶー]*\\d+(?:[${DASHES}丁目番地号の]+\\d+)*[丁目番地号]?`, 'g');

function spansOf(pattern: RegExp, text: string, replacement: (match: string) => string | null): Span[] {
  const spans: Span[] = [];
  for (const match of text.matchAll(pattern)) {
    const value = replacement(match[0]);
    if (value !== null) spans.push({ start: match.index, end: match.index + match[0].length, replacement: value });
  }
  return spans;
}

/** A run of digits is a phone number from 10 digits (8 unless it reads as a date); 7 in postal-code shape is a postal code. */
function classifyDigits(candidate: string): string | null {
  const digits = candidate.replace(/\D/g, '').length;
  if (digits >= 10) return SCRUB_MARKS.phone;
  if (digits >= 8) return DATE_SHAPED.test(candidate) ? null : SCRUB_MARKS.phone;
  if (digits === 7 && POSTAL_SHAPED.test(candidate)) return SCRUB_MARKS.postal;
  return null;
}

/**
 * Folds text for name matching without changing its length, so a match's offsets hold in the
 * unfolded text: hiragana to katakana, ASCII capitals to lower case.
 */
export function foldForMatching(text: string): string {
  let folded = '';
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0x3041 && code <= 0x3096) folded += String.fromCharCode(code + 0x60);
    else if (code >= 0x41 && code <= 0x5a) folded += String.fromCharCode(code + 0x20);
    else folded += text[i];
  }
  return folded;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const NAME_SEPARATORS = /[\s・·.,_-]+/u;
const LATIN = /^[a-z0-9'’-]+$/;

/** Morae of a katakana word, each with its small kana (キャ, ティ, ッ stays on its own). */
function morae(kana: string): string[] {
  const out: string[] = [];
  for (const ch of kana) {
    if (/[ァィゥェォャュョ]/.test(ch) && out.length > 0) out[out.length - 1] += ch;
    else out.push(ch);
  }
  return out;
}

/**
 * Latin spellings of a katakana name: Hepburn without long vowels (タロウ → taro), with them
 * written out (tarou), and with macrons (tarō).
 */
export function romajiVariants(kana: string): string[] {
  const katakana = foldForMatching(kana);
  if (!/^[ァ-ヶー]+$/.test(katakana)) return [];
  const short = katakanaToRomaji(katakana);
  const parts = morae(katakana);
  let long = '';
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i]!;
    if (part === 'ッ') continue;
    const romaji = katakanaToRomaji(parts[i - 1] === 'ッ' ? `ッ${part}` : part);
    long += part === 'ー' ? (long.at(-1) ?? '') : romaji;
  }
  const macron = long.replace(/ou|oo/g, 'ō').replace(/uu/g, 'ū');
  return [...new Set([short, long, macron].filter((variant) => variant.length >= 2))];
}

/** Every way a person's name may be written in free text, folded, as regex sources. */
function namePatterns(names: string[]): string[] {
  const patterns = new Set<string>();
  const addTokens = (tokens: string[]) => {
    const usable = tokens.filter((token) => token.length > 0);
    if (usable.length === 0) return;
    const source = (token: string) => (LATIN.test(token) ? `(?<![a-z])${escapeRegExp(token)}(?![a-z])` : escapeRegExp(token));
    const joined = (list: string[]) => list.map(escapeRegExp).join('[\\s・·._-]*');
    if (usable.length > 1) {
      const bounded = (list: string[]) => (list.every((t) => LATIN.test(t)) ? `(?<![a-z])${joined(list)}(?![a-z])` : joined(list));
      patterns.add(bounded(usable));
      patterns.add(bounded([...usable].reverse()));
    }
    // A single token of one character (a one-kanji given name) would take that character out
    // of every text; the full name above still goes.
    for (const token of usable) if (token.length >= 2) patterns.add(source(token));
  };
  for (const name of names) {
    const folded = foldForMatching(name.normalize('NFKC')).trim();
    if (folded.length === 0) continue;
    const tokens = folded.split(NAME_SEPARATORS);
    addTokens(tokens);
    const romanised = tokens.map((token) => romajiVariants(token));
    if (romanised.every((variants) => variants.length > 0)) {
      // Given name and surname in each spelling; mixed spellings are rare enough to leave out.
      for (let v = 0; v < 3; v += 1) addTokens(romanised.map((variants) => variants[Math.min(v, variants.length - 1)]!));
    }
  }
  return [...patterns].sort((a, b) => b.length - a.length);
}

/** A literal value matched with any spacing and any dash between its characters. */
function literalPattern(value: string): string | null {
  const folded = foldForMatching(value.normalize('NFKC')).replace(/\s+/g, '');
  if (folded.length < 3) return null;
  return [...folded].map((ch) => (new RegExp(`[${DASHES}]`).test(ch) ? `[${DASHES}]` : escapeRegExp(ch))).join('\\s*');
}

/**
 * Compiles a record's context once (a customer's many contacts share it). Returns a function
 * that scrubs one text.
 */
export function compileScrubber(context: ScrubContext): (text: string) => string {
  const known: { pattern: RegExp; replacement: string }[] = [];
  for (const person of context.people) {
    const patterns = namePatterns(person.names);
    if (patterns.length > 0) known.push({ pattern: new RegExp(patterns.join('|'), 'g'), replacement: person.replacement });
  }
  for (const literal of context.literals) {
    const source = literalPattern(literal.value);
    if (source !== null) known.push({ pattern: new RegExp(source, 'g'), replacement: literal.replacement });
  }
  return (raw) => scrubText(raw, known);
}

function scrubText(raw: string, known: { pattern: RegExp; replacement: string }[]): string {
  const text = raw.normalize('NFKC');
  const folded = foldForMatching(text);
  const spans: Span[] = [
    ...spansOf(URL_PATTERN, text, () => SCRUB_MARKS.url),
    ...spansOf(EMAIL, text, () => SCRUB_MARKS.email),
    ...spansOf(POSTAL_MARKED, text, () => SCRUB_MARKS.postal),
    ...spansOf(PHONE_CANDIDATE, text, classifyDigits),
    ...spansOf(PREFECTURE_ADDRESS, text, () => SCRUB_MARKS.address),
    ...spansOf(CITY_ADDRESS, text, () => SCRUB_MARKS.address),
  ];
  for (const { pattern, replacement } of known) spans.push(...spansOf(pattern, folded, () => replacement));
  return applySpans(text, spans);
}

/**
 * Replaces every span. Overlapping spans merge into one that covers both (and takes the first
 * one's replacement), so no part of anything detected survives.
 */
function applySpans(text: string, spans: Span[]): string {
  if (spans.length === 0) return text;
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let cursor = 0;
  let current: Span | null = null;
  for (const span of spans) {
    if (span.end <= span.start) continue;
    if (current && span.start < current.end) {
      current.end = Math.max(current.end, span.end);
      continue;
    }
    if (current) {
      out += text.slice(cursor, current.start) + current.replacement;
      cursor = current.end;
    }
    current = { ...span };
  }
  if (current) out += text.slice(cursor, current.start) + current.replacement;
  return out + text.slice(current ? current.end : cursor);
}
