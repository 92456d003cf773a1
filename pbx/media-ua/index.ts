/**
 * The dev PBX's media user agent: a SIP UAS on 127.0.0.1 UDP behind Kamailio that answers
 * with early media only (183 + PCMU, never 200) and ends every call with a final 480 whose
 * headers tell Kamailio's failure_route what to do next (CTI-CONTRACT §4):
 * - `sip:ivr@…` asks a caller without a caller ID for their customer number (RFC 4733 DTMF)
 *   and checks it with the backend;
 * - `sip:hold@…` plays "please hold" until the backend says an operator is free.
 *
 * Important: every input is bounded. SIP and RTP datagrams have a size cap, calls a count cap
 * and a time cap, entries a digit cap; what does not parse is dropped or answered 4xx, and no
 * datagram can throw out of the socket handler.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { z } from 'zod';
import { describeZodError } from '../../shared/validation.js';
import {
  headerParam,
  headerValue,
  headerValues,
  parseSipMessage,
  serializeSipMessage,
  uriUser,
  type SipHeader,
  type SipMessage,
} from '../sip-message.js';
import { createBackendClient, type BackendClient } from './backend-client.js';
import { FlowAborted, IVR_FAILED, QUEUE_TIMED_OUT, runHold, runIvr, type FinalReply, type FlowContext } from './flows.js';
import { loadPrompts, type Prompts } from './prompts.js';
import { MediaClock, MediaSession } from './rtp.js';
import { buildAudioAnswer, parseAudioOffer } from './sdp.js';

export { PROMPT_TEXTS } from './prompts.js';

/** Larger SIP datagrams are dropped unread: nothing Kamailio sends us comes near this. */
export const MAX_SIP_DATAGRAM_BYTES = 8192;

const ipv4 = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'must be a loopback IPv4 address (127.x.x.x)');

export const mediaUaOptionsSchema = z.object({
  host: ipv4.default('127.0.0.1'),
  /** UDP port for SIP; 0 picks a free one (the running UA reports it). */
  port: z.number().int().min(0).max(65_535),
  backendUrl: z.string().url('must be the backend URL, e.g. http://127.0.0.1:8740'),
  /** The PBX's CTI token (Authorization: Bearer), as the backend's TSUNAGU_CTI_PBXES knows it. */
  ctiToken: z.string().regex(/^[\x21-\x7e]{16,512}$/, 'must be 16-512 printable ASCII characters'),
  /** Where the prompts are cached (made with espeak-ng and sox on first start). */
  dataDir: z.string().min(1, 'must name a directory'),
  log: z.custom<(line: string) => void>((value) => typeof value === 'function', 'must be a function').optional(),
  limits: z
    .object({
      maxCalls: z.number().int().min(1).max(1000).default(64),
      maxDigits: z.number().int().min(1).max(32).default(20),
      firstDigitTimeoutMs: z.number().int().min(100).max(60_000).default(8_000),
      interDigitTimeoutMs: z.number().int().min(100).max(60_000).default(4_000),
      /** The IVR gives up (X-Tsunagu-Ivr: failed) after this long, whatever the caller does. */
      maxIvrMs: z.number().int().min(1_000).max(600_000).default(180_000),
      /** A caller on hold longer than this is handed back as backend-down, to the fallback group. */
      maxHoldMs: z.number().int().min(1_000).max(3_600_000).default(1_800_000),
      queuePollMs: z.number().int().min(50).max(10_000).default(500),
      backendDownMs: z.number().int().min(100).max(60_000).default(2_000),
      backendTimeoutMs: z.number().int().min(100).max(60_000).default(1_500),
    })
    .default({
      maxCalls: 64,
      maxDigits: 20,
      firstDigitTimeoutMs: 8_000,
      interDigitTimeoutMs: 4_000,
      maxIvrMs: 180_000,
      maxHoldMs: 1_800_000,
      queuePollMs: 500,
      backendDownMs: 2_000,
      backendTimeoutMs: 1_500,
    }),
});

export type MediaUaOptions = z.input<typeof mediaUaOptionsSchema>;
type Limits = z.output<typeof mediaUaOptionsSchema>['limits'];

export interface RunningMediaUa {
  port: number;
  /** Calls in progress (a test's way to see that nothing is left behind). */
  activeCalls(): number;
  stop(): Promise<void>;
}

export class MediaUaError extends Error {
  override name = 'MediaUaError';
}

const TENANT_SLUG = /^[A-Za-z0-9._-]{1,100}$/;
const CALL_ID = /^[\x21-\x7e]{1,200}$/;
/** RFC 3261 timers for the final reply's retransmission over UDP: T1, T2 and Timer H. */
const T1_MS = 500;
const T2_MS = 4_000;
const TIMER_H_MS = 64 * T1_MS;

interface Source {
  address: string;
  port: number;
}

interface UasCall {
  key: string;
  invite: SipMessage;
  source: Source;
  toTag: string;
  /** The last reply sent, resent when the INVITE is retransmitted. */
  lastReply: string;
  final: boolean;
  media: MediaSession | null;
  abort: AbortController;
  timers: NodeJS.Timeout[];
}

export async function startMediaUa(input: MediaUaOptions): Promise<RunningMediaUa> {
  const parsed = mediaUaOptionsSchema.safeParse(input);
  if (!parsed.success) throw new MediaUaError(`Invalid media UA options: ${describeZodError(parsed.error)}`);
  const options = parsed.data;
  const log = options.log ?? (() => undefined);
  const prompts = await loadPrompts(options.dataDir);
  const backend = createBackendClient({ backendUrl: options.backendUrl, ctiToken: options.ctiToken, timeoutMs: options.limits.backendTimeoutMs });
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const ua = new MediaUa(socket, options.host, options.limits, prompts, backend, log);
  socket.on('message', (message, rinfo) => {
    try {
      ua.receive(message, { address: rinfo.address, port: rinfo.port });
    } catch (error) {
      log(`media UA: dropped a datagram from ${rinfo.address}:${rinfo.port}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  socket.on('error', (error) => log(`media UA socket: ${error.message}`));
  const port = socket.address().port;
  log(`media UA listening on udp ${options.host}:${port}`);
  let stopped: Promise<void> | null = null;
  return {
    port,
    activeCalls: () => ua.activeCalls(),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        ua.shutdown();
        socket.close(() => resolve());
      });
      return stopped;
    },
  };
}

class MediaUa {
  private readonly calls = new Map<string, UasCall>();
  private readonly clock = new MediaClock();
  private stopping = false;

  constructor(
    private readonly socket: dgram.Socket,
    private readonly host: string,
    private readonly limits: Limits,
    private readonly prompts: Prompts,
    private readonly backend: BackendClient,
    private readonly log: (line: string) => void,
  ) {}

  activeCalls(): number {
    return this.calls.size;
  }

  receive(datagram: Buffer, source: Source): void {
    if (this.stopping) return;
    if (datagram.length > MAX_SIP_DATAGRAM_BYTES) {
      this.log(`media UA: dropped a ${datagram.length}-byte datagram from ${source.address}:${source.port} (limit ${MAX_SIP_DATAGRAM_BYTES})`);
      return;
    }
    // Keepalives (CRLF) carry nothing to answer.
    if (datagram.toString('latin1').trim() === '') return;
    const message = parseSipMessage(datagram.toString('utf8'));
    if (message.kind === 'response') return;
    const via = headerValues(message, 'Via')[0];
    const callId = headerValue(message, 'Call-ID');
    const cseq = /^(\d{1,10})\s+([A-Za-z]+)$/.exec(headerValue(message, 'CSeq') ?? '');
    if (!via || !callId || !headerValue(message, 'From') || !headerValue(message, 'To') || !cseq || cseq[2]?.toUpperCase() !== message.method) {
      // Without Via there is nowhere to answer; with it, the sender learns what was wrong.
      if (via && message.method !== 'ACK') this.reply(message, source, 400, 'Bad Request: Missing Or Malformed Mandatory Header');
      return;
    }
    const branch = headerParam(via, 'branch') ?? '';
    const key = `${callId}\n${branch}`;
    switch (message.method) {
      case 'INVITE':
        return this.onInvite(message, source, key);
      case 'ACK':
        return this.onAck(key);
      case 'CANCEL':
        return this.onCancel(message, source, key);
      case 'OPTIONS':
        this.reply(message, source, 200, 'OK', { headers: [{ name: 'Allow', value: 'INVITE, ACK, CANCEL, OPTIONS' }] });
        return;
      case 'BYE':
        // No call is ever answered, so no dialog exists to end.
        this.reply(message, source, 481, 'Call/Transaction Does Not Exist');
        return;
      default:
        this.reply(message, source, 405, 'Method Not Allowed', { headers: [{ name: 'Allow', value: 'INVITE, ACK, CANCEL, OPTIONS' }] });
    }
  }

  private onInvite(invite: SipMessage, source: Source, key: string): void {
    const existing = this.calls.get(key);
    if (existing) {
      this.send(existing.lastReply, existing.source);
      return;
    }
    if (headerParam(headerValue(invite, 'To') ?? '', 'tag') !== undefined) {
      this.reply(invite, source, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    // No SIP extension is supported (no 100rel, so the 183 is never sent reliably).
    const required = headerValues(invite, 'Require');
    if (required.length > 0) {
      this.reply(invite, source, 420, 'Bad Extension', { headers: [{ name: 'Unsupported', value: required.join(', ') }] });
      return;
    }
    const service = uriUser(invite.requestUri);
    if (service !== 'ivr' && service !== 'hold') {
      this.reply(invite, source, 404, 'Not Found');
      return;
    }
    if (this.calls.size >= this.limits.maxCalls) {
      this.reply(invite, source, 503, 'Service Unavailable', { headers: [{ name: 'Retry-After', value: '5' }] });
      return;
    }
    const tenant = headerValue(invite, 'X-Tsunagu-Tenant') ?? '';
    if (!TENANT_SLUG.test(tenant)) {
      this.reply(invite, source, 400, 'Bad Request: X-Tsunagu-Tenant Missing Or Invalid');
      return;
    }
    const callId = service === 'hold' ? (headerValue(invite, 'X-Tsunagu-Call-Id') ?? '') : (headerValue(invite, 'Call-ID') ?? '');
    if (!CALL_ID.test(callId)) {
      this.reply(invite, source, 400, 'Bad Request: X-Tsunagu-Call-Id Missing Or Invalid');
      return;
    }
    const contentType = (headerValue(invite, 'Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/sdp') {
      this.reply(invite, source, 488, 'Not Acceptable Here: SDP Offer Required');
      return;
    }
    const offer = parseAudioOffer(invite.body);
    if (!offer.ok) {
      this.reply(invite, source, offer.status, offer.reason);
      return;
    }
    const call: UasCall = {
      key,
      invite,
      source,
      toTag: randomBytes(8).toString('hex'),
      lastReply: '',
      final: false,
      media: null,
      abort: new AbortController(),
      timers: [],
    };
    this.calls.set(key, call);
    call.lastReply = this.reply(invite, source, 100, 'Trying');
    const context: Omit<FlowContext, 'media'> = {
      tenant,
      callId,
      prompts: this.prompts,
      backend: this.backend,
      limits: this.limits,
      signal: call.abort.signal,
      digitListener: null,
      log: this.log,
    };
    void this.answerEarly(call, offer.offer, context, service);
  }

  private async answerEarly(
    call: UasCall,
    offer: { address: string; port: number; telephoneEventPt: number | null },
    partial: Omit<FlowContext, 'media'>,
    service: 'ivr' | 'hold',
  ): Promise<void> {
    let context: FlowContext | null = null;
    try {
      const media = await MediaSession.open({
        host: this.host,
        remote: { address: offer.address, port: offer.port },
        telephoneEventPt: offer.telephoneEventPt,
        onDigit: (digit) => context?.digitListener?.(digit),
      });
      context = { ...partial, media };
      if (call.final) {
        media.close();
        return;
      }
      call.media = media;
      const sdp = buildAudioAnswer({ host: this.host, port: media.port, sessionId: String(Date.now()), telephoneEventPt: offer.telephoneEventPt });
      call.lastReply = this.reply(call.invite, call.source, 183, 'Session Progress', { toTag: call.toTag, contact: true, sdp });
      this.clock.add(media);
      const giveUp = service === 'ivr' ? IVR_FAILED : QUEUE_TIMED_OUT;
      const maxMs = service === 'ivr' ? this.limits.maxIvrMs : this.limits.maxHoldMs;
      call.timers.push(
        setTimeout(() => {
          this.log(`${service} ${partial.callId}: ran out of time after ${maxMs} ms`);
          this.finish(call, giveUp);
        }, maxMs),
      );
      const outcome = service === 'ivr' ? await runIvr(context) : await runHold(context);
      this.finish(call, outcome);
    } catch (error) {
      if (error instanceof FlowAborted) return;
      this.log(`${service} ${partial.callId}: ${error instanceof Error ? error.message : String(error)}`);
      this.finish(call, { status: 500, reason: 'Server Internal Error', headers: [] });
    }
  }

  /** Sends the call's final reply (once), stops its media, and retransmits the reply until the ACK. */
  private finish(call: UasCall, final: FinalReply): void {
    if (call.final) return;
    call.final = true;
    call.abort.abort();
    this.stopMedia(call);
    for (const timer of call.timers) clearTimeout(timer);
    call.timers = [];
    call.lastReply = this.reply(call.invite, call.source, final.status, final.reason, { toTag: call.toTag, headers: final.headers });
    let interval = T1_MS;
    const retransmit = () => {
      this.send(call.lastReply, call.source);
      interval = Math.min(interval * 2, T2_MS);
      call.timers.push(setTimeout(retransmit, interval));
    };
    call.timers.push(setTimeout(retransmit, interval));
    call.timers.push(setTimeout(() => this.forget(call), TIMER_H_MS));
  }

  private stopMedia(call: UasCall): void {
    if (!call.media) return;
    this.clock.remove(call.media);
    call.media.close();
    call.media = null;
  }

  private forget(call: UasCall): void {
    for (const timer of call.timers) clearTimeout(timer);
    call.timers = [];
    this.stopMedia(call);
    this.calls.delete(call.key);
  }

  private onAck(key: string): void {
    const call = this.calls.get(key);
    // An ACK only ever acknowledges our final reply; before that there is nothing it can mean.
    if (call?.final) this.forget(call);
  }

  private onCancel(cancel: SipMessage, source: Source, key: string): void {
    const call = this.calls.get(key);
    if (!call) {
      this.reply(cancel, source, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    this.reply(cancel, source, 200, 'OK');
    this.finish(call, { status: 487, reason: 'Request Terminated', headers: [] });
  }

  private reply(
    request: SipMessage,
    target: Source,
    status: number,
    reason: string,
    options: { toTag?: string; headers?: SipHeader[]; contact?: boolean; sdp?: string } = {},
  ): string {
    const to = headerValue(request, 'To') ?? '';
    const needsTag = status > 100 && headerParam(to, 'tag') === undefined;
    const headers: SipHeader[] = [
      ...headerValues(request, 'Via').map((value) => ({ name: 'Via', value })),
      { name: 'From', value: headerValue(request, 'From') ?? '' },
      { name: 'To', value: needsTag ? `${to};tag=${options.toTag ?? randomBytes(8).toString('hex')}` : to },
      { name: 'Call-ID', value: headerValue(request, 'Call-ID') ?? '' },
      { name: 'CSeq', value: headerValue(request, 'CSeq') ?? '' },
      { name: 'Server', value: 'tsunagu-media-ua' },
    ];
    if (options.contact) headers.push({ name: 'Contact', value: `<sip:media-ua@${this.host}:${this.socket.address().port}>` });
    headers.push(...(options.headers ?? []));
    if (options.sdp !== undefined) headers.push({ name: 'Content-Type', value: 'application/sdp' });
    const text = serializeSipMessage(`SIP/2.0 ${status} ${reason}`, headers, options.sdp ?? '');
    this.send(text, target);
    return text;
  }

  private send(text: string, target: Source): void {
    this.socket.send(text, target.port, target.address);
  }

  shutdown(): void {
    this.stopping = true;
    for (const call of this.calls.values()) {
      if (!call.final) {
        call.abort.abort();
        this.reply(call.invite, call.source, 503, 'Service Unavailable', { toTag: call.toTag });
      }
      this.forget(call);
    }
  }
}
