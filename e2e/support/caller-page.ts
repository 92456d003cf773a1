/**
 * Runs in headless Chromium (bundled by caller.ts): a customer's phone for the softphone e2e
 * tests. Its own sip.js user agent, authenticated as the customer's number (the PBX strips any
 * P-Asserted-Identity a WebSocket client sends, so the From user is who the app sees), that
 * calls an agent, follows a transfer (REFER, with Replaces for an attended one), plays what it
 * hears and reports the inbound audio and the DTMF digits it hears in it.
 */
import { Inviter, Registerer, SessionState, UserAgent, type Referral, type Session } from 'sip.js';

export interface CallerOptions {
  user: string;
  domain: string;
  wsUrl: string;
  username: string;
  password: string;
}

export interface CallerSnapshot {
  registration: string;
  /** State of the current session (the one a transfer created, after a REFER). */
  session: string;
  sessions: number;
  refers: string[];
  /** DTMF digits heard in the received audio (RFC 4733 events are played out as tones). */
  heardDigits: string;
  /** DTMF digits received as SIP INFO. */
  infoDigits: string;
}

export interface InboundAudio {
  packets: number;
  /** The latest audioLevel of the played remote track (0..1). */
  level: number;
  energy: number;
}

const snapshot: CallerSnapshot = { registration: 'none', session: 'none', sessions: 0, refers: [], heardDigits: '', infoDigits: '' };
let userAgent: UserAgent | undefined;
let current: Session | undefined;
const media = { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } };

function peerConnectionOf(session: Session): RTCPeerConnection | undefined {
  return (session.sessionDescriptionHandler as { peerConnection?: RTCPeerConnection } | undefined)?.peerConnection;
}

// Chrome reports no audio level for a remote track nobody plays, and WebAudio reads silence
// from a remote stream that is not also attached to a media element.
function playAndListen(session: Session): void {
  const connection = peerConnectionOf(session);
  if (!connection) return;
  // Read by e2e/support/tones.ts, as on the app's pages.
  const pages = window as unknown as { __tsunaguPeerConnections?: RTCPeerConnection[] };
  (pages.__tsunaguPeerConnections ??= []).push(connection);
  const stream = new MediaStream(connection.getReceivers().map((receiver) => receiver.track));
  const audio = new Audio();
  audio.srcObject = stream;
  audio.play().catch((error: unknown) => console.error('remote audio did not play', error));
  listenForDtmf(stream);
}

const DTMF_ROWS = [697, 770, 852, 941];
const DTMF_COLUMNS = [1209, 1336, 1477];
const DTMF_KEYS = ['123', '456', '789', '*0#'];

function goertzelPower(samples: Float32Array, sampleRate: number, frequency: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let previous = 0;
  let beforePrevious = 0;
  for (const sample of samples) {
    const next = sample + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = next;
  }
  return previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
}

/**
 * A small DTMF detector: in each 40 ms frame, the strongest row and column tone must both
 * clearly dominate their group and carry most of the frame's energy; a digit counts once it
 * was seen in two frames in a row, and again only after a frame without it.
 */
function listenForDtmf(stream: MediaStream): void {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const frame = new Float32Array(analyser.fftSize);
  let candidate = '';
  let seen = 0;
  let reported = '';
  setInterval(() => {
    analyser.getFloatTimeDomainData(frame);
    let energy = 0;
    for (const sample of frame) energy += sample * sample;
    const total = (energy * frame.length) / 2;
    const rows = DTMF_ROWS.map((f) => goertzelPower(frame, context.sampleRate, f));
    const columns = DTMF_COLUMNS.map((f) => goertzelPower(frame, context.sampleRate, f));
    const digit = decide(rows, columns, total);
    if (digit === null) {
      candidate = '';
      seen = 0;
      reported = '';
      return;
    }
    if (digit === candidate) seen += 1;
    else {
      candidate = digit;
      seen = 1;
    }
    if (seen >= 2 && reported !== digit) {
      reported = digit;
      snapshot.heardDigits += digit;
    }
  }, 20);
}

function decide(rows: number[], columns: number[], total: number): string | null {
  const strongest = (powers: number[]) => {
    const sorted = [...powers].sort((a, b) => b - a);
    return { index: powers.indexOf(sorted[0] as number), top: sorted[0] as number, second: sorted[1] as number };
  };
  const row = strongest(rows);
  const column = strongest(columns);
  if (total < 1e-3) return null;
  if (row.top < row.second * 8 || column.top < column.second * 8) return null;
  if (row.top + column.top < total * 0.5) return null;
  return DTMF_KEYS[row.index]?.[column.index] ?? null;
}

function follow(session: Session): void {
  current = session;
  snapshot.sessions += 1;
  snapshot.session = session.state;
  session.stateChange.addListener((state) => {
    if (current === session) snapshot.session = state;
    if (state === SessionState.Established) playAndListen(session);
  });
  session.delegate = {
    onRefer: (referral: Referral) => {
      snapshot.refers.push(referral.referTo.toString());
      void referral.accept().then(() => {
        const inviter = referral.makeInviter(media);
        follow(inviter);
        return inviter.invite();
      });
    },
    onInfo: (info) => {
      const body = info.request.body ?? '';
      const match = /Signal=\s*([0-9*#A-D])/i.exec(body);
      if (match) snapshot.infoDigits += match[1];
      void info.accept();
    },
  };
}

async function start(options: CallerOptions): Promise<void> {
  const uri = UserAgent.makeURI(`sip:${options.user}@${options.domain}`);
  if (!uri) throw new Error(`bad user ${options.user}`);
  userAgent = new UserAgent({
    uri,
    transportOptions: { server: options.wsUrl },
    authorizationUsername: options.username,
    authorizationPassword: options.password,
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] } },
    logBuiltinEnabled: false,
    delegate: {
      onInvite: (invitation) => {
        follow(invitation);
        void invitation.accept(media);
      },
    },
  });
  await userAgent.start();
  const registerer = new Registerer(userAgent);
  registerer.stateChange.addListener((state) => {
    snapshot.registration = state;
  });
  await registerer.register();
}

async function call(target: string, extraHeaders: string[] = []): Promise<void> {
  const targetUri = UserAgent.makeURI(target);
  if (!userAgent || !targetUri) throw new Error(`cannot call ${target}`);
  const inviter = new Inviter(userAgent, targetUri, { ...media, extraHeaders });
  follow(inviter);
  await inviter.invite();
}

async function hangUp(): Promise<void> {
  if (!current) return;
  if (current.state === SessionState.Established) await current.bye();
  else if (current instanceof Inviter && current.state === SessionState.Establishing) await current.cancel();
}

async function inboundAudio(): Promise<InboundAudio> {
  const connection = current ? peerConnectionOf(current) : undefined;
  const result: InboundAudio = { packets: 0, level: 0, energy: 0 };
  if (!connection) return result;
  (await connection.getStats()).forEach((report: { type: string; kind?: string; packetsReceived?: number; audioLevel?: number; totalAudioEnergy?: number }) => {
    if (report.type === 'inbound-rtp' && report.kind === 'audio') {
      result.packets += report.packetsReceived ?? 0;
      result.level = Math.max(result.level, report.audioLevel ?? 0);
      result.energy += report.totalAudioEnergy ?? 0;
    }
  });
  return result;
}

const api = { start, call, hangUp, inboundAudio, snapshot: (): CallerSnapshot => ({ ...snapshot, refers: [...snapshot.refers] }) };
export type CallerApi = typeof api;
(window as unknown as { tsunaguCaller: CallerApi }).tsunaguCaller = api;
