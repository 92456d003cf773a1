/**
 * A trunk peer that sends hand-written requests over UDP, byte for byte as given, so tests can
 * put malformed and unusual INVITEs through the PBX (tel: callers, raw UTF-8 user parts, unknown
 * Require tags) and see what each side answers. It ACKs non-2xx final responses and can CANCEL.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { headerValue, parseSipMessage, type SipMessage } from '../sip-message.js';

export interface TrunkInviteOptions {
  /** The From header's value without the tag, written as is (e.g. `"Tanaka" <tel:+81-3-1234-5678>`). */
  from: string;
  /** Extra header lines, written as is. */
  headers?: string[];
  requestUri?: string;
  /** The To header's value, written as is (default the extension's SIP URI). */
  to?: string;
  /** How long to wait for the final response (default 10 s). */
  finalTimeoutMs?: number;
  /** The CSeq header's value, written as is (default `1 INVITE`). */
  cseq?: string;
}

export interface TrunkCall {
  callId: string;
  /** Resolves with the first final response. */
  final: Promise<SipMessage>;
  provisional: SipMessage[];
  /** Sends CANCEL for the INVITE (same branch, as RFC 3261 9.1 asks). */
  cancel(): void;
}

const FINAL_TIMEOUT_MS = 10_000;

export class RawTrunk {
  private readonly socket: dgram.Socket;
  private readonly calls = new Map<string, { provisional: SipMessage[]; resolve: (m: SipMessage) => void; settled: boolean }>();

  private constructor(
    socket: dgram.Socket,
    private readonly pbxPort: number,
  ) {
    this.socket = socket;
    socket.on('message', (data) => this.receive(data.toString('utf8')));
  }

  static async open(pbxPort: number): Promise<RawTrunk> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RawTrunk(socket, pbxPort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  private receive(text: string): void {
    let message: SipMessage;
    try {
      message = parseSipMessage(text);
    } catch {
      return;
    }
    if (message.kind !== 'response' || message.method !== 'INVITE') return;
    const call = this.calls.get(headerValue(message, 'Call-ID') ?? '');
    if (!call || call.settled) return;
    if (message.status < 200) {
      call.provisional.push(message);
      return;
    }
    call.settled = true;
    call.resolve(message);
  }

  private send(text: string): void {
    this.socket.send(text, this.pbxPort, '127.0.0.1');
  }

  invite(extension: string, options: TrunkInviteOptions): TrunkCall {
    const id = randomBytes(8).toString('hex');
    const callId = `${id}@127.0.0.1`;
    const requestUri = options.requestUri ?? `sip:${extension}@127.0.0.1:${this.pbxPort}`;
    const via = `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK${id};rport`;
    const from = `From: ${options.from};tag=${id}`;
    const provisional: SipMessage[] = [];
    let resolve: (m: SipMessage) => void = () => undefined;
    const arrived = new Promise<SipMessage>((r) => {
      resolve = r;
    });
    this.calls.set(callId, { provisional, resolve, settled: false });
    const final = new Promise<SipMessage>((ok, fail) => {
      const timeoutMs = options.finalTimeoutMs ?? FINAL_TIMEOUT_MS;
      const timer = setTimeout(() => fail(new Error(`no final response to the INVITE from ${options.from} within ${timeoutMs} ms`)), timeoutMs);
      void arrived.then((response) => {
        clearTimeout(timer);
        if (response.status >= 300) {
          this.send(
            [`ACK ${requestUri} SIP/2.0`, via, from, `To: ${headerValue(response, 'To') ?? ''}`, `Call-ID: ${callId}`, 'CSeq: 1 ACK', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n'),
          );
        }
        ok(response);
      });
    });
    this.send(
      [
        `INVITE ${requestUri} SIP/2.0`,
        via,
        'Max-Forwards: 70',
        from,
        `To: ${options.to ?? `<sip:${extension}@127.0.0.1>`}`,
        `Call-ID: ${callId}`,
        `CSeq: ${options.cseq ?? '1 INVITE'}`,
        `Contact: <sip:trunk@127.0.0.1:${this.port}>`,
        ...(options.headers ?? []),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    return {
      callId,
      final,
      provisional,
      cancel: () =>
        this.send(
          [`CANCEL ${requestUri} SIP/2.0`, via, 'Max-Forwards: 70', from, `To: ${options.to ?? `<sip:${extension}@127.0.0.1>`}`, `Call-ID: ${callId}`, 'CSeq: 1 CANCEL', 'Content-Length: 0', '', ''].join(
            '\r\n',
          ),
        ),
    };
  }

  close(): void {
    this.socket.close();
  }
}
