/**
 * What the phone does with requests before sip.js handles them, so that no INVITE is left
 * without a final answer: sip.js drops a request it cannot parse (a `tel:` From, a raw UTF-8
 * user part) without a word, and rings for an INVITE whose Require it does not honour.
 * Pure functions over the raw text and header values; sip-engine.ts wires them in.
 */

/** The Require option tags this phone honours: 100rel (sip.js sends reliable provisionals) and Replaces. */
export const SUPPORTED_REQUIRE_TAGS: readonly string[] = ['100rel', 'replaces'];

/** The tags of Require header values this phone does not support, as written, in order. */
export function unsupportedRequireTags(requireValues: readonly string[]): string[] {
  return requireValues
    .flatMap((value) => value.split(','))
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '' && !SUPPORTED_REQUIRE_TAGS.includes(tag.toLowerCase()));
}

const COMPACT_NAMES: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id' };
const ECHOED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
type Echoed = (typeof ECHOED)[number];
const CANONICAL: Record<Echoed, string> = { via: 'Via', from: 'From', to: 'To', 'call-id': 'Call-ID', cseq: 'CSeq' };

/**
 * A final response to a request that could not be parsed, built from its raw text: the headers
 * a response echoes (every Via, From, To with a tag of ours, Call-ID, CSeq) are copied byte for
 * byte, so the proxy matches it to its transaction and the caller gets an answer at once rather
 * than a timeout. null for a response, an ACK (never answered) or text too broken to answer
 * (no Via, From, To, Call-ID or CSeq).
 */
export function responseForUnparseable(raw: string, response: { status: number; reason: string; toTag: string }): string | null {
  const end = raw.indexOf('\r\n\r\n');
  const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  const [startLine = '', ...lines] = head.split('\r\n');
  const request = /^([A-Za-z]+) \S+ SIP\/2\.0$/.exec(startLine.trim());
  if (!request || request[1]?.toUpperCase() === 'ACK') return null;
  const found = new Map<Echoed, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = (COMPACT_NAMES[raw] ?? raw) as Echoed;
    if (!ECHOED.includes(name)) continue;
    const values = found.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    found.set(name, values);
  }
  if (ECHOED.some((name) => (found.get(name) ?? []).length === 0)) return null;
  const headers: string[] = [];
  for (const name of ECHOED) {
    const values = name === 'via' ? (found.get(name) ?? []) : (found.get(name) ?? []).slice(0, 1);
    for (const value of values) {
      // A final response carries the UAS's To tag (RFC 3261 8.2.6.2).
      const withTag = name === 'to' && !/;\s*tag=/i.test(value) ? `${value};tag=${response.toTag}` : value;
      headers.push(`${CANONICAL[name]}: ${withTag}`);
    }
  }
  return [`SIP/2.0 ${response.status} ${response.reason}`, ...headers, 'Content-Length: 0', '', ''].join('\r\n');
}
