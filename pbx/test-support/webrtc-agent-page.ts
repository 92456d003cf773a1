/**
 * Runs in headless Chromium (bundled by webrtc-agent.ts): a bare sip.js user agent
 * that registers, answers every call, can place one, and plays what it receives, so
 * tests can check real WebRTC audio through Kamailio and rtpengine. Not the app's
 * softphone; only the PBX is under test here.
 */
import { Invitation, Inviter, Registerer, SessionState, UserAgent, type Session } from 'sip.js';

export interface TestAgentOptions {
  user: string;
  domain: string;
  wsUrl: string;
  username: string;
  password: string;
}

export interface TestAgentSnapshot {
  registration: string;
  session: string;
  /** Identity headers of each INVITE as the agent received it. */
  invites: Array<{ assertedIdentity: string | null; customerId: string | null }>;
}

export interface InboundAudio {
  packets: number;
  /** totalAudioEnergy of the played-out remote track: above 0 once sound was heard. */
  energy: number;
}

const snapshot: TestAgentSnapshot = { registration: 'Initial', session: 'none', invites: [] };
let current: Session | undefined;
let userAgent: UserAgent | undefined;
const mediaOptions = { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } };

function peerConnectionOf(session: Session): RTCPeerConnection | undefined {
  const handler = session.sessionDescriptionHandler as { peerConnection?: RTCPeerConnection } | undefined;
  return handler?.peerConnection;
}

// Inbound audio level is measured on play-out: without a sink Chrome reports silence.
function playRemoteAudio(session: Session): void {
  const connection = peerConnectionOf(session);
  if (!connection) return;
  const audio = new Audio();
  audio.srcObject = new MediaStream(connection.getReceivers().map((receiver) => receiver.track));
  audio.play().catch((error: unknown) => console.error('remote audio did not play', error));
}

function follow(session: Session): void {
  current = session;
  session.stateChange.addListener((state) => {
    snapshot.session = state;
    if (state === SessionState.Established) playRemoteAudio(session);
  });
}

async function start(options: TestAgentOptions): Promise<void> {
  const uri = UserAgent.makeURI(`sip:${options.user}@${options.domain}`);
  if (!uri) throw new Error(`bad user ${options.user}`);
  userAgent = new UserAgent({
    uri,
    transportOptions: { server: options.wsUrl },
    authorizationUsername: options.username,
    authorizationPassword: options.password,
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] } },
    delegate: {
      onInvite: (invitation: Invitation) => {
        snapshot.invites.push({
          assertedIdentity: invitation.request.getHeader('P-Asserted-Identity') ?? null,
          customerId: invitation.request.getHeader('X-Customer-Id') ?? null,
        });
        follow(invitation);
        invitation.accept(mediaOptions).catch((error: unknown) => console.error('accept failed', error));
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

async function call(target: string): Promise<void> {
  const targetUri = UserAgent.makeURI(target);
  if (!userAgent || !targetUri) throw new Error(`cannot call ${target}`);
  const inviter = new Inviter(userAgent, targetUri, mediaOptions);
  follow(inviter);
  await inviter.invite();
}

async function hangUp(): Promise<void> {
  if (current?.state === SessionState.Established) await current.bye();
}

async function inboundAudio(): Promise<InboundAudio> {
  const connection = current ? peerConnectionOf(current) : undefined;
  const result: InboundAudio = { packets: 0, energy: 0 };
  if (!connection) return result;
  (await connection.getStats()).forEach((report: { type: string; kind?: string; packetsReceived?: number; totalAudioEnergy?: number }) => {
    if (report.type === 'inbound-rtp' && report.kind === 'audio') {
      result.packets += report.packetsReceived ?? 0;
      result.energy += report.totalAudioEnergy ?? 0;
    }
  });
  return result;
}

const api = { start, call, hangUp, inboundAudio, snapshot: (): TestAgentSnapshot => snapshot };
export type TestAgentApi = typeof api;
(window as unknown as { tsunaguTestAgent: TestAgentApi }).tsunaguTestAgent = api;
