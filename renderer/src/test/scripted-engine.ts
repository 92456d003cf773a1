import { parseCallerIdentity, type CallerHeaders } from '../phone/caller-identity.js';
import type { EndReason } from '../phone/call-machine.js';
import { splitAor } from '../phone/dial-target.js';
import {
  PhoneError,
  type DialedCall,
  type EngineFactory,
  type EngineListener,
  type EngineOptions,
  type IncomingDecision,
  type PhoneEngine,
} from '../phone/engine.js';

/**
 * A stand-in for the SIP stack in renderer tests, acting like a cooperative PBX: it records
 * every command the store gives, confirms answers, holds and transfers at once (unless told
 * to refuse), and lets the test play the network: calls arriving, the far end hanging up,
 * the socket dropping. The real engine (sip-engine.ts) is exercised end to end in
 * e2e/softphone.spec.ts against Kamailio.
 */
export class ScriptedEngine implements PhoneEngine {
  readonly extension: string;
  readonly domain: string;
  readonly commands: Array<{ name: string; args: unknown[] }> = [];
  readonly decisions = new Map<string, IncomingDecision>();
  /** Commands that fail with a PhoneError instead of succeeding. */
  readonly refuse = new Set<string>();
  started = false;
  stopped = false;
  #listener: EngineListener;
  #sequence = 0;
  readonly options: EngineOptions;

  constructor(options: EngineOptions) {
    this.options = options;
    this.#listener = options.listener;
    const aor = splitAor(options.credentials.aor);
    this.extension = aor?.user ?? 'unknown';
    this.domain = aor?.domain ?? 'tsunagu.test';
  }

  #record(name: string, ...args: unknown[]): void {
    this.commands.push({ name, args });
    if (this.refuse.has(name)) throw new PhoneError('refused', `${name} refused by the test`);
  }

  callsTo(name: string): unknown[][] {
    return this.commands.filter((command) => command.name === name).map((command) => command.args);
  }

  // ---- the network, played by the test --------------------------------------------------------

  registered(): void {
    this.#listener.registration({ type: 'transportConnected', at: new Date().toISOString() });
    this.#listener.registration({ type: 'registered', at: new Date().toISOString() });
  }

  socketLost(): void {
    this.#listener.registration({ type: 'transportLost', at: new Date().toISOString(), reason: 'connection closed' });
  }

  /** An INVITE arrives; returns the call's id and what the store decided. */
  /**
   * An INVITE for a new call. `announced`: as the sip.js engine does, the call is first announced
   * on its arrival (`arriving`), then handed over (`incoming`).
   */
  ring(
    headers: CallerHeaders,
    options: { sipCallId?: string; replacing?: string | null; region?: string; announced?: boolean } = {},
  ): { id: string; decision: IncomingDecision } {
    const id = `session-${++this.#sequence}`;
    const sipCallId = options.sipCallId ?? `call-${this.#sequence}@test`;
    const identity = parseCallerIdentity(headers, options.region ?? 'JP');
    if (options.announced) this.#listener.arriving?.({ id, sipCallId, identity });
    const decision = this.#listener.incoming({
      id,
      sipCallId,
      identity,
      at: new Date().toISOString(),
      replacing: options.replacing ?? null,
    });
    this.decisions.set(id, decision);
    return { id, decision };
  }

  established(id: string): void {
    this.#listener.callEvent(id, { type: 'established', at: new Date().toISOString() });
  }

  ended(id: string, reason?: EndReason): void {
    this.#listener.callEvent(id, { type: 'terminated', at: new Date().toISOString(), ...(reason ? { reason } : {}) });
  }

  // ---- PhoneEngine -----------------------------------------------------------------------------

  start(): void {
    this.#record('start');
    this.started = true;
    this.#listener.registration({ type: 'start', at: new Date().toISOString() });
  }

  async stop(): Promise<void> {
    this.#record('stop');
    this.stopped = true;
    this.#listener.registration({ type: 'stopped', at: new Date().toISOString() });
  }

  async answer(id: string): Promise<void> {
    this.#record('answer', id);
    this.established(id);
  }

  async decline(id: string): Promise<void> {
    this.#record('decline', id);
    this.ended(id, 'declined');
  }

  async hangup(id: string): Promise<void> {
    this.#record('hangup', id);
    this.ended(id, 'hangup');
  }

  async setHold(id: string, hold: boolean): Promise<void> {
    this.#record('setHold', id, hold);
    this.#listener.callEvent(id, { type: hold ? 'held' : 'resumed' });
  }

  setMuted(id: string, muted: boolean): void {
    this.#record('setMuted', id, muted);
    this.#listener.callEvent(id, { type: 'muted', muted });
  }

  async sendDtmf(id: string, digit: string): Promise<void> {
    this.#record('sendDtmf', id, digit);
  }

  dial(uri: string): DialedCall {
    this.#record('dial', uri);
    const id = `session-${++this.#sequence}`;
    return { id, sipCallId: `call-${this.#sequence}@test`, uri };
  }

  async blindTransfer(id: string, uri: string): Promise<void> {
    this.#record('blindTransfer', id, uri);
    this.ended(id, 'transferred');
  }

  async attendedTransfer(id: string, consultId: string): Promise<void> {
    this.#record('attendedTransfer', id, consultId);
    this.ended(id, 'transferred');
    this.ended(consultId, 'transferred');
  }

  async applyAudioDevices(): Promise<void> {
    this.#record('applyAudioDevices');
  }

  recoverConnection(): void {
    this.#record('recoverConnection');
  }
}

/** Installs a factory that keeps the engine it made, for the test to drive. */
export function scriptedEngineFactory(): { factory: EngineFactory; current(): ScriptedEngine } {
  let engine: ScriptedEngine | null = null;
  return {
    factory: (options) => {
      engine = new ScriptedEngine(options);
      return engine;
    },
    current: () => {
      if (!engine) throw new Error('the phone has not started an engine yet');
      return engine;
    },
  };
}
