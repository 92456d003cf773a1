/**
 * The little SDP the media UA needs: where the caller's audio goes (c= and m=audio), whether
 * PCMU is offered, and which payload type the offer gave telephone-event/8000.
 */

export interface AudioOffer {
  address: string;
  port: number;
  /** The payload type of telephone-event/8000 in the offer, or null when it offers none. */
  telephoneEventPt: number | null;
}

export type OfferResult = { ok: true; offer: AudioOffer } | { ok: false; status: 400 | 488; reason: string };

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Reads the first audio stream of an SDP offer; only plain RTP/AVP with PCMU is accepted. */
export function parseAudioOffer(sdp: string): OfferResult {
  const lines = sdp.split(/\r?\n/);
  let sessionAddress: string | null = null;
  let mediaAddress: string | null = null;
  let media: { port: number; proto: string; formats: string[] } | null = null;
  let telephoneEventPt: number | null = null;
  for (const line of lines) {
    if (line.startsWith('c=')) {
      const address = /^c=IN IP4 (\S+)$/.exec(line.trim())?.[1] ?? null;
      if (media) mediaAddress = address;
      else sessionAddress = address;
    } else if (line.startsWith('m=')) {
      // Only the first audio stream counts; later streams are not answered.
      if (media) break;
      const m = /^m=audio (\d{1,5}) (\S+) ([\d ]+)$/.exec(line.trim());
      if (!m) continue;
      media = { port: Number(m[1]), proto: m[2] ?? '', formats: (m[3] ?? '').split(' ').filter(Boolean) };
    } else if (media && line.startsWith('a=rtpmap:')) {
      const map = /^a=rtpmap:(\d{1,3}) telephone-event\/8000/i.exec(line.trim());
      if (map && media.formats.includes(map[1] ?? '')) telephoneEventPt = Number(map[1]);
    }
  }
  if (!media) return { ok: false, status: 488, reason: 'No Audio Stream' };
  if (media.proto !== 'RTP/AVP') return { ok: false, status: 488, reason: 'Plain RTP/AVP Only' };
  if (!media.formats.includes('0')) return { ok: false, status: 488, reason: 'PCMU Only' };
  const address = mediaAddress ?? sessionAddress;
  if (address === null || !IPV4.test(address)) return { ok: false, status: 400, reason: 'Bad SDP Connection Address' };
  if (media.port < 1 || media.port > 65_535) return { ok: false, status: 400, reason: 'Bad SDP Media Port' };
  return { ok: true, offer: { address, port: media.port, telephoneEventPt } };
}

/** The 183's answer: PCMU, plus telephone-event with the offer's payload type when it had one. */
export function buildAudioAnswer(options: { host: string; port: number; sessionId: string; telephoneEventPt: number | null }): string {
  const formats = options.telephoneEventPt === null ? '0' : `0 ${options.telephoneEventPt}`;
  const lines = [
    'v=0',
    `o=tsunagu-media-ua ${options.sessionId} 1 IN IP4 ${options.host}`,
    's=tsunagu media',
    `c=IN IP4 ${options.host}`,
    't=0 0',
    `m=audio ${options.port} RTP/AVP ${formats}`,
    'a=rtpmap:0 PCMU/8000',
    ...(options.telephoneEventPt === null
      ? []
      : [`a=rtpmap:${options.telephoneEventPt} telephone-event/8000`, `a=fmtp:${options.telephoneEventPt} 0-15`]),
    'a=ptime:20',
    'a=sendrecv',
    '',
  ];
  return lines.join('\r\n');
}
