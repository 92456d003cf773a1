import type { MonitorMode } from '../../../shared/monitoring.js';
import { assertNever } from '../../../shared/result.js';
import type { CallMix } from '../phone/engine.js';

/**
 * The operator's side of live monitoring (issue 11): a local conference mixed with WebAudio,
 * the way browser softphones do three-way calls without a conference server.
 *
 * - to the supervisor: the customer + the operator's microphone, in every mode;
 * - to the customer: the operator's microphone, + the supervisor in barge;
 * - the operator's ear: the customer (the call's own audio element, untouched) + the supervisor
 *   in whisper and barge.
 *
 * The gains decide the mode, so a switch never renegotiates media. The phone drives the rest
 * (engine.ts CallMix): mute closes the microphone's gain, so the supervisor does not hear a muted
 * operator either; a new microphone replaces the mix's input, a new speaker its output.
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

export class OperatorMonitorMix implements CallMix {
  readonly #context: AudioContext;
  /** The operator's microphone into both outputs; 0 while the operator is muted. */
  readonly #microphoneGain: GainNode;
  #microphone: MediaStreamAudioSourceNode;
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
    this.#microphoneGain = context.createGain();
    this.#microphone = context.createMediaStreamSource(new MediaStream([input.microphone]));
    this.#microphone.connect(this.#microphoneGain);
    const customer = context.createMediaStreamSource(input.customer);
    const supervisor = context.createMediaStreamSource(input.supervisor);
    this.#toCustomer = context.createMediaStreamDestination();
    this.#toSupervisor = context.createMediaStreamDestination();
    this.#supervisorToCustomer = context.createGain();
    this.#supervisorToEar = context.createGain();

    this.#microphoneGain.connect(this.#toCustomer);
    this.#microphoneGain.connect(this.#toSupervisor);
    customer.connect(this.#toSupervisor);
    supervisor.connect(this.#supervisorToCustomer).connect(this.#toCustomer);
    supervisor.connect(this.#supervisorToEar).connect(context.destination);

    this.#keepAlive = new Audio();
    this.#keepAlive.muted = true;
    this.#keepAlive.srcObject = input.supervisor;
    this.#keepAlive.play().catch((error: unknown) => console.warn('the supervisor stream did not start', error));
    this.useSpeaker(input.speakerId);
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

  useMicrophone(track: MediaStreamTrack): void {
    this.#microphone.disconnect();
    this.#microphone = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#microphone.connect(this.#microphoneGain);
  }

  setMicrophoneOpen(open: boolean): void {
    this.#microphoneGain.gain.setValueAtTime(open ? 1 : 0, this.#context.currentTime);
  }

  useSpeaker(deviceId: string | null): void {
    const sink = this.#context as AudioContext & { setSinkId?: (id: string) => Promise<void> };
    if (!sink.setSinkId) return;
    sink.setSinkId(deviceId && deviceId !== 'default' ? deviceId : '').catch((error: unknown) => console.warn('the supervisor cannot be routed to the chosen speaker', error));
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
