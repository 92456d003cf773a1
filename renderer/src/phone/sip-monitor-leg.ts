import { Invitation, Inviter, SessionState, type Session, type SessionDescriptionHandlerOptions, type Web } from 'sip.js';
import { MONITOR_INFO_CONTENT_TYPE, MonitorMode } from '../../../shared/monitoring.js';
import type { MonitorLeg, MonitorLegEnd } from './engine.js';

/**
 * A monitoring leg on sip.js (issue 11): a session the SIP engine keeps apart from the
 * operator's calls. Mode switches travel as SIP INFO with a `mode=<listen|whisper|barge>` body;
 * the receiver treats it as a hint and takes the mode from the backend.
 */

const AUDIO_ONLY = { constraints: { audio: true, video: false } } as SessionDescriptionHandlerOptions;

function handlerOf(session: Session): Web.SessionDescriptionHandler | undefined {
  return session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
}

/** The audio sender of a call or a leg (its track is null while nothing is sent). */
export function audioSenderOf(session: Session): RTCRtpSender | undefined {
  return handlerOf(session)?.peerConnection?.getSenders().find((sender) => sender.track?.kind === 'audio' || sender.track === null);
}

export function parseModeInfo(body: string): MonitorMode | null {
  const match = /^\s*mode\s*=\s*([a-z]+)\s*$/i.exec(body);
  const parsed = MonitorMode.safeParse(match?.[1]?.toLowerCase());
  return parsed.success ? parsed.data : null;
}

export class SipMonitorLeg implements MonitorLeg {
  readonly established: Promise<void>;
  onModeInfo: ((mode: MonitorMode) => void) | null = null;
  onEnded: ((reason: MonitorLegEnd) => void) | null = null;
  #hungUp = false;
  #connected = false;
  #microphoneEnabled = true;

  constructor(readonly session: Session) {
    this.established = new Promise<void>((resolve, reject) => {
      session.stateChange.addListener((state) => {
        // The microphone opens while the INVITE is built: a silent leg stays silent from the first packet.
        if (state === SessionState.Establishing || state === SessionState.Established) this.#applyMicrophone();
        if (state === SessionState.Established) {
          this.#connected = true;
          resolve();
        } else if (state === SessionState.Terminated) {
          reject(new Error('the monitoring call did not connect'));
          this.onEnded?.(this.#hungUp ? 'hangup' : this.#connected ? 'remote_hangup' : 'failed');
        }
      });
    });
    // Nobody need wait on it; a failure is reported through onEnded.
    this.established.catch(() => undefined);
    session.delegate = {
      onBye: (bye) => {
        bye.accept().catch(() => undefined);
      },
      onInfo: (info) => {
        const type = info.request.getHeader('Content-Type') ?? '';
        const mode = type.toLowerCase().startsWith(MONITOR_INFO_CONTENT_TYPE) ? parseModeInfo(info.request.body ?? '') : null;
        if (mode === null) {
          info.reject({ statusCode: 415 }).catch(() => undefined);
          return;
        }
        info.accept().catch(() => undefined);
        this.onModeInfo?.(mode);
      },
      onRefer: (referral) => {
        referral.reject({ statusCode: 603 }).catch(() => undefined);
      },
    };
  }

  get id(): string {
    return this.session.id;
  }

  /** Answers an incoming monitoring INVITE without ringing. */
  static answer(invitation: Invitation): SipMonitorLeg {
    const leg = new SipMonitorLeg(invitation);
    invitation.accept({ sessionDescriptionHandlerOptions: AUDIO_ONLY }).catch((error: unknown) => console.warn('could not answer the monitoring call', error));
    return leg;
  }

  static place(inviter: Inviter): SipMonitorLeg {
    const leg = new SipMonitorLeg(inviter);
    inviter.invite().catch((error: unknown) => console.warn('the monitoring call failed', error));
    return leg;
  }

  remoteStream(): MediaStream | null {
    return handlerOf(this.session)?.remoteMediaStream ?? null;
  }

  async replaceOutgoingTrack(track: MediaStreamTrack | null): Promise<void> {
    await audioSenderOf(this.session)?.replaceTrack(track);
  }

  setMicrophoneEnabled(enabled: boolean): void {
    this.#microphoneEnabled = enabled;
    this.#applyMicrophone();
  }

  #applyMicrophone(): void {
    for (const track of handlerOf(this.session)?.localMediaStream.getAudioTracks() ?? []) track.enabled = this.#microphoneEnabled;
  }

  async sendMode(mode: MonitorMode): Promise<void> {
    if (this.session.state !== SessionState.Established) return;
    await this.session.info({ requestOptions: { body: { contentDisposition: 'render', contentType: MONITOR_INFO_CONTENT_TYPE, content: `mode=${mode}` } } });
  }

  async hangup(): Promise<void> {
    this.#hungUp = true;
    const session = this.session;
    if (session.state === SessionState.Established) await session.bye();
    else if (session instanceof Inviter && (session.state === SessionState.Initial || session.state === SessionState.Establishing)) await session.cancel();
    else if (session instanceof Invitation && session.state === SessionState.Initial) await session.reject({ statusCode: 487 });
  }

  async packetsReceived(): Promise<number> {
    const connection = handlerOf(this.session)?.peerConnection;
    if (!connection || connection.connectionState === 'closed') return 0;
    let packets = 0;
    (await connection.getStats()).forEach((report: { type: string; kind?: string; packetsReceived?: number }) => {
      if (report.type === 'inbound-rtp' && report.kind === 'audio') packets += report.packetsReceived ?? 0;
    });
    return packets;
  }
}
