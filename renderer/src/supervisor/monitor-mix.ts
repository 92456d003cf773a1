import type { MonitorMode } from '../../../shared/monitoring.js';
import { assertNever } from '../../../shared/result.js';

/**
 * The operator's side of live monitoring (issue 11): a local conference mixed with WebAudio,
 * the way browser softphones do three-way calls without a conference server.
 *
 * - to the supervisor: the customer + the operator's microphone, in every mode;
 * - to the customer: the operator's microphone, + the supervisor in barge;
 * - the operator's ear: the customer (the call's own audio element, untouched) + the supervisor
 *   in whisper and barge.
 *
 * The gains decide the mode, so a switch never renegotiates media.
 */
export interface MonitorMixInput {
  /** What the customer's call sends: the operator's microphone. */
  microphone: MediaStreamTrack;
  customer: MediaStream;
  supervisor: MediaStream;
  /** The operator's chosen speaker (AudioContext.setSinkId where the browser has it). */
  speakerId: string | null;
}

/** What each party gets from the supervisor in a mode: [operator hears, customer hears]. */
export function supervisorRouting(mode: MonitorMode): { toOperator: boolean; toCustomer: boolean } {
  switch (mode) {
    case 'listen':
      return { toOperator: false, toCustomer: false };
    case 'whisper':
      return { toOperator: true, toCustomer: false };
    case 'barge':
      return { toOperator: true, toCustomer: true };
    default:
      return assertNever(mode);
  }
}

export class OperatorMonitorMix {
  readonly #context: AudioContext;
  readonly #toCustomer: MediaStreamAudioDestinationNode;
  readonly #toSupervisor: MediaStreamAudioDestinationNode;
  readonly #supervisorToCustomer: GainNode;
  readonly #supervisorToEar: GainNode;
  /**
   * Important: Chrome feeds WebAudio only silence from a remote WebRTC stream that no media
   * element plays; a muted element keeps the supervisor's stream flowing.
   */
  readonly #keepAlive: HTMLAudioElement;

  constructor(input: MonitorMixInput) {
    const context = new AudioContext();
    this.#context = context;
    const microphone = context.createMediaStreamSource(new MediaStream([input.microphone]));
    const customer = context.createMediaStreamSource(input.customer);
    const supervisor = context.createMediaStreamSource(input.supervisor);
    this.#toCustomer = context.createMediaStreamDestination();
    this.#toSupervisor = context.createMediaStreamDestination();
    this.#supervisorToCustomer = context.createGain();
    this.#supervisorToEar = context.createGain();

    microphone.connect(this.#toCustomer);
    microphone.connect(this.#toSupervisor);
    customer.connect(this.#toSupervisor);
    supervisor.connect(this.#supervisorToCustomer).connect(this.#toCustomer);
    supervisor.connect(this.#supervisorToEar).connect(context.destination);

    this.#keepAlive = new Audio();
    this.#keepAlive.muted = true;
    this.#keepAlive.srcObject = input.supervisor;
    this.#keepAlive.play().catch((error: unknown) => console.warn('the supervisor stream did not start', error));
    const sink = context as AudioContext & { setSinkId?: (id: string) => Promise<void> };
    if (input.speakerId && input.speakerId !== 'default' && sink.setSinkId) {
      sink.setSinkId(input.speakerId).catch((error: unknown) => console.warn('the supervisor cannot be routed to the chosen speaker', error));
    }
    void context.resume().catch(() => undefined);
    this.setMode('listen');
  }

  /** Sent to the customer instead of the bare microphone. */
  get toCustomer(): MediaStreamTrack {
    return this.#track(this.#toCustomer);
  }

  get toSupervisor(): MediaStreamTrack {
    return this.#track(this.#toSupervisor);
  }

  #track(destination: MediaStreamAudioDestinationNode): MediaStreamTrack {
    const track = destination.stream.getAudioTracks()[0];
    if (!track) throw new Error('the mixer has no output track');
    return track;
  }

  setMode(mode: MonitorMode): void {
    const routing = supervisorRouting(mode);
    const at = this.#context.currentTime;
    this.#supervisorToEar.gain.setValueAtTime(routing.toOperator ? 1 : 0, at);
    this.#supervisorToCustomer.gain.setValueAtTime(routing.toCustomer ? 1 : 0, at);
  }

  close(): void {
    this.#keepAlive.pause();
    this.#keepAlive.srcObject = null;
    for (const destination of [this.#toCustomer, this.#toSupervisor]) for (const track of destination.stream.getTracks()) track.stop();
    void this.#context.close().catch(() => undefined);
  }
}
