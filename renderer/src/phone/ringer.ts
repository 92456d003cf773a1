import { routeToDevice } from './audio-devices.js';

/**
 * The ringtone, generated with WebAudio (nothing to ship, nothing for the CSP to allow) and
 * played through an <audio> element so that it can go to the ring device with setSinkId
 * while the call itself uses the headset.
 *
 * Important: browsers may refuse to start audio before the user has interacted with the
 * page. That must never break the phone: `start` reports `blocked` and the UI offers a
 * button that unlocks sound.
 */

export type RingMode = 'normal' | 'soft';
export type RingOutcome = 'playing' | 'blocked' | 'unsupported';

const SAMPLE_RATE = 16_000;

/**
 * One cycle of a Japanese-style ring (a 400 Hz tone warbling at 16 Hz, one second on, two
 * off); the call-waiting ring is two short quiet beeps every four seconds.
 */
export function ringCycle(mode: RingMode): Float32Array<ArrayBuffer> {
  if (mode === 'normal') {
    const samples = new Float32Array(SAMPLE_RATE * 3);
    for (let i = 0; i < SAMPLE_RATE; i++) {
      const t = i / SAMPLE_RATE;
      const warble = 0.5 + 0.5 * Math.sin(2 * Math.PI * 16 * t);
      samples[i] = 0.35 * warble * Math.sin(2 * Math.PI * 400 * t);
    }
    return samples;
  }
  const samples = new Float32Array(SAMPLE_RATE * 4);
  for (const start of [0, 0.3]) {
    const from = Math.floor(start * SAMPLE_RATE);
    for (let i = 0; i < SAMPLE_RATE * 0.15; i++) samples[from + i] = 0.12 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE);
  }
  return samples;
}

export class Ringer {
  #context: AudioContext | null = null;
  #source: AudioBufferSourceNode | null = null;
  /**
   * Important: one destination and one element for the ringer's whole life, each ring only a new
   * buffer source (a source node plays once). Chromium keeps every MediaStreamAudioDestinationNode
   * and its MediaStream for as long as their context lives, stopped track or not: one per ring
   * left 100 behind per 100 calls (bench:memory's heap census).
   */
  #destination: MediaStreamAudioDestinationNode | null = null;
  #element: HTMLAudioElement | null = null;
  #mode: RingMode | null = null;
  readonly #buffers = new Map<RingMode, AudioBuffer>();

  get mode(): RingMode | null {
    return this.#mode;
  }

  /** Creates the audio context ahead of the first call (it may start suspended; start() resumes it). */
  prepare(): void {
    if (this.#context || typeof AudioContext === 'undefined') return;
    try {
      this.#context = new AudioContext();
    } catch (error) {
      console.warn('no audio context for the ringtone', error);
    }
  }

  async start(mode: RingMode, deviceId: string | null): Promise<RingOutcome> {
    if (this.#mode === mode) return 'playing';
    this.stop();
    if (typeof AudioContext === 'undefined' || typeof Audio === 'undefined') return 'unsupported';
    this.#mode = mode;
    try {
      const context = this.#context ?? new AudioContext();
      this.#context = context;
      let buffer = this.#buffers.get(mode);
      if (!buffer) {
        const cycle = ringCycle(mode);
        buffer = context.createBuffer(1, cycle.length, SAMPLE_RATE);
        buffer.copyToChannel(cycle, 0);
        this.#buffers.set(mode, buffer);
      }
      const destination = this.#destination ?? context.createMediaStreamDestination();
      this.#destination = destination;
      const element = this.#element ?? new Audio();
      if (!this.#element) {
        element.srcObject = destination.stream;
        this.#element = element;
      }
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.loop = true;
      source.connect(destination);
      source.start();
      this.#source = source;
      await routeToDevice(element, deviceId);
      if (context.state === 'suspended') await context.resume();
      // The ring may have been stopped while the device was being chosen.
      if (this.#source !== source) return 'playing';
      await element.play();
      return 'playing';
    } catch (error) {
      console.warn('the ringtone could not play', error);
      this.stop();
      return 'blocked';
    }
  }

  /** Moves a playing ringtone to another device. */
  async setDevice(deviceId: string | null): Promise<void> {
    if (this.#element) await routeToDevice(this.#element, deviceId);
  }

  stop(): void {
    this.#mode = null;
    try {
      this.#source?.stop();
    } catch {
      // Never started: nothing to stop.
    }
    this.#source?.disconnect();
    this.#source = null;
    this.#element?.pause();
  }

  /** Called from a click: lets the page start audio from now on. */
  async unlock(): Promise<void> {
    if (typeof AudioContext === 'undefined') return;
    this.#context ??= new AudioContext();
    try {
      await this.#context.resume();
    } catch (error) {
      console.warn('audio is still blocked', error);
    }
  }
}
