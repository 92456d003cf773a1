import { describe, expect, it } from 'vitest';
import { silentTail, type Packet } from './recorder.js';

/** An IPv4/UDP/RTP packet as rtpengine's pcap holds it. */
function rtpPacket(options: { pt: number; seq: number; timestamp: number; ssrc: number; payload: Buffer; localPort: number; atMs: number }): Packet {
  const rtp = Buffer.alloc(12);
  rtp.writeUInt8(0x80, 0);
  rtp.writeUInt8(options.pt, 1);
  rtp.writeUInt16BE(options.seq & 0xffff, 2);
  rtp.writeUInt32BE(options.timestamp, 4);
  rtp.writeUInt32BE(options.ssrc, 8);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(options.localPort, 2);
  udp.writeUInt16BE(8 + rtp.length + options.payload.length, 4);
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + udp.length + rtp.length + options.payload.length, 2);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(17, 9);
  Buffer.from([127, 0, 0, 1]).copy(ip, 12);
  Buffer.from([127, 0, 0, 1]).copy(ip, 16);
  return { atMs: options.atMs, localPort: options.localPort, data: Buffer.concat([ip, udp, rtp, options.payload]) };
}

function headerChecksumOk(ip: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe('silentTail', () => {
  const types = new Map([
    [111, 'opus/48000/2'],
    [0, 'PCMU/8000'],
    [99, 'telephone-event/8000'],
  ]);

  it('continues each stream with 20 ms silent packets: same SSRC and payload type, following sequence numbers and timestamps', () => {
    const opus = [0, 1, 2].map((n) => rtpPacket({ pt: 111, seq: 65534 + n, timestamp: 1000 + n * 960, ssrc: 7, payload: Buffer.alloc(60, 1), localPort: 30000, atMs: 5000 + n * 20 }));
    const pcmu = [0, 1].map((n) => rtpPacket({ pt: 0, seq: 10 + n, timestamp: 4294967000 + n * 160, ssrc: 9, payload: Buffer.alloc(160, 3), localPort: 30002, atMs: 5010 + n * 20 }));
    const tail = silentTail([...opus, ...pcmu], types, 100);
    const ofPort = (port: number) => tail.filter((p) => p.localPort === port);
    expect(ofPort(30000)).toHaveLength(5);
    expect(ofPort(30002)).toHaveLength(5);

    const first = ofPort(30000)[0]!;
    expect(first.atMs).toBe(5060);
    expect(first.data.readUInt16BE(20 + 2)).toBe(30000);
    expect(first.data.readUInt16BE(28 + 2)).toBe(1); // 65536 wraps to 0, then 1
    expect(first.data.readUInt32BE(28 + 4)).toBe(1000 + 3 * 960);
    expect(first.data.readUInt32BE(28 + 8)).toBe(7);
    expect(first.data[28 + 1]! & 0x7f).toBe(111);
    expect([...first.data.subarray(40)]).toEqual([0xf8, 0xff, 0xfe]);
    expect(first.data.readUInt16BE(2)).toBe(first.data.length);
    expect(first.data.readUInt16BE(24)).toBe(first.data.length - 20);
    expect(headerChecksumOk(first.data)).toBe(true);

    const lastPcmu = ofPort(30002)[4]!;
    expect(lastPcmu.data.readUInt32BE(28 + 4)).toBe((4294967000 + 6 * 160) >>> 0);
    expect(lastPcmu.data.subarray(40).every((byte) => byte === 0xff)).toBe(true);
  });

  it('adds nothing to a stream in a codec without a known silence frame, nor for RTCP', () => {
    const events = rtpPacket({ pt: 99, seq: 1, timestamp: 1, ssrc: 1, payload: Buffer.alloc(4), localPort: 30004, atMs: 1 });
    const rtcp = rtpPacket({ pt: 72, seq: 1, timestamp: 1, ssrc: 1, payload: Buffer.alloc(4), localPort: 30006, atMs: 1 });
    rtcp.data.writeUInt8(200, 29); // a sender report's packet type
    expect(silentTail([events, rtcp], types)).toEqual([]);
  });
});
