import {
  Core,
  Invitation,
  Inviter,
  Registerer,
  RegistererState,
  SessionState,
  SIPExtension,
  UserAgent,
  UserAgentState,
  Web,
  type Session,
  type SessionDescriptionHandlerOptions,
} from 'sip.js';
import type { SipCredentials, TelephonySettings } from '../../../shared/ipc.js';
import { MONITOR_HEADER } from '../../../shared/monitoring.js';
import { DEFAULT_DEVICE_ID, microphoneConstraints, routeToDevice, useAudioStore, type ResolvedDevice } from './audio-devices.js';
import { parseCallerIdentity, type CallerIdentity } from './caller-identity.js';
import type { CallDirection, EndReason } from './call-machine.js';
import { splitAor } from './dial-target.js';
import {
  isDtmfDigit,
  PhoneError,
  type CallMix,
  type DialedCall,
  type EngineFactory,
  type EngineListener,
  type EngineOptions,
  type MonitorSignalling,
  type PhoneEngine,
} from './engine.js';
import { audioSenderOf, SipMonitorLeg } from './sip-monitor-leg.js';
import { responseForUnparseable, unsupportedRequireTags } from './incoming-screen.js';
import { Reconnector } from './reconnector.js';
import { credentialRefreshDelayMs } from './registration-machine.js';
import { RingBackstop } from './ring-backstop.js';
import { markInvite, markReceived, markRefused } from './screen-pop-marks.js';

/**
 * The softphone on sip.js 0.21's API layer (UserAgent, Registerer, Inviter, Invitation):
 * one user agent per signed-in operator, any number of sessions. It owns the SIP and media
 * details and reports outcomes to the phone store through the EngineListener.
 *
 * Reconnection is ours, not sip.js's (reconnectionAttempts 0): a lost socket is retried with
 * a short capped backoff and at once on `online` and when the window becomes visible again,
 * and every reconnect re-registers and re-INVITEs the live calls so that they follow the
 * new connection where the PBX allows it.
 */

const REGISTER_EXPIRES_SECONDS = 300;
/** After the PBX refused fresh credentials, try again this much later rather than in a loop. */
const REJECTED_RETRY_MS = 15_000;
const CREDENTIALS_RETRY_MS = 10_000;
const STOP_STEP_TIMEOUT_MS = 2_000;
/** A hidden window that comes back after this long has probably slept: refresh the registration. */
const SLEEP_SUSPECTED_MS = 30_000;
const DTMF_DURATION_MS = 160;
const DTMF_GAP_MS = 70;

const AUDIO_ONLY: SessionDescriptionHandlerOptions = { constraints: { audio: true, video: false } } as SessionDescriptionHandlerOptions;

interface TrackedCall {
  session: Session;
  direction: CallDirection;
  /** The dialled URI of an outbound call (a colleague's AOR for a consult call). */
  uri: string | null;
  /** Why it ends, when this side decided (sip.js only says "terminated"). */
  ending: EndReason | null;
  audio: HTMLAudioElement | null;
  held: boolean;
  muted: boolean;
  /** Which microphone the call sends from: compared after a devicechange. */
  microphone: string | null;
  /** Live monitoring's mix, sent instead of the microphone while attached. */
  mix: CallMix | null;
}

export const createSipEngine: EngineFactory = (options) => new SipEngine(options);

function now(): string {
  return new Date().toISOString();
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function deviceKey(device: ResolvedDevice | null): string {
  return device ? `${device.deviceId}|${device.groupId}|${device.label}` : 'none';
}

async function acquireMicrophone(): Promise<MediaStream> {
  const audio = microphoneConstraints();
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: false });
  } catch (error) {
    // The chosen device may have gone between the choice and the call: use the default.
    if (audio === true) throw error;
    return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))]);
}

/**
 * sip.js parses every message its transport delivers, and the phone has just parsed it to
 * screen it (#screenIncoming): the grammar is most of the cost of taking an INVITE, so sip.js
 * is handed that parse instead of making its own. Only the very text just parsed is served.
 */
type ParsedMessage = NonNullable<ReturnType<typeof Core.Parser.parseMessage>>;
let parsedForSipJs: { raw: string; message: ParsedMessage } | null = null;
const parseMessageOfSipJs = Core.Parser.parseMessage;
Core.Parser.parseMessage = (raw, logger) => {
  const handed = parsedForSipJs;
  parsedForSipJs = null;
  return handed !== null && handed.raw === raw ? handed.message : parseMessageOfSipJs(raw, logger);
};

function handOverParse(raw: string, message: ParsedMessage): void {
  parsedForSipJs = { raw, message };
}

/**
 * An INVITE as a PBX sends one to this phone, parsed a few times when the phone starts, one
 * parse per task: the first real call would otherwise pay for compiling the SIP grammar and the
 * caller-identity code while it rings (the first pop of a session measured 140 ms against
 * 13-20 ms warm). Nothing is sent and sip.js never sees these.
 */
const WARM_UP_INVITE = [
  'INVITE sip:warm-up@127.0.0.1:5060;transport=ws SIP/2.0',
  'Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bK-warm-up;rport',
  'Record-Route: <sip:127.0.0.1:8443;transport=ws;lr>',
  'Max-Forwards: 69',
  'From: "Warm-up" <sip:0312345678@trunk.invalid>;tag=warm-up',
  'To: <sip:warm-up@trunk.invalid>',
  'Call-ID: warm-up@tsunagu.invalid',
  'CSeq: 1 INVITE',
  'Contact: <sip:0312345678@127.0.0.1:5070>',
  'P-Asserted-Identity: <sip:+81312345678@trunk.invalid>',
  'X-Customer-Id: warm-up',
  'Content-Type: application/sdp',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');
const WARM_UP_PARSES = 5;

/** Why an outbound call failed, from the final response. */
function reasonFromStatus(status: number): EndReason {
  if (status === 486 || status === 600 || status === 603 || status === 480 || status === 404 || status === 487) return 'rejected';
  return 'failed';
}

class SipEngine implements PhoneEngine {
  readonly extension: string;
  readonly domain: string;
  readonly #listener: EngineListener;
  readonly #fetchCredentials: EngineOptions['fetchCredentials'];
  readonly #settings: TelephonySettings;
  #credentials: SipCredentials;
  #ua: UserAgent | null = null;
  #registerer: Registerer | null = null;
  /** A REGISTER is out; sip.js refuses a second one meanwhile (RequestPendingError). */
  #registering = false;
  #registerAgain = false;
  readonly #calls = new Map<string, TrackedCall>();
  readonly #reconnector: Reconnector;
  readonly #ringBackstop = new RingBackstop((id) => this.#ringTimedOut(id));
  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #hiddenAt: number | null = null;
  #stopped = false;
  #credentialsRefusedOnce = false;
  #rebuildWhenIdle = false;
  #lastIdentity: { request: Core.IncomingRequestMessage; identity: CallerIdentity } | null = null;

  constructor(options: EngineOptions) {
    const aor = splitAor(options.credentials.aor);
    if (!aor) throw new PhoneError('failed', `aor: "${options.credentials.aor}" is not a sip: address`);
    this.extension = aor.user;
    this.domain = aor.domain;
    this.#credentials = options.credentials;
    this.#settings = options.settings;
    this.#listener = options.listener;
    this.#fetchCredentials = options.fetchCredentials;
    this.#reconnector = new Reconnector({
      attempt: () => this.#connectOnce(),
      isConnected: () => this.#ua?.isConnected() ?? false,
      onFailure: (_failures, error) => this.#listener.registration({ type: 'transportLost', at: now(), reason: describeError(error) }),
    });
  }

  start(): void {
    this.#ua = this.#makeUserAgent();
    window.addEventListener('online', this.#onOnline);
    document.addEventListener('visibilitychange', this.#onVisibilityChange);
    this.#listener.registration({ type: 'start', at: now() });
    this.#scheduleCredentialRefresh();
    this.#reconnector.now();
    this.#warmUpIncomingPath(this.#ua, WARM_UP_PARSES);
  }

  /** See WARM_UP_INVITE. */
  #warmUpIncomingPath(ua: UserAgent, parses: number): void {
    if (parses <= 0) return;
    setTimeout(() => {
      if (this.#stopped) return;
      const message = parseMessageOfSipJs(WARM_UP_INVITE, ua.getLogger('tsunagu.phone'));
      if (message instanceof Core.IncomingRequestMessage) this.#parseIdentity(message);
      this.#warmUpIncomingPath(ua, parses - 1);
    }, 0);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reconnector.stop();
    this.#ringBackstop.stopAll();
    for (const timer of [this.#refreshTimer, this.#retryTimer]) if (timer) clearTimeout(timer);
    window.removeEventListener('online', this.#onOnline);
    document.removeEventListener('visibilitychange', this.#onVisibilityChange);
    const ua = this.#ua;
    const registerer = this.#registerer;
    if (registerer && ua?.isConnected()) await withTimeout(registerer.unregister().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    // ua.stop() ends every session (BYE or CANCEL) before closing the socket.
    if (ua) await withTimeout(ua.stop().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    for (const call of this.#calls.values()) this.#releaseMedia(call);
    this.#listener.registration({ type: 'stopped', at: now() });
  }

  // ---- connection and registration ---------------------------------------------------------

  #makeUserAgent(): UserAgent {
    const uri = UserAgent.makeURI(this.#credentials.aor);
    if (!uri) throw new PhoneError('failed', `aor: "${this.#credentials.aor}" does not parse`);
    const mediaStreamFactory = async (constraints: MediaStreamConstraints): Promise<MediaStream> => {
      if (!constraints.audio && !constraints.video) return new MediaStream();
      return acquireMicrophone();
    };
    // A replaced user agent (new credentials for another PBX) still reports its own shutdown:
    // only the current one may move the registration state or trigger a reconnect.
    const isCurrent = (): boolean => this.#ua === ua;
    const ua: UserAgent = new UserAgent({
      uri,
      displayName: this.#credentials.displayName,
      authorizationUsername: this.#credentials.username,
      authorizationPassword: this.#credentials.password,
      transportOptions: { server: this.#credentials.wsUrl, connectionTimeout: 4, keepAliveInterval: 25 },
      sessionDescriptionHandlerFactory: Web.defaultSessionDescriptionHandlerFactory(mediaStreamFactory),
      sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 1_000 },
      sipExtensionReplaces: SIPExtension.Supported,
      // The 180 is sent by onInvite after the screen-pop mark, so the mark is the INVITE's arrival.
      sendInitialProvisionalResponse: false,
      reconnectionAttempts: 0,
      userAgentString: 'Tsunagu',
      logBuiltinEnabled: false,
      logLevel: 'error',
      logConnector: (level, category, _label, content) => {
        if (level === 'error') console.warn(`sip.js ${category}: ${content}`);
      },
      delegate: {
        onConnect: () => {
          if (isCurrent()) this.#onConnect();
        },
        onDisconnect: (error?: Error) => {
          if (isCurrent()) this.#onDisconnect(error);
        },
        onInvite: (invitation: Invitation) => {
          try {
            this.#onInvite(invitation);
          } catch (error) {
            // Whatever went wrong here, the caller still gets an answer rather than a timeout.
            console.warn('an incoming call could not be taken', error);
            if (invitation.state === SessionState.Initial) invitation.reject({ statusCode: 500 }).catch(() => undefined);
          }
        },
      },
    });
    this.#screenIncoming(ua);
    return ua;
  }

  /**
   * Every message passes here before sip.js sees it. Important: sip.js drops a request it cannot
   * parse (a `tel:` From, a raw UTF-8 user part) without any answer, and the caller would wait
   * for the PBX's timeout with nothing ringing; such a request gets a 400 built from its raw
   * text. An INVITE that requires an extension this phone lacks gets 420 (RFC 3261 8.2.2.3).
   */
  #screenIncoming(ua: UserAgent): void {
    const transport = ua.transport;
    const deliver = transport.onMessage;
    const logger = ua.getLogger('tsunagu.phone');
    transport.onMessage = (raw: string) => {
      const arrivedAt = performance.now();
      const message = Core.Parser.parseMessage(raw, logger);
      if (!message) {
        const toTag = crypto.randomUUID().replace(/-/g, '').slice(0, 16);
        const response = responseForUnparseable(raw, { status: 400, reason: 'Bad Request', toTag });
        if (response !== null) {
          console.warn(`answered a SIP request the phone could not parse with 400: ${raw.slice(0, raw.indexOf('\r\n'))}`);
          transport.send(response).catch((error: unknown) => console.warn('could not answer an unparseable request', error));
        }
        return;
      }
      if (message instanceof Core.IncomingRequestMessage && message.method === 'INVITE' && !message.toTag) {
        markReceived(message.callId, arrivedAt);
        const unsupported = unsupportedRequireTags(message.getHeaders('require'));
        if (unsupported.length > 0) {
          ua.userAgentCore.replyStateless(message, { statusCode: 420, extraHeaders: [`Unsupported: ${unsupported.join(', ')}`] });
          return;
        }
        this.#announceArriving(message);
      }
      handOverParse(raw, message);
      deliver?.(raw);
    };
  }

  /**
   * Tells the app about a new call before sip.js has built its session (a few milliseconds of
   * parsing, transactions and the 100 Trying), so that the screen pop's lookup is already on its
   * way to the core meanwhile. Monitoring legs, replacements and a stopped phone are left to
   * #onInvite.
   */
  #announceArriving(message: Core.IncomingRequestMessage): void {
    if (this.#stopped || !this.#listener.arriving || message.hasHeader(MONITOR_HEADER) || message.hasHeader('Replaces')) return;
    try {
      this.#listener.arriving({ id: message.callId + message.fromTag, sipCallId: message.callId, identity: this.#identityOf(message) });
    } catch (error) {
      // The call itself goes on: #onInvite looks the caller up then.
      console.warn('could not announce an arriving call', error);
    }
  }

  /** The caller as the INVITE names them; parsed once per INVITE (the arrival and #onInvite share it). */
  #identityOf(request: Core.IncomingRequestMessage): CallerIdentity {
    if (this.#lastIdentity?.request === request) return this.#lastIdentity.identity;
    const identity = this.#parseIdentity(request);
    this.#lastIdentity = { request, identity };
    return identity;
  }

  #parseIdentity(request: Core.IncomingRequestMessage): CallerIdentity {
    return parseCallerIdentity(
      {
        assertedIdentity: request.getHeaders('P-Asserted-Identity'),
        from: request.getHeader('From') ?? null,
        customerId: request.getHeader(this.#settings.customerIdHeader) ?? null,
      },
      this.#settings.defaultRegion,
    );
  }

  async #connectOnce(): Promise<void> {
    const ua = this.#ua;
    if (!ua || this.#stopped) return;
    if (ua.state === UserAgentState.Started) await ua.reconnect();
    else await ua.start();
  }

  #onConnect(): void {
    if (this.#stopped) return;
    this.#reconnector.connected();
    this.#listener.registration({ type: 'transportConnected', at: now() });
    this.#register();
    // The PBX reaches this phone through the new connection only once it has seen a
    // request from it: re-INVITE the live calls so they follow the new socket.
    for (const call of this.#calls.values()) {
      if (call.session.state === SessionState.Established) this.#reinvite(call).catch((error) => console.warn('re-INVITE after reconnect failed', error));
    }
  }

  #onDisconnect(error?: Error): void {
    if (this.#stopped) return;
    this.#listener.registration({ type: 'transportLost', at: now(), reason: error ? error.message : 'connection closed' });
    this.#reconnector.lost();
  }

  recoverConnection(): void {
    this.#onOnline();
  }

  readonly #onOnline = (): void => {
    if (this.#ua?.isConnected()) this.#register();
    else this.#reconnector.now();
  };

  readonly #onVisibilityChange = (): void => {
    if (document.visibilityState === 'hidden') {
      this.#hiddenAt = Date.now();
      return;
    }
    const hiddenFor = this.#hiddenAt === null ? 0 : Date.now() - this.#hiddenAt;
    this.#hiddenAt = null;
    if (!this.#ua?.isConnected()) this.#reconnector.now();
    else if (hiddenFor > SLEEP_SUSPECTED_MS) this.#register();
  };

  #makeRegisterer(ua: UserAgent): Registerer {
    const registerer = new Registerer(ua, { expires: REGISTER_EXPIRES_SECONDS });
    registerer.stateChange.addListener((state) => {
      if (this.#stopped) return;
      if (state === RegistererState.Registered) this.#listener.registration({ type: 'registered', at: now() });
      else if (state === RegistererState.Unregistered && ua.isConnected()) {
        // A refresh failed or the registrar let it lapse: register again.
        this.#listener.registration({ type: 'unregistered', at: now() });
        this.#register();
      }
    });
    return registerer;
  }

  #register(): void {
    const ua = this.#ua;
    if (!ua || this.#stopped || !ua.isConnected()) return;
    this.#registerer ??= this.#makeRegisterer(ua);
    const registerer = this.#registerer;
    if (this.#registering) {
      this.#registerAgain = true;
      return;
    }
    this.#registering = true;
    const settled = () => {
      this.#registering = false;
      if (this.#registerAgain && !this.#stopped) {
        this.#registerAgain = false;
        this.#register();
      }
    };
    registerer
      .register({
        requestDelegate: {
          onAccept: () => {
            this.#credentialsRefusedOnce = false;
            if (!this.#stopped) this.#listener.registration({ type: 'registered', at: now() });
            settled();
          },
          onReject: (response) => {
            settled();
            this.#onRegisterRejected(response.message.statusCode ?? 0, response.message.reasonPhrase ?? '');
          },
        },
      })
      .catch((error: unknown) => {
        this.#registering = false;
        if (this.#stopped) return;
        this.#listener.registration({ type: 'rejected', at: now(), reason: describeError(error) });
        this.#retryLater(REJECTED_RETRY_MS, () => this.#register());
      });
  }

  #onRegisterRejected(status: number, phrase: string): void {
    if (this.#stopped) return;
    const reason = `${status} ${phrase}`;
    // 401/403 after sip.js answered the challenge: the credentials are wrong or expired.
    // Fetch fresh ones once; if the PBX refuses those too, say so and retry slowly.
    if ((status === 401 || status === 403 || status === 407) && !this.#credentialsRefusedOnce) {
      this.#credentialsRefusedOnce = true;
      this.#listener.registration({ type: 'rejected', at: now(), reason });
      void this.#refreshCredentials();
      return;
    }
    this.#listener.registration({ type: 'rejected', at: now(), reason });
    this.#retryLater(REJECTED_RETRY_MS, () => {
      this.#credentialsRefusedOnce = false;
      void this.#refreshCredentials();
    });
  }

  #retryLater(ms: number, run: () => void): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#stopped) run();
    }, ms);
  }

  #scheduleCredentialRefresh(): void {
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      void this.#refreshCredentials();
    }, credentialRefreshDelayMs(this.#credentials.expiresAt, Date.now()));
  }

  /** New credentials from the core, then a REGISTER with them (the old ones are about to expire). */
  async #refreshCredentials(): Promise<void> {
    if (this.#stopped) return;
    const result = await this.#fetchCredentials();
    if (this.#stopped) return;
    if (!result.ok) {
      this.#listener.registration({ type: 'credentialsUnavailable', at: now(), reason: `${result.error.code}: ${result.error.message}` });
      this.#retryLater(CREDENTIALS_RETRY_MS, () => void this.#refreshCredentials());
      return;
    }
    const previous = this.#credentials;
    this.#credentials = result.value;
    this.#scheduleCredentialRefresh();
    if (previous.wsUrl !== result.value.wsUrl || previous.aor !== result.value.aor) {
      // Another PBX or identity: a new user agent, once no call depends on the old one.
      this.#rebuildWhenIdle = true;
      if (this.#calls.size === 0) await this.#rebuild();
      return;
    }
    const ua = this.#ua;
    if (!ua) return;
    ua.configuration.authorizationUsername = result.value.username;
    ua.configuration.authorizationPassword = result.value.password;
    if (ua.isConnected()) this.#register();
    else this.#reconnector.now();
  }

  async #rebuild(): Promise<void> {
    this.#rebuildWhenIdle = false;
    const old = this.#ua;
    this.#ua = null;
    this.#registerer = null;
    if (old) await withTimeout(old.stop().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    if (this.#stopped) return;
    this.#ua = this.#makeUserAgent();
    this.#listener.registration({ type: 'start', at: now() });
    this.#reconnector.now();
  }

  // ---- calls ---------------------------------------------------------------------------------

  #onInvite(invitation: Invitation): void {
    const request = invitation.request;
    if (request.hasHeader(MONITOR_HEADER)) {
      this.#onMonitorInvite(invitation);
      return;
    }
    markInvite(request.callId, request.from.uri.user ?? '');
    if (this.#stopped) {
      invitation.reject({ statusCode: 480 }).catch(() => undefined);
      return;
    }
    const identity = this.#identityOf(request);
    const replacee = invitation.replacee;
    const replaced = replacee ? this.#calls.get(replacee.id) : undefined;
    const decision = this.#listener.incoming({
      id: invitation.id,
      sipCallId: request.callId,
      identity,
      at: now(),
      replacing: replaced ? replacee?.id ?? null : null,
    });
    if (decision === 'busy') {
      markRefused(request.callId);
      invitation.reject({ statusCode: 486 }).catch((error: unknown) => console.warn('could not refuse a call', error));
      return;
    }
    this.#track(invitation, 'inbound', null);
    if (replaced) replaced.ending = 'replaced';
    if (decision === 'answer') {
      this.answer(invitation.id).catch((error: unknown) => console.warn('could not take over the replaced call', error));
      return;
    }
    invitation.progress().catch((error: unknown) => console.warn('could not send 180 Ringing', error));
    this.#ringBackstop.ring(invitation.id);
  }

  /**
   * Important: a monitoring INVITE never rings and never reaches the phone store, whatever the
   * operator's status; the listener verifies it with the backend before it is answered, and
   * without a listener it is refused.
   */
  #onMonitorInvite(invitation: Invitation): void {
    const request = invitation.request;
    const sessionId = (request.getHeader(MONITOR_HEADER) ?? '').trim();
    const listener = this.#listener.monitorInvite;
    if (this.#stopped || !listener || sessionId === '') {
      invitation.reject({ statusCode: 403 }).catch(() => undefined);
      return;
    }
    listener({
      sessionId,
      fromUser: request.from.uri.user ?? '',
      accept: () => SipMonitorLeg.answer(invitation),
      reject: (statusCode) => {
        if (invitation.state === SessionState.Initial) invitation.reject({ statusCode }).catch(() => undefined);
      },
    });
  }

  readonly monitor: MonitorSignalling = {
    placeMonitorCall: (uri, sessionId) => {
      const ua = this.#ua;
      if (!ua?.isConnected()) throw new PhoneError('not_registered', 'the phone is offline');
      const target = UserAgent.makeURI(uri);
      if (!target) throw new PhoneError('invalid_target', `target: "${uri}" is not a SIP URI`);
      const inviter = new Inviter(ua, target, { sessionDescriptionHandlerOptions: AUDIO_ONLY, extraHeaders: [`${MONITOR_HEADER}: ${sessionId}`] });
      return SipMonitorLeg.place(inviter);
    },
    callMedia: (id) => {
      const call = this.#calls.get(id);
      const handler = call?.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
      if (!call || !handler || call.session.state !== SessionState.Established || !audioSenderOf(call.session)) return null;
      return {
        remoteStream: handler.remoteMediaStream,
        microphone: handler.localMediaStream.getAudioTracks()[0] ?? null,
        attachMix: (mix) => this.#attachMix(call, mix),
      };
    },
  };

  /** Still ringing long after any PBX would have given up: its CANCEL was lost. */
  #ringTimedOut(id: string): void {
    const call = this.#calls.get(id);
    const session = call?.session;
    if (!call || !(session instanceof Invitation) || session.state !== SessionState.Initial) return;
    call.ending = 'missed';
    session.reject({ statusCode: 480 }).catch(() => session.dispose());
  }

  #track(session: Session, direction: CallDirection, uri: string | null): TrackedCall {
    const call: TrackedCall = { session, direction, uri, ending: null, audio: null, held: false, muted: false, microphone: null, mix: null };
    this.#calls.set(session.id, call);
    session.stateChange.addListener((state) => {
      if (state !== SessionState.Initial) this.#ringBackstop.stop(session.id);
      if (state === SessionState.Established) {
        call.microphone = deviceKey(useAudioStore.getState().resolved.microphone);
        this.#playRemoteAudio(call);
        this.#listener.callEvent(session.id, { type: 'established', at: now() });
        // Labels become readable once the microphone is in use.
        void useAudioStore.getState().refresh();
      } else if (state === SessionState.Terminated) {
        this.#releaseMedia(call);
        this.#calls.delete(session.id);
        this.#listener.callEvent(session.id, { type: 'terminated', at: now(), ...(call.ending ? { reason: call.ending } : {}) });
        if (this.#rebuildWhenIdle && this.#calls.size === 0) void this.#rebuild();
      }
    });
    session.delegate = {
      onBye: (bye) => {
        call.ending ??= 'remote_hangup';
        bye.accept().catch(() => undefined);
      },
      // This phone does not follow transfers requested by the other side.
      onRefer: (referral) => {
        referral.reject({ statusCode: 603 }).catch(() => undefined);
      },
      onInfo: (info) => {
        info.accept().catch(() => undefined);
      },
      onNotify: (notification) => {
        notification.accept().catch(() => undefined);
      },
    };
    return call;
  }

  #require(id: string): TrackedCall {
    const call = this.#calls.get(id);
    if (!call) throw new PhoneError('no_such_call', `no call ${id}`);
    return call;
  }

  #playRemoteAudio(call: TrackedCall): void {
    const handler = call.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    if (!handler) return;
    // Important: Chrome reports no inbound audio level for a remote track nobody plays, and
    // the operator would hear nothing: the stream goes to an element on the chosen speaker.
    const element = call.audio ?? new Audio();
    call.audio = element;
    element.autoplay = true;
    element.srcObject = handler.remoteMediaStream;
    void routeToDevice(element, useAudioStore.getState().resolved.speaker?.deviceId ?? null).then(() =>
      element.play().catch((error: unknown) => console.warn('remote audio did not start', error)),
    );
  }

  #releaseMedia(call: TrackedCall): void {
    if (call.audio) {
      call.audio.pause();
      call.audio.srcObject = null;
      call.audio = null;
    }
  }

  #peerConnection(call: TrackedCall): RTCPeerConnection | undefined {
    return (call.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.peerConnection;
  }

  #applyTrackStates(call: TrackedCall): void {
    const connection = this.#peerConnection(call);
    if (!connection) return;
    if (call.mix) {
      // Important: the microphone feeds the mix's way to the supervisor too, so mute closes it
      // there; hold silences only what the customer's call sends.
      const handler = call.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
      for (const track of handler?.localMediaStream.getAudioTracks() ?? []) track.enabled = !call.muted;
      call.mix.setMicrophoneOpen(!call.muted);
      call.mix.toCustomer.enabled = !call.held;
    } else {
      for (const sender of connection.getSenders()) if (sender.track) sender.track.enabled = !call.held && !call.muted;
    }
    for (const receiver of connection.getReceivers()) if (receiver.track) receiver.track.enabled = !call.held;
  }

  /** Sends the monitoring mix instead of the microphone, or the microphone again; no renegotiation. */
  async #attachMix(call: TrackedCall, mix: CallMix | null): Promise<void> {
    const handler = call.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    const sender = audioSenderOf(call.session);
    if (!handler || !sender) return;
    call.mix = mix;
    this.#applyTrackStates(call);
    await sender.replaceTrack(mix ? mix.toCustomer : (handler.localMediaStream.getAudioTracks()[0] ?? null));
    this.#applyTrackStates(call);
  }

  async answer(id: string): Promise<void> {
    const call = this.#require(id);
    if (!(call.session instanceof Invitation)) throw new PhoneError('failed', 'only an incoming call can be answered');
    try {
      await call.session.accept({ sessionDescriptionHandlerOptions: AUDIO_ONLY });
    } catch (error) {
      call.ending = 'failed';
      throw new PhoneError('media', `answer failed: ${describeError(error)}`);
    }
  }

  async decline(id: string): Promise<void> {
    const call = this.#require(id);
    if (!(call.session instanceof Invitation) || call.session.state !== SessionState.Initial) {
      throw new PhoneError('failed', 'only a ringing call can be declined');
    }
    call.ending = 'declined';
    // 486 rather than 603: a 6xx is final for the whole call, so a queue would stop trying
    // other operators; "busy here" lets the PBX go on.
    await call.session.reject({ statusCode: 486 });
  }

  async hangup(id: string): Promise<void> {
    const call = this.#require(id);
    const session = call.session;
    switch (session.state) {
      case SessionState.Initial:
      case SessionState.Establishing:
        if (session instanceof Inviter) {
          call.ending = 'cancelled';
          await session.cancel();
        } else if (session instanceof Invitation) {
          call.ending = 'declined';
          await session.reject({ statusCode: 486 });
        }
        return;
      case SessionState.Established:
        call.ending ??= 'hangup';
        await session.bye();
        return;
      default:
        return;
    }
  }

  async setHold(id: string, hold: boolean): Promise<void> {
    const call = this.#require(id);
    if (call.session.state !== SessionState.Established) throw new PhoneError('failed', 'the call is not connected');
    if (call.held === hold) return;
    const previous = call.session.sessionDescriptionHandlerOptionsReInvite as SessionDescriptionHandlerOptions & { hold?: boolean };
    call.session.sessionDescriptionHandlerOptionsReInvite = { ...previous, hold } as SessionDescriptionHandlerOptions;
    try {
      await this.#reinvite(call);
    } catch (error) {
      call.session.sessionDescriptionHandlerOptionsReInvite = { ...previous, hold: call.held } as SessionDescriptionHandlerOptions;
      throw error;
    }
    call.held = hold;
    this.#applyTrackStates(call);
    this.#listener.callEvent(id, { type: hold ? 'held' : 'resumed' });
  }

  /** A re-INVITE with the session's current options; resolves on 2xx, rejects otherwise. */
  #reinvite(call: TrackedCall): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      call.session
        .invite({
          requestDelegate: {
            onAccept: () => resolve(),
            onReject: (response) => reject(new PhoneError('refused', `re-INVITE refused: ${response.message.statusCode} ${response.message.reasonPhrase}`)),
          },
        })
        .catch((error: unknown) => reject(new PhoneError('failed', describeError(error))));
    });
  }

  setMuted(id: string, muted: boolean): void {
    const call = this.#require(id);
    call.muted = muted;
    this.#applyTrackStates(call);
    this.#listener.callEvent(id, { type: 'muted', muted });
  }

  async sendDtmf(id: string, digit: string): Promise<void> {
    if (!isDtmfDigit(digit)) throw new PhoneError('failed', `digit: "${digit}" is not a DTMF digit`);
    const call = this.#require(id);
    if (call.session.state !== SessionState.Established) throw new PhoneError('failed', 'the call is not connected');
    if (this.#settings.dtmfMode === 'info') {
      await call.session.info({
        requestOptions: {
          body: { contentDisposition: 'render', contentType: 'application/dtmf-relay', content: `Signal=${digit}\r\nDuration=${DTMF_DURATION_MS}` },
        },
      });
      return;
    }
    const sender = this.#peerConnection(call)
      ?.getSenders()
      .find((candidate) => candidate.dtmf !== null && candidate.track?.kind === 'audio');
    if (!sender?.dtmf || !sender.dtmf.canInsertDTMF) throw new PhoneError('media', 'this call cannot send RFC 4733 DTMF');
    sender.dtmf.insertDTMF(digit, DTMF_DURATION_MS, DTMF_GAP_MS);
  }

  dial(uri: string): DialedCall {
    const ua = this.#ua;
    if (!ua?.isConnected()) throw new PhoneError('not_registered', 'the phone is offline');
    const target = UserAgent.makeURI(uri);
    if (!target) throw new PhoneError('invalid_target', `target: "${uri}" is not a SIP URI`);
    const inviter = new Inviter(ua, target, { sessionDescriptionHandlerOptions: AUDIO_ONLY });
    const call = this.#track(inviter, 'outbound', uri);
    inviter
      .invite({
        requestDelegate: {
          onProgress: (response) => {
            const status = response.message.statusCode;
            if (status === 180 || status === 183) this.#listener.callEvent(inviter.id, { type: 'progress' });
          },
          onReject: (response) => {
            call.ending ??= reasonFromStatus(response.message.statusCode ?? 0);
          },
        },
      })
      .catch((error: unknown) => {
        call.ending ??= 'failed';
        console.warn('outbound call failed', error);
      });
    return { id: inviter.id, sipCallId: inviter.request.callId, uri };
  }

  async blindTransfer(id: string, uri: string): Promise<void> {
    const call = this.#require(id);
    const target = UserAgent.makeURI(uri);
    if (!target) throw new PhoneError('invalid_target', `target: "${uri}" is not a SIP URI`);
    await this.#refer(call, target);
    call.ending = 'transferred';
    await call.session.bye().catch((error: unknown) => console.warn('BYE after transfer failed', error));
  }

  async attendedTransfer(id: string, consultId: string): Promise<void> {
    const call = this.#require(id);
    const consult = this.#require(consultId);
    const dialog = consult.session.dialog;
    const colleague = consult.uri === null ? undefined : UserAgent.makeURI(consult.uri);
    if (!dialog || !colleague) throw new PhoneError('failed', 'the consultation call is not connected');
    // Refer-To names the colleague's address of record with Replaces for the consultation
    // dialog (RFC 3891). sip.js would put the colleague's Contact there, which for a WebSocket
    // phone is an ".invalid" host only the registrar can route: the AOR works on any PBX.
    const replacesTarget = {
      dialog: { remoteTarget: colleague, callId: dialog.callId, remoteTag: dialog.remoteTag, localTag: dialog.localTag },
      remoteIdentity: { friendlyName: consult.session.remoteIdentity.friendlyName },
    } as unknown as Session;
    await this.#refer(call, replacesTarget);
    call.ending = 'transferred';
    consult.ending = 'transferred';
    await call.session.bye().catch((error: unknown) => console.warn('BYE after transfer failed', error));
    // The colleague's phone ends the consultation call itself once the replacement arrives;
    // if it never does, the operator still has the colleague on the line and can hang up.
  }

  #refer(call: TrackedCall, target: Parameters<Session['refer']>[0]): Promise<void> {
    if (call.session.state !== SessionState.Established) return Promise.reject(new PhoneError('failed', 'the call is not connected'));
    return new Promise<void>((resolve, reject) => {
      call.session
        .refer(target, {
          requestDelegate: {
            onAccept: () => resolve(),
            onReject: (response) => reject(new PhoneError('refused', `transfer refused: ${response.message.statusCode} ${response.message.reasonPhrase}`)),
          },
        })
        .catch((error: unknown) => reject(new PhoneError('failed', describeError(error))));
    });
  }

  async applyAudioDevices(): Promise<void> {
    const { microphone, speaker } = useAudioStore.getState().resolved;
    for (const call of [...this.#calls.values()]) {
      if (call.audio) await routeToDevice(call.audio, speaker?.deviceId ?? DEFAULT_DEVICE_ID);
      call.mix?.useSpeaker(speaker?.deviceId ?? null);
      if (call.session.state !== SessionState.Established) continue;
      const key = deviceKey(microphone);
      if (call.microphone === key) continue;
      await this.#moveMicrophone(call, key);
    }
  }

  /**
   * Sends from another microphone without renegotiating: replaceTrack on the audio sender, or,
   * while live monitoring mixes the call, the mix's input (the call keeps sending the mix).
   */
  async #moveMicrophone(call: TrackedCall, key: string): Promise<void> {
    const handler = call.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    const sender = audioSenderOf(call.session);
    if (!handler || !sender) return;
    let stream: MediaStream;
    try {
      stream = await acquireMicrophone();
    } catch (error) {
      console.warn('the new microphone could not be opened', error);
      return;
    }
    const track = stream.getAudioTracks()[0];
    if (!track) return;
    const local = handler.localMediaStream;
    const old = local.getAudioTracks()[0] ?? null;
    if (call.mix) {
      call.mix.useMicrophone(track);
    } else {
      track.enabled = !call.held && !call.muted;
      await sender.replaceTrack(track);
    }
    // sip.js stops the tracks of its local stream when the call ends: keep it current.
    if (old) {
      local.removeTrack(old);
      old.stop();
    }
    local.addTrack(track);
    call.microphone = key;
    this.#applyTrackStates(call);
  }
}
