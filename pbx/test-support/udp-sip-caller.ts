/**
 * A raw SIP caller over UDP with a real RTP endpoint, for tests of the media UA (and of
 * Kamailio's trunk side): it sends an INVITE with a PCMU + telephone-event offer, keeps every
 * reply, counts the audio it receives and sends RFC 4733 digits. No retransmissions: loopback
 * does not lose datagrams, and a test must see the far end's own behaviour.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { headerParam, headerValue, parseSipMessage, serializeSipMessage, type SipHeader, type SipMessage } from '../sip-message.js';
import { waitFor } from './wait.js';

const TELEPHONE_EVENT_PT = 101;
const DTMF_EVENTS = '0123456789*#';

function token(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

function bind(socket: dgram.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}

export interface InviteOptions {
  /** Where the INVITE goes (the media UA's or Kamailio's UDP port on 127.0.0.1). */
  port: number;
  requestUri: string;
  fromUri?: string;
  fromDisplayName?: string;
  headers?: SipHeader[];
  /** Replaces the generated SDP offer (for malformed-offer tests). */
  sdp?: string;
}

export class UdpSipCaller {
  readonly callId = `${token()}@udp-caller.test`;
  readonly fromTag = token(6);
  readonly branch = `z9hG4bK${token()}`;
  readonly replies: SipMessage[] = [];
  /** RTP packets received on the offered media port, and how many carried sound (not μ-law silence). */
  audio = { packets: 0, soundPackets: 0, payloadTypes: new Set<number>() };
  private inviteText = '';
  private target = 0;
  private remoteMedia: { address: string; port: number } | null = null;
  private rtpSequence = 1;
  private rtpTimestamp = 1000;
  private readonly ssrc = randomBytes(4).readUInt32BE(0);

  private constructor(
    private readonly sip: dgram.Socket,
    readonly sipPort: number,
    private readonly rtp: dgram.Socket,
    readonly rtpPort: number,
  ) {
    sip.on('message', (data) => {
      try {
        const message = parseSipMessage(data.toString('utf8'));
        if (message.kind === 'response') this.replies.push(message);
        else this.answerRequest(message);
      } catch {
        // A test asserts on what it expects; garbage from the far end simply never matches.
      }
    });
    rtp.on('message', (data) => {
      if (data.length < 12) return;
      this.audio.packets += 1;
      this.audio.payloadTypes.add((data[1] ?? 0) & 0x7f);
      if (data.subarray(12).some((byte) => byte !== 0xff && byte !== 0x7f)) this.audio.soundPackets += 1;
    });
  }

  static async open(): Promise<UdpSipCaller> {
    const sip = dgram.createSocket('udp4');
    const rtp = dgram.createSocket('udp4');
    const [sipPort, rtpPort] = [await bind(sip), await bind(rtp)];
    return new UdpSipCaller(sip, sipPort, rtp, rtpPort);
  }

  offer(): string {
    return [
      'v=0',
      `o=- ${Date.now()} 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.rtpPort} RTP/AVP 0 ${TELEPHONE_EVENT_PT}`,
      'a=rtpmap:0 PCMU/8000',
      `a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`,
      `a=fmtp:${TELEPHONE_EVENT_PT} 0-15`,
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  private commonHeaders(method: string, options: InviteOptions): SipHeader[] {
    const from = options.fromUri ?? 'sip:anonymous@anonymous.invalid';
    const display = options.fromDisplayName ? `"${options.fromDisplayName}" ` : '';
    return [
      { name: 'Via', value: `SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=${this.branch};rport` },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: `${display}<${from}>;tag=${this.fromTag}` },
      { name: 'To', value: `<${options.requestUri}>` },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `1 ${method}` },
    ];
  }

  private lastOptions: InviteOptions | null = null;

  invite(options: InviteOptions): void {
    this.lastOptions = options;
    this.target = options.port;
    const sdp = options.sdp ?? this.offer();
    this.inviteText = serializeSipMessage(
      `INVITE ${options.requestUri} SIP/2.0`,
      [
        ...this.commonHeaders('INVITE', options),
        { name: 'Contact', value: `<sip:caller@127.0.0.1:${this.sipPort}>` },
        ...(options.headers ?? []),
        ...(sdp === '' ? [] : [{ name: 'Content-Type', value: 'application/sdp' }]),
      ],
      sdp,
    );
    this.sendRaw(this.inviteText);
  }

  /** Sends the INVITE again, as a UDP retransmission would. */
  retransmitInvite(): void {
    this.sendRaw(this.inviteText);
  }

  cancel(): void {
    if (!this.lastOptions) throw new Error('cancel() before invite()');
    this.sendRaw(serializeSipMessage(`CANCEL ${this.lastOptions.requestUri} SIP/2.0`, this.commonHeaders('CANCEL', this.lastOptions)));
  }

  /** ACKs a non-2xx final reply (same branch as the INVITE, the reply's To tag). */
  ackFailure(final: SipMessage): void {
    if (!this.lastOptions) throw new Error('ack before invite()');
    const headers = this.commonHeaders('ACK', this.lastOptions).map((h) => (h.name === 'To' ? { name: 'To', value: headerValue(final, 'To') ?? h.value } : h));
    this.sendRaw(serializeSipMessage(`ACK ${this.lastOptions.requestUri} SIP/2.0`, headers));
  }

  sendRaw(text: string | Buffer, port = this.target): void {
    this.sip.send(text, port, '127.0.0.1');
  }

  private answerRequest(request: SipMessage): void {
    const headers: SipHeader[] = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((name) => ({ name, value: headerValue(request, name) ?? '' }));
    if (request.method !== 'ACK') this.sip.send(serializeSipMessage('SIP/2.0 200 OK', headers), this.target, '127.0.0.1');
  }

  /** Waits for a reply in this caller's call (its Call-ID) that satisfies the predicate. */
  async waitForReply(match: (reply: SipMessage) => boolean, what: string, timeoutMs = 10_000): Promise<SipMessage> {
    const ours = (reply: SipMessage) => headerValue(reply, 'Call-ID') === this.callId && match(reply);
    const found = await waitFor(async () => this.replies.find(ours), (reply) => reply !== undefined, what, timeoutMs);
    return found as SipMessage;
  }

  finalReply(timeoutMs = 10_000): Promise<SipMessage> {
    return this.waitForReply((r) => r.method === 'INVITE' && r.status >= 200, 'a final reply to the INVITE', timeoutMs);
  }

  /** Waits for the 183 and takes the media address from its SDP. */
  async earlyMedia(timeoutMs = 10_000): Promise<SipMessage> {
    const progress = await this.waitForReply((r) => r.method === 'INVITE' && r.status === 183, 'a 183 with SDP', timeoutMs);
    const address = /^c=IN IP4 (\S+)/m.exec(progress.body)?.[1];
    const port = /^m=audio (\d+) /m.exec(progress.body)?.[1];
    if (!address || !port) throw new Error(`the 183 has no usable SDP:\n${progress.body}`);
    this.remoteMedia = { address, port: Number(port) };
    return progress;
  }

  /** The To tag of the early dialog, to check that every reply keeps it. */
  static toTag(reply: SipMessage): string | undefined {
    return headerParam(headerValue(reply, 'To') ?? '', 'tag');
  }

  sendRtp(payloadType: number, payload: Buffer, options: { timestamp: number; marker?: boolean }): void {
    if (!this.remoteMedia) throw new Error('no media address yet: await earlyMedia() first');
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = (options.marker ? 0x80 : 0) | payloadType;
    header.writeUInt16BE(this.rtpSequence++ & 0xffff, 2);
    header.writeUInt32BE(options.timestamp >>> 0, 4);
    header.writeUInt32BE(this.ssrc, 8);
    this.rtp.send(Buffer.concat([header, payload]), this.remoteMedia.port, this.remoteMedia.address);
  }

  sendRawRtp(packet: Buffer): void {
    if (!this.remoteMedia) throw new Error('no media address yet: await earlyMedia() first');
    this.rtp.send(packet, this.remoteMedia.port, this.remoteMedia.address);
  }

  /** Presses keys as RFC 4733 events: per key three updates 20 ms apart, then the end packet three times. */
  async pressKeys(keys: string): Promise<void> {
    for (const key of keys) {
      const event = DTMF_EVENTS.indexOf(key);
      if (event < 0) throw new Error(`not a DTMF key: ${key}`);
      const timestamp = this.rtpTimestamp;
      this.rtpTimestamp += 1600;
      for (let i = 0; i < 6; i++) {
        const end = i >= 3;
        const duration = Math.min(i + 1, 4) * 160;
        const payload = Buffer.from([event, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
        this.sendRtp(TELEPHONE_EVENT_PT, payload, { timestamp, marker: i === 0 });
        if (i < 3) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }

  close(): void {
    this.sip.close();
    this.rtp.close();
  }
}
