/**
 * Just enough SIP message parsing and building for the dev PBX's media UA and for tests that
 * talk raw SIP to the dev PBX. Not a SIP stack: no retransmissions, no forking.
 */

export interface SipHeader {
  name: string;
  value: string;
}

export interface SipMessage {
  kind: 'request' | 'response';
  /** The request's method, or for a response the method in its CSeq. */
  method: string;
  requestUri: string;
  status: number;
  reason: string;
  headers: SipHeader[];
  body: string;
}

const COMPACT_FORMS: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
};

function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT_FORMS[lower] ?? lower;
}

export function parseSipMessage(text: string): SipMessage {
  const separator = text.indexOf('\r\n\r\n');
  const head = separator === -1 ? text : text.slice(0, separator);
  const body = separator === -1 ? '' : text.slice(separator + 4);
  // Header folding: a line starting with whitespace continues the previous one.
  const lines = head.replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const startLine = lines.shift() ?? '';
  const headers: SipHeader[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed SIP header line: ${JSON.stringify(line)}`);
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  const cseqMethod = (headers.find((h) => canonicalName(h.name) === 'cseq')?.value.split(/\s+/)[1] ?? '').toUpperCase();
  const response = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(startLine);
  if (response) {
    return { kind: 'response', method: cseqMethod, requestUri: '', status: Number(response[1]), reason: response[2] ?? '', headers, body };
  }
  const request = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(startLine);
  if (!request) throw new Error(`malformed SIP start line: ${JSON.stringify(startLine)}`);
  return { kind: 'request', method: request[1] ?? '', requestUri: request[2] ?? '', status: 0, reason: '', headers, body };
}

/** Every value of a header, with comma-separated lists split (outside quotes and <>). */
export function headerValues(message: SipMessage, name: string): string[] {
  const wanted = canonicalName(name);
  return message.headers.filter((h) => canonicalName(h.name) === wanted).flatMap((h) => splitHeaderList(h.value));
}

/** The first header of that name as written (not split on commas), or undefined. */
export function headerValue(message: SipMessage, name: string): string | undefined {
  const wanted = canonicalName(name);
  return message.headers.find((h) => canonicalName(h.name) === wanted)?.value;
}

function splitHeaderList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inQuotes = false;
  let inAngle = false;
  for (const ch of value) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && ch === '<') inAngle = true;
    else if (!inQuotes && ch === '>') inAngle = false;
    if (ch === ',' && !inQuotes && !inAngle) {
      parts.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

export function serializeSipMessage(startLine: string, headers: SipHeader[], body = ''): string {
  const lines = [startLine, ...headers.filter((h) => canonicalName(h.name) !== 'content-length').map((h) => `${h.name}: ${h.value}`)];
  lines.push(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The URI inside a name-addr (`"Bob" <sip:bob@x>;tag=1`) or a bare addr-spec. */
export function uriOf(nameAddr: string): string {
  const angle = /<([^>]*)>/.exec(nameAddr);
  if (angle) return angle[1] ?? '';
  return nameAddr.split(';')[0]?.trim() ?? '';
}

/** A header parameter outside the <> (e.g. the tag of From/To). */
export function headerParam(nameAddr: string, param: string): string | undefined {
  const afterUri = nameAddr.includes('>') ? nameAddr.slice(nameAddr.lastIndexOf('>') + 1) : nameAddr;
  const match = new RegExp(`;\\s*${param}=([^;\\s,]+)`, 'i').exec(afterUri);
  return match?.[1];
}

/** The user part of a SIP URI, or undefined. */
export function uriUser(uri: string): string | undefined {
  return /^sips?:([^@;]+)@/.exec(uri)?.[1];
}
