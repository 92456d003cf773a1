/**
 * RTP for the media UA: PCMU out in 20 ms packets paced by one shared clock, RFC 4733
 * telephone-events in. One UDP socket per call, sending from the port its SDP advertised so
 * that rtpengine's latching sees one stream.
 */
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';

export const SAMPLES_PER_PACKET = 160;
const PACKET_MS = 20;
/** μ-law of a zero sample. */
export const MULAW_SILENCE = 0xff;
/** Larger datagrams are not audio we asked for; they are dropped unread. */
export const MAX_RTP_PACKET_BYTES = 1500;

export interface ParsedRtp {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/** Parses an RTP packet (RFC 3550), or null for anything that is not one. */
export function parseRtp(packet: Buffer): ParsedRtp | null {
  if (packet.length < 12 || packet.length > MAX_RTP_PACKET_BYTES) return null;
  const first = packet[0] ?? 0;
  if (first >> 6 !== 2) return null;
  const padding = (first & 0x20) !== 0;
  const extension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (extension) {
    if (packet.length < offset + 4) return null;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  let end = packet.length;
  if (padding) {
    const padBytes = packet[packet.length - 1] ?? 0;
    if (padBytes === 0) return null;
    end -= padBytes;
  }
  if (offset > end) return null;
  const second = packet[1] ?? 0;
  return {
    payloadType: second & 0x7f,
    marker: (second & 0x80) !== 0,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}

export function buildRtp(fields: { payloadType: number; marker: boolean; sequence: number; timestamp: number; ssrc: number; payload: Buffer }): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  header.writeUInt16BE(fields.sequence & 0xffff, 2);
  header.writeUInt32BE(fields.timestamp >>> 0, 4);
  header.writeUInt32BE(fields.ssrc >>> 0, 8);
  return Buffer.concat([header, fields.payload]);
}

const DTMF_EVENTS = '0123456789*#';

/** The digit of an RFC 4733 event payload (events 0-11), or null for other events and bad payloads. */
export function telephoneEventDigit(payload: Buffer): string | null {
  if (payload.length < 4) return null;
  return DTMF_EVENTS[payload[0] ?? 255] ?? null;
}

/**
 * Turns a stream of telephone-event packets into digits. One key press is many packets with
 * one RTP timestamp (updates, then the end packet three times), so a digit counts once per
 * (SSRC, timestamp). A sender that replays one recorded key press for a repeated digit (SIPp
 * playing the same pcap twice) reuses the timestamp; a key-down packet after that event's end
 * packets is therefore a new press.
 */
export class DtmfDetector {
  private lastKey: string | null = null;
  private lastEnded = false;

  /** The digit this packet starts, or null when it continues a digit already reported. */
  accept(packet: ParsedRtp): string | null {
    const digit = telephoneEventDigit(packet.payload);
    if (digit === null) return null;
    const end = ((packet.payload[1] ?? 0) & 0x80) !== 0;
    const key = `${packet.ssrc}:${packet.timestamp}`;
    const repeatedPress = key === this.lastKey && this.lastEnded && !end;
    if (key === this.lastKey && !repeatedPress) {
      if (end) this.lastEnded = true;
      return null;
    }
    this.lastKey = key;
    this.lastEnded = end;
    return digit;
  }
}

interface Playback {
  audio: Buffer;
  offset: number;
  loop: boolean;
  done: () => void;
}

/**
 * One call's audio leg. Sends a packet every 20 ms from the moment it starts (silence when
 * nothing plays, so rtpengine learns this side's address at once) until it is closed.
 */
export class MediaSession {
  readonly port: number;
  private readonly socket: dgram.Socket;
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private sequence = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0x1_0000_0000);
  private packetsSent = 0;
  private startedAt = 0;
  private playback: Playback | null = null;
  private readonly detector = new DtmfDetector();
  private closed = false;
  /** Packets received from the far end, of any payload type (for tests and logs). */
  packetsReceived = 0;

  private constructor(
    socket: dgram.Socket,
    private readonly remote: { address: string; port: number },
    private readonly telephoneEventPt: number | null,
    private readonly onDigit: (digit: string) => void,
  ) {
    this.socket = socket;
    this.port = socket.address().port;
    socket.on('message', (message, rinfo) => this.receive(message, rinfo));
    // A send to a port nobody listens on comes back as an error here; it must not end the process.
    socket.on('error', () => undefined);
  }

  static open(options: {
    host: string;
    remote: { address: string; port: number };
    telephoneEventPt: number | null;
    onDigit: (digit: string) => void;
  }): Promise<MediaSession> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, options.host, () => {
        socket.off('error', reject);
        resolve(new MediaSession(socket, options.remote, options.telephoneEventPt, options.onDigit));
      });
    });
  }

  private receive(message: Buffer, rinfo: dgram.RemoteInfo): void {
    // On loopback the only sender is the media relay named in the SDP; anything else is ignored.
    if (rinfo.address !== this.remote.address) return;
    const packet = parseRtp(message);
    if (!packet) return;
    this.packetsReceived += 1;
    if (this.telephoneEventPt === null || packet.payloadType !== this.telephoneEventPt) return;
    const digit = this.detector.accept(packet);
    if (digit !== null) this.onDigit(digit);
  }

  /** Plays μ-law audio; resolves when it has been sent, or when stopPlayback()/close() cut it short. */
  play(audio: Buffer, options: { loop?: boolean } = {}): Promise<void> {
    this.stopPlayback();
    if (this.closed || audio.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.playback = { audio, offset: 0, loop: options.loop ?? false, done: resolve };
    });
  }

  stopPlayback(): void {
    const current = this.playback;
    this.playback = null;
    current?.done();
  }

  /** Sends the packets that are due by now; called by the shared clock. */
  tick(now: number): void {
    if (this.closed) return;
    if (this.startedAt === 0) this.startedAt = now;
    const due = Math.floor((now - this.startedAt) / PACKET_MS) + 1;
    // After a stall (a busy event loop) the clock skips ahead instead of bursting.
    if (due - this.packetsSent > 10) this.packetsSent = due - 1;
    while (this.packetsSent < due) {
      this.sendFrame();
      this.packetsSent += 1;
    }
  }

  private nextFrame(): Buffer {
    const frame = Buffer.alloc(SAMPLES_PER_PACKET, MULAW_SILENCE);
    const current = this.playback;
    if (!current) return frame;
    let filled = 0;
    while (filled < SAMPLES_PER_PACKET) {
      const copied = current.audio.copy(frame, filled, current.offset, Math.min(current.audio.length, current.offset + SAMPLES_PER_PACKET - filled));
      filled += copied;
      current.offset += copied;
      if (current.offset >= current.audio.length) {
        if (!current.loop) {
          this.playback = null;
          current.done();
          break;
        }
        current.offset = 0;
      }
    }
    return frame;
  }

  private sendFrame(): void {
    const packet = buildRtp({
      payloadType: 0,
      marker: this.packetsSent === 0,
      sequence: this.sequence,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      payload: this.nextFrame(),
    });
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + SAMPLES_PER_PACKET) >>> 0;
    this.socket.send(packet, this.remote.port, this.remote.address);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPlayback();
    this.socket.close();
  }
}

/** One 20 ms timer for every session of a media UA. */
export class MediaClock {
  private readonly sessions = new Set<MediaSession>();
  private timer: NodeJS.Timeout | null = null;

  add(session: MediaSession): void {
    this.sessions.add(session);
    session.tick(performance.now());
    this.timer ??= setInterval(() => {
      const now = performance.now();
      for (const s of this.sessions) s.tick(now);
    }, PACKET_MS);
  }

  remove(session: MediaSession): void {
    this.sessions.delete(session);
    if (this.sessions.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
