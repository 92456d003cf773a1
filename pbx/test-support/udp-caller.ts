/**
 * A caller on the PBX's UDP trunk side driven step by step from a test: INVITE with a plain
 * RTP offer, then ACK, CANCEL or BYE when the test says so, answering the callee's BYE.
 * SIPp runs whole scenarios; this is for steps a scenario cannot wait on (a test's own
 * conditions between them). No retransmissions: loopback does not lose datagrams.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { headerValue, headerValues, parseSipMessage, serializeSipMessage, uriOf, type SipMessage } from '../sip-message.js';

export class UdpTrunkCaller {
  readonly callId: string;
  readonly responses: SipMessage[] = [];
  private readonly socket: dgram.Socket;
  private readonly fromTag = randomBytes(6).toString('hex');
  private readonly inviteBranch = `z9hG4bK${randomBytes(8).toString('hex')}`;
  private readonly listeners: Array<() => void> = [];
  private requestUri = '';
  private to = '';
  private dialogTo = '';
  private remoteTarget = '';
  private routeSet: string[] = [];
  private cseq = 1;
  /** Set when the callee hung up. */
  byeReceived = false;

  private constructor(
    socket: dgram.Socket,
    private readonly pbxPort: number,
    private readonly caller: string,
  ) {
    this.socket = socket;
    this.callId = `${randomBytes(8).toString('hex')}@trunk.test`;
    socket.on('message', (data) => this.receive(parseSipMessage(data.toString('utf8'))));
  }

  static async open(pbxPort: number, caller: string): Promise<UdpTrunkCaller> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new UdpTrunkCaller(socket, pbxPort, caller);
  }

  private get localPort(): number {
    return this.socket.address().port;
  }

  private receive(message: SipMessage): void {
    if (message.kind === 'response') {
      this.responses.push(message);
      if (message.method === 'INVITE' && message.status >= 200 && message.status < 300 && this.dialogTo === '') {
        this.dialogTo = headerValue(message, 'To') ?? '';
        this.remoteTarget = uriOf(headerValue(message, 'Contact') ?? '');
        this.routeSet = headerValues(message, 'Record-Route').reverse();
      }
    } else if (message.method === 'BYE') {
      this.byeReceived = true;
      this.send(
        serializeSipMessage(
          'SIP/2.0 200 OK',
          ['Via', 'From', 'To', 'Call-ID', 'CSeq'].flatMap((name) => headerValues(message, name).map((value) => ({ name, value }))),
        ),
      );
    }
    for (const listener of this.listeners.splice(0)) listener();
  }

  private send(text: string): void {
    this.socket.send(text, this.pbxPort, '127.0.0.1');
  }

  private common(cseq: number, method: string, branch: string, to: string): { name: string; value: string }[] {
    return [
      { name: 'Via', value: `SIP/2.0/UDP 127.0.0.1:${this.localPort};branch=${branch};rport` },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: `<sip:${this.caller}@127.0.0.1:${this.localPort}>;tag=${this.fromTag}` },
      { name: 'To', value: to },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${cseq} ${method}` },
    ];
  }

  /** Offers PCMU, or PCMA only as many trunks (and SIPp's own recordings) do. */
  invite(called: string, extraHeaders: { name: string; value: string }[] = [], codec: 'PCMU' | 'PCMA' = 'PCMU'): void {
    this.requestUri = `sip:${called}@127.0.0.1:${this.pbxPort}`;
    this.to = `<${this.requestUri}>`;
    const sdp = [
      'v=0',
      `o=- ${Date.now()} 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio 40000 RTP/AVP ${codec === 'PCMU' ? 0 : 8} 101`,
      codec === 'PCMU' ? 'a=rtpmap:0 PCMU/8000' : 'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=sendrecv',
      '',
    ].join('\r\n');
    this.send(
      serializeSipMessage(
        `INVITE ${this.requestUri} SIP/2.0`,
        [
          ...this.common(this.cseq, 'INVITE', this.inviteBranch, this.to),
          { name: 'Contact', value: `<sip:${this.caller}@127.0.0.1:${this.localPort}>` },
          ...extraHeaders,
          { name: 'Content-Type', value: 'application/sdp' },
        ],
        sdp,
      ),
    );
  }

  /** Resolves with the first response to the INVITE that satisfies match. */
  waitForResponse(match: (response: SipMessage) => boolean, timeoutMs = 15_000): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no matching response to the INVITE within ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        const found = this.responses.find((r) => r.method === 'INVITE' && match(r));
        if (found) {
          clearTimeout(deadline);
          resolve(found);
        } else {
          this.listeners.push(check);
        }
      };
      check();
    });
  }

  /** The final response to the INVITE; a non-2xx one is acknowledged as RFC 3261 asks. */
  async finalResponse(timeoutMs?: number): Promise<SipMessage> {
    const final = await this.waitForResponse((r) => r.status >= 200, timeoutMs);
    if (final.status >= 300) {
      this.send(
        serializeSipMessage(`ACK ${this.requestUri} SIP/2.0`, this.common(this.cseq, 'ACK', this.inviteBranch, headerValue(final, 'To') ?? this.to)),
      );
    } else {
      this.ackAnswer();
    }
    return final;
  }

  private ackAnswer(): void {
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    this.send(
      serializeSipMessage(`ACK ${this.remoteTarget} SIP/2.0`, [
        ...this.common(this.cseq, 'ACK', branch, this.dialogTo),
        ...this.routeSet.map((value) => ({ name: 'Route', value })),
      ]),
    );
  }

  cancel(): void {
    this.send(serializeSipMessage(`CANCEL ${this.requestUri} SIP/2.0`, this.common(this.cseq, 'CANCEL', this.inviteBranch, this.to)));
  }

  hangUp(): void {
    this.cseq += 1;
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    this.send(
      serializeSipMessage(`BYE ${this.remoteTarget} SIP/2.0`, [
        ...this.common(this.cseq, 'BYE', branch, this.dialogTo),
        ...this.routeSet.map((value) => ({ name: 'Route', value })),
      ]),
    );
  }

  close(): void {
    this.socket.close();
  }
}
