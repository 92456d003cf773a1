/**
 * What the media UA does on a call, once the 183 has been sent: the IVR (collect the customer
 * number, check it with the backend, three tries) and the queue's "please hold" loop. Each flow
 * ends with the final reply's headers for Kamailio's failure_route (CTI-CONTRACT §4).
 */
import { assertNever } from '../../shared/result.js';
import type { BackendClient } from './backend-client.js';
import type { Prompts } from './prompts.js';
import { MULAW_SILENCE, type MediaSession } from './rtp.js';

export interface FlowLimits {
  /** How many digits a customer number may have; a longer entry is a failed try. */
  maxDigits: number;
  /** Silence after the prompt ends, before a try with no digit counts as failed. */
  firstDigitTimeoutMs: number;
  /** A pause this long after a digit ends the entry, like `#`. */
  interDigitTimeoutMs: number;
  /** How often the hold flow asks the backend whether an operator is free. */
  queuePollMs: number;
  /** The hold flow gives up on a backend that has not answered for this long. */
  backendDownMs: number;
}

/** Three tries are the IVR's rule (CTI-CONTRACT §3); the backend refuses a fourth. */
export const IVR_TRIES = 3;

export interface FinalReply {
  status: number;
  reason: string;
  headers: Array<{ name: string; value: string }>;
}

export const IVR_FAILED: FinalReply = { status: 480, reason: 'IVR Done', headers: [{ name: 'X-Tsunagu-Ivr', value: 'failed' }] };

export function ivrFound(customerId: string): FinalReply {
  return { status: 480, reason: 'IVR Done', headers: [{ name: 'X-Tsunagu-Customer-Id', value: customerId }] };
}

export const QUEUE_READY: FinalReply = { status: 480, reason: 'Queue Ready', headers: [{ name: 'X-Tsunagu-Queue', value: 'ready' }] };
export const QUEUE_BACKEND_DOWN: FinalReply = {
  status: 480,
  reason: 'Queue Backend Down',
  headers: [{ name: 'X-Tsunagu-Queue', value: 'backend-down' }],
};
/**
 * A caller held past the UA's limit goes where a caller goes when the backend is down: the
 * fallback group, rather than on waiting for a queue that may never move.
 */
export const QUEUE_TIMED_OUT: FinalReply = { ...QUEUE_BACKEND_DOWN, reason: 'Queue Timeout' };

/** Everything a flow touches of its call. */
export interface FlowContext {
  tenant: string;
  /** The caller's Call-ID: the IVR's tries are counted per call by the backend. */
  callId: string;
  media: MediaSession;
  prompts: Prompts;
  backend: BackendClient;
  limits: FlowLimits;
  /** Aborted when the call is cancelled or runs out of time. */
  signal: AbortSignal;
  /** Set by the flow while it listens for digits. */
  digitListener: ((digit: string) => void) | null;
  log: (line: string) => void;
}

export class FlowAborted extends Error {
  override name = 'FlowAborted';
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new FlowAborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new FlowAborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function delay(ms: number): Promise<'elapsed'> {
  return new Promise((resolve) => setTimeout(() => resolve('elapsed'), ms));
}

type EntryEnd = 'hash' | 'pause' | 'no_digits' | 'too_long';

/**
 * Plays the prompt and collects one entry. A key pressed during the prompt stops it
 * (barge-in); `*` starts the entry over; `#` or a pause after a digit ends it.
 */
function collectEntry(ctx: FlowContext, prompt: Buffer): Promise<{ digits: string; end: EntryEnd }> {
  if (ctx.signal.aborted) return Promise.reject(new FlowAborted());
  return new Promise((resolve, reject) => {
    let digits = '';
    let tooLong = false;
    let timer: NodeJS.Timeout | undefined;
    let active = true;
    const cleanUp = () => {
      active = false;
      clearTimeout(timer);
      ctx.digitListener = null;
      ctx.signal.removeEventListener('abort', onAbort);
      ctx.media.stopPlayback();
    };
    const finish = (end: EntryEnd) => {
      if (!active) return;
      cleanUp();
      resolve({ digits: end === 'too_long' ? '' : digits, end });
    };
    const onAbort = () => {
      cleanUp();
      reject(new FlowAborted());
    };
    const arm = (ms: number, end: EntryEnd) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(tooLong ? 'too_long' : end), ms);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    ctx.digitListener = (digit) => {
      ctx.media.stopPlayback();
      if (digit === '#') return finish(tooLong ? 'too_long' : digits === '' ? 'no_digits' : 'hash');
      if (digit === '*') {
        digits = '';
        tooLong = false;
        return arm(ctx.limits.firstDigitTimeoutMs, 'no_digits');
      }
      // Keys beyond the limit are swallowed until the entry ends, so the rest of an
      // over-long number does not become the next try.
      if (digits.length >= ctx.limits.maxDigits) tooLong = true;
      else digits += digit;
      arm(ctx.limits.interDigitTimeoutMs, 'pause');
    };
    void ctx.media.play(prompt).then(() => {
      if (active && digits === '') arm(ctx.limits.firstDigitTimeoutMs, 'no_digits');
    });
  });
}

export async function runIvr(ctx: FlowContext): Promise<FinalReply> {
  let prompt = ctx.prompts.enterNumber;
  for (let attempt = 1; attempt <= IVR_TRIES; attempt++) {
    const entry = await collectEntry(ctx, prompt);
    if (entry.digits === '') {
      ctx.log(`ivr ${ctx.callId}: try ${attempt} without a usable number (${entry.end})`);
      prompt = entry.end === 'too_long' ? ctx.prompts.notFound : ctx.prompts.enterNumber;
      continue;
    }
    const check = await abortable(ctx.backend.checkCustomer({ tenant: ctx.tenant, code: entry.digits, callId: ctx.callId }), ctx.signal);
    switch (check.kind) {
      case 'found':
        ctx.log(`ivr ${ctx.callId}: try ${attempt} found a customer`);
        return ivrFound(check.customerId);
      case 'not_found':
        ctx.log(`ivr ${ctx.callId}: try ${attempt} found no customer`);
        prompt = ctx.prompts.notFound;
        break;
      case 'refused':
        ctx.log(`ivr ${ctx.callId}: the backend refuses more tries`);
        return IVR_FAILED;
      case 'error':
        // The caller is routed on without a customer rather than kept waiting on a backend that fails.
        ctx.log(`ivr ${ctx.callId}: customer check failed: ${check.message}`);
        return IVR_FAILED;
      default:
        return assertNever(check);
    }
  }
  return IVR_FAILED;
}

/** One second of silence after each "please hold", so the loop does not run on without a breath. */
const HOLD_GAP = Buffer.alloc(8000, MULAW_SILENCE);

export async function runHold(ctx: FlowContext): Promise<FinalReply> {
  void ctx.media.play(Buffer.concat([ctx.prompts.pleaseHold, HOLD_GAP]), { loop: true });
  let lastAnswer = Date.now();
  for (;;) {
    const budget = lastAnswer + ctx.limits.backendDownMs - Date.now();
    const poll = await abortable(Promise.race([ctx.backend.queueStatus({ tenant: ctx.tenant, callId: ctx.callId }), delay(Math.max(0, budget))]), ctx.signal);
    if (poll !== 'elapsed' && poll.kind === 'status') {
      lastAnswer = Date.now();
      if (poll.ready) return QUEUE_READY;
    } else if (Date.now() - lastAnswer >= ctx.limits.backendDownMs) {
      ctx.log(`hold ${ctx.callId}: the backend has not answered for ${ctx.limits.backendDownMs} ms`);
      return QUEUE_BACKEND_DOWN;
    }
    await abortable(delay(ctx.limits.queuePollMs), ctx.signal);
  }
}
