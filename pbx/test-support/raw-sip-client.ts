/**
 * A SIP user agent that speaks raw SIP over a WebSocket (subprotocol "sip") the way
 * sip.js does: ".invalid" hosts in Via and Contact, digest authentication with the
 * ephemeral credentials from pbx/credentials.ts. For signalling tests; it has no media.
 */
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  headerParam,
  headerValue,
  headerValues,
  parseSipMessage,
  serializeSipMessage,
  uriOf,
  type SipHeader,
  type SipMessage,
} from '../sip-message.js';

export interface Credentials {
  username: string;
  password: string;
}

/** What both ends of an established dialog need to send requests in it. */
export interface Dialog {
  callId: string;
  localUri: string;
  localTag: string;
  remoteUri: string;
  remoteTag: string;
  remoteTarget: string;
  routeSet: string[];
  localCseq: number;
}

export interface OutgoingCall {
  /** The final response to the INVITE (after one round of authentication, if credentials were given). */
  response: SipMessage;
  provisional: SipMessage[];
  /** Present when the response was 2xx: the client has not sent the ACK yet. */
  dialog?: Dialog;
}

interface PendingTransaction {
  method: string;
  provisional: SipMessage[];
  resolve: (final: SipMessage) => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function token(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function parseChallenge(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) {
    params[(match[1] ?? '').toLowerCase()] = match[3] ?? match[2] ?? '';
  }
  return params;
}

/** RFC 2617 digest response (MD5, qop=auth when offered). */
export function digestAuthorization(challenge: string, method: string, uri: string, credentials: Credentials): string {
  const c = parseChallenge(challenge);
  const realm = c.realm ?? '';
  const nonce = c.nonce ?? '';
  const ha1 = md5(`${credentials.username}:${realm}:${credentials.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const fields = [`username="${credentials.username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${uri}"`, 'algorithm=MD5'];
  if (c.qop?.split(',').map((q) => q.trim()).includes('auth')) {
    const cnonce = token();
    const nc = '00000001';
    fields.push(`response="${md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`, 'qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
  } else {
    fields.push(`response="${md5(`${ha1}:${nonce}:${ha2}`)}"`);
  }
  if (c.opaque !== undefined) fields.push(`opaque="${c.opaque}"`);
  return `Digest ${fields.join(', ')}`;
}

export class RawSipClient {
  readonly user: string;
  readonly domain: string;
  readonly aor: string;
  readonly contactUri: string;
  /** Resolves when the WebSocket closes, from either side. */
  readonly closed: Promise<void>;
  private readonly viaHost: string;
  private readonly socket: WebSocket;
  private readonly transactions = new Map<string, PendingTransaction>();
  private readonly inbox: SipMessage[] = [];
  private readonly waiters: Array<{ method: string; resolve: (m: SipMessage) => void }> = [];
  private readonly toTags = new Map<SipMessage, string>();
  private cseq = 1;
  private registerCallId = `${token()}@tsunagu.test`;

  private constructor(socket: WebSocket, user: string, domain: string) {
    this.socket = socket;
    this.user = user;
    this.domain = domain;
    this.aor = `sip:${user}@${domain}`;
    this.viaHost = `${token(6)}.invalid`;
    this.contactUri = `sip:${token(4)}@${this.viaHost};transport=ws`;
    socket.on('message', (data: WebSocket.RawData) => this.receive(String(data)));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(wsUrl: string, identity: { user: string; domain?: string }): Promise<RawSipClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, 'sip');
      socket.once('open', () => resolve(new RawSipClient(socket, identity.user, identity.domain ?? 'tsunagu.test')));
      socket.once('error', reject);
    });
  }

  private receive(text: string): void {
    const message = parseSipMessage(text);
    if (message.kind === 'response') {
      const branch = headerParam(headerValues(message, 'Via')[0] ?? '', 'branch') ?? '';
      const pending = this.transactions.get(branch);
      if (!pending || pending.method !== message.method) return;
      if (message.status < 200) {
        pending.provisional.push(message);
        return;
      }
      this.transactions.delete(branch);
      pending.resolve(message);
      return;
    }
    const waiter = this.waiters.findIndex((w) => w.method === message.method);
    if (waiter >= 0) {
      const [found] = this.waiters.splice(waiter, 1);
      found?.resolve(message);
    } else {
      this.inbox.push(message);
    }
  }

  private send(text: string): void {
    this.socket.send(text);
  }

  private newBranch(): string {
    return `z9hG4bK${token()}`;
  }

  private via(branch: string): SipHeader {
    return { name: 'Via', value: `SIP/2.0/WS ${this.viaHost};branch=${branch};rport` };
  }

  /** Sends a request and resolves with its final response; provisional ones are collected. */
  private transact(
    method: string,
    requestUri: string,
    headers: SipHeader[],
    body: string,
    timeoutMs: number,
  ): Promise<{ branch: string; final: SipMessage; provisional: SipMessage[] }> {
    const branch = this.newBranch();
    return new Promise((resolve, reject) => {
      const provisional: SipMessage[] = [];
      const timer = setTimeout(() => {
        this.transactions.delete(branch);
        reject(new Error(`no final response to ${method} ${requestUri} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.transactions.set(branch, {
        method,
        provisional,
        resolve: (final) => {
          clearTimeout(timer);
          resolve({ branch, final, provisional });
        },
      });
      this.send(serializeSipMessage(`${method} ${requestUri} SIP/2.0`, [this.via(branch), ...headers], body));
    });
  }

  /** REGISTER this client's Contact; answers one 401 when credentials are given. */
  async register(options: { credentials?: Credentials; expires?: number; timeoutMs?: number } = {}): Promise<SipMessage> {
    const requestUri = `sip:${this.domain}`;
    const fromTag = token();
    const build = (authorization?: string): SipHeader[] => {
      const headers: SipHeader[] = [
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: `<${this.aor}>;tag=${fromTag}` },
        { name: 'To', value: `<${this.aor}>` },
        { name: 'Call-ID', value: this.registerCallId },
        { name: 'CSeq', value: `${this.cseq++} REGISTER` },
        { name: 'Contact', value: `<${this.contactUri}>;expires=${options.expires ?? 600}` },
        { name: 'Expires', value: String(options.expires ?? 600) },
      ];
      if (authorization) headers.push({ name: 'Authorization', value: authorization });
      return headers;
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const first = await this.transact('REGISTER', requestUri, build(), '', timeoutMs);
    const challenge = headerValue(first.final, 'WWW-Authenticate');
    if (first.final.status !== 401 || !options.credentials || !challenge) return first.final;
    const authorization = digestAuthorization(challenge, 'REGISTER', requestUri, options.credentials);
    return (await this.transact('REGISTER', requestUri, build(authorization), '', timeoutMs)).final;
  }

  /**
   * Sends an INVITE; answers one 407 when credentials are given, ACKs non-2xx final
   * responses itself and leaves the ACK of a 2xx to ack().
   */
  async invite(
    target: string,
    options: { credentials?: Credentials; headers?: SipHeader[]; sdp?: string; fromUser?: string; timeoutMs?: number } = {},
  ): Promise<OutgoingCall> {
    const callId = `${token()}@tsunagu.test`;
    const fromUri = options.fromUser ? `sip:${options.fromUser}@${this.domain}` : this.aor;
    const fromTag = token();
    const body = options.sdp ?? '';
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const build = (cseq: number, authorization?: string): SipHeader[] => {
      const headers: SipHeader[] = [
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: `<${fromUri}>;tag=${fromTag}` },
        { name: 'To', value: `<${target}>` },
        { name: 'Call-ID', value: callId },
        { name: 'CSeq', value: `${cseq} INVITE` },
        { name: 'Contact', value: `<${this.contactUri}>` },
        ...(options.headers ?? []),
      ];
      if (body !== '') headers.push({ name: 'Content-Type', value: 'application/sdp' });
      if (authorization) headers.push({ name: 'Proxy-Authorization', value: authorization });
      return headers;
    };
    let cseq = this.cseq++;
    let attempt = await this.transact('INVITE', target, build(cseq), body, timeoutMs);
    const challenge = headerValue(attempt.final, 'Proxy-Authenticate');
    if (attempt.final.status === 407 && options.credentials && challenge) {
      this.ackFailure(target, attempt.branch, attempt.final, cseq, build(cseq));
      cseq = this.cseq++;
      const authorization = digestAuthorization(challenge, 'INVITE', target, options.credentials);
      attempt = await this.transact('INVITE', target, build(cseq, authorization), body, timeoutMs);
    }
    const { final, provisional, branch } = attempt;
    if (final.status >= 300) {
      this.ackFailure(target, branch, final, cseq, build(cseq));
      return { response: final, provisional };
    }
    const dialog: Dialog = {
      callId,
      localUri: fromUri,
      localTag: fromTag,
      remoteUri: target,
      remoteTag: headerParam(headerValue(final, 'To') ?? '', 'tag') ?? '',
      remoteTarget: uriOf(headerValue(final, 'Contact') ?? target),
      // The UAC's route set is the Record-Route of the 2xx, reversed.
      routeSet: headerValues(final, 'Record-Route').reverse(),
      localCseq: cseq,
    };
    return { response: final, provisional, dialog };
  }

  /** The ACK for a non-2xx final response belongs to the INVITE transaction (same branch). */
  private ackFailure(target: string, branch: string, response: SipMessage, cseq: number, inviteHeaders: SipHeader[]): void {
    const keep = inviteHeaders.filter((h) => ['Max-Forwards', 'From', 'Call-ID'].includes(h.name));
    this.send(
      serializeSipMessage(`ACK ${target} SIP/2.0`, [
        { name: 'Via', value: `SIP/2.0/WS ${this.viaHost};branch=${branch};rport` },
        ...keep,
        { name: 'To', value: headerValue(response, 'To') ?? `<${target}>` },
        { name: 'CSeq', value: `${cseq} ACK` },
      ]),
    );
  }

  private inDialogHeaders(dialog: Dialog, cseq: number, method: string): SipHeader[] {
    return [
      ...dialog.routeSet.map((route) => ({ name: 'Route', value: route })),
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: `<${dialog.localUri}>;tag=${dialog.localTag}` },
      { name: 'To', value: `<${dialog.remoteUri}>;tag=${dialog.remoteTag}` },
      { name: 'Call-ID', value: dialog.callId },
      { name: 'CSeq', value: `${cseq} ${method}` },
    ];
  }

  /** ACK for a 2xx: a new transaction along the dialog's route set. */
  ack(dialog: Dialog): void {
    this.send(
      serializeSipMessage(`ACK ${dialog.remoteTarget} SIP/2.0`, [
        this.via(this.newBranch()),
        ...this.inDialogHeaders(dialog, dialog.localCseq, 'ACK'),
      ]),
    );
  }

  async bye(dialog: Dialog, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SipMessage> {
    dialog.localCseq += 1;
    const { final } = await this.transact(
      'BYE',
      dialog.remoteTarget,
      this.inDialogHeaders(dialog, dialog.localCseq, 'BYE'),
      '',
      timeoutMs,
    );
    return final;
  }

  /** The next request of that method that reached this client (queued ones first). */
  waitForRequest(method: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SipMessage> {
    const queued = this.inbox.findIndex((m) => m.method === method);
    if (queued >= 0) return Promise.resolve(this.inbox.splice(queued, 1)[0] as SipMessage);
    return new Promise((resolve, reject) => {
      const waiter = {
        method,
        resolve: (message: SipMessage) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`${this.user}: no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Answers a request that reached this client; all responses to one request share a To tag. */
  reply(request: SipMessage, status: number, reason: string, options: { headers?: SipHeader[]; sdp?: string } = {}): void {
    let toTag = this.toTags.get(request);
    if (toTag === undefined) {
      toTag = headerParam(headerValue(request, 'To') ?? '', 'tag') ?? token();
      this.toTags.set(request, toTag);
    }
    const to = headerValue(request, 'To') ?? '';
    const headers: SipHeader[] = [
      ...headerValues(request, 'Via').map((value) => ({ name: 'Via', value })),
      { name: 'From', value: headerValue(request, 'From') ?? '' },
      { name: 'To', value: status === 100 || headerParam(to, 'tag') ? to : `${to};tag=${toTag}` },
      { name: 'Call-ID', value: headerValue(request, 'Call-ID') ?? '' },
      { name: 'CSeq', value: headerValue(request, 'CSeq') ?? '' },
    ];
    if (request.method === 'INVITE' && status > 100 && status < 300) {
      headers.push(...headerValues(request, 'Record-Route').map((value) => ({ name: 'Record-Route', value })));
      headers.push({ name: 'Contact', value: `<${this.contactUri}>` });
    }
    headers.push(...(options.headers ?? []));
    if (options.sdp !== undefined) headers.push({ name: 'Content-Type', value: 'application/sdp' });
    this.send(serializeSipMessage(`SIP/2.0 ${status} ${reason}`, headers, options.sdp ?? ''));
  }

  /** The dialog an answered incoming INVITE created, seen from this (called) side. */
  dialogOfIncoming(invite: SipMessage): Dialog {
    const toTag = this.toTags.get(invite);
    if (toTag === undefined) throw new Error('reply to the INVITE before asking for its dialog');
    const from = headerValue(invite, 'From') ?? '';
    return {
      callId: headerValue(invite, 'Call-ID') ?? '',
      localUri: uriOf(headerValue(invite, 'To') ?? ''),
      localTag: toTag,
      remoteUri: uriOf(from),
      remoteTag: headerParam(from, 'tag') ?? '',
      remoteTarget: uriOf(headerValue(invite, 'Contact') ?? ''),
      routeSet: headerValues(invite, 'Record-Route'),
      localCseq: 1,
    };
  }

  close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    return this.closed;
  }
}

/**
 * An SDP offer or answer shaped like a browser's (ICE, DTLS fingerprint, rtcp-mux,
 * mid) so that rtpengine treats this leg as WebRTC. No media is ever sent to it.
 */
export function webRtcLikeSdp(role: 'offer' | 'answer'): string {
  const fingerprint = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const sessionId = String(Date.now());
  return [
    'v=0',
    `o=- ${sessionId} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 0 8 101',
    'c=IN IP4 127.0.0.1',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host',
    `a=ice-ufrag:${token(2)}`,
    `a=ice-pwd:${token(12)}`,
    `a=fingerprint:sha-256 ${fingerprint}`,
    `a=setup:${role === 'offer' ? 'actpass' : 'active'}`,
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    '',
  ].join('\r\n');
}
