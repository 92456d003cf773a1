/**
 * The state machine of one call, pure: the softphone feeds it what sip.js reports and what
 * the operator asked for, and the UI renders the result. An event that makes no sense in the
 * current state (a late 200 OK after the caller hung up, a double click on "hold") leaves the
 * call unchanged instead of corrupting it.
 *
 *   inbound:  ringing ──answer──▶ connecting ──established──▶ connected
 *   outbound: connecting ─────────────────────established──▶ connected
 *   connected ◀──held/resumed──▶ held
 *   connected | held ──transferStarted──▶ transferring ──transferFailed──▶ (back)
 *   any ──terminated──▶ ended
 */
import { assertNever } from '../../../shared/result.js';
import type { CallerIdentity } from './caller-identity.js';

export const CALL_STATES = ['ringing', 'connecting', 'connected', 'held', 'transferring', 'ended'] as const;
export type CallState = (typeof CALL_STATES)[number];
export type CallDirection = 'inbound' | 'outbound';

export const END_REASONS = [
  /** This side hung up an established call. */
  'hangup',
  /** The other side hung up an established call. */
  'remote_hangup',
  /** The operator declined a ringing call. */
  'declined',
  /** Refused with 486 because the operator was not available. */
  'busy',
  /** An inbound call stopped ringing before anyone answered it. */
  'missed',
  /** This side gave up an outbound call before it was answered. */
  'cancelled',
  /** The callee refused or could not be reached. */
  'rejected',
  /** Signalling or media failed. */
  'failed',
  /** Handed to someone else with REFER. */
  'transferred',
  /** Replaced by another call (attended transfer arriving here). */
  'replaced',
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** What an operator can ask of a call. */
export type CallAction = 'answer' | 'decline' | 'hangup' | 'hold' | 'resume' | 'mute' | 'dtmf' | 'transfer';

export interface Call {
  /** The softphone's id of the call (sip.js session id); unique in this window. */
  id: string;
  /** The SIP Call-ID: what the backend and the PBX know the call by. */
  sipCallId: string;
  direction: CallDirection;
  state: CallState;
  identity: CallerIdentity;
  /** The dialled target of an outbound call, as the operator entered it. */
  target: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  endReason: EndReason | null;
  muted: boolean;
  /** An operation sent and not yet confirmed: buttons for it stay disabled meanwhile. */
  pending: 'answer' | 'hold' | 'resume' | 'transfer' | null;
  /** Outbound: the far end is ringing (180). */
  remoteRinging: boolean;
  /** Rang while another call was connected (call waiting): rings softly. */
  waiting: boolean;
  /** This call consults a colleague before transferring the call with this id. */
  consultFor: string | null;
  /** Where a transfer in progress goes (a SIP user or number as entered). */
  transferTarget: string | null;
  /** The state to go back to when a transfer fails. */
  stateBeforeTransfer: 'connected' | 'held' | null;
}

export type CallEvent =
  | { type: 'answerRequested' }
  | { type: 'progress' }
  | { type: 'established'; at: string }
  | { type: 'holdRequested' }
  | { type: 'held' }
  | { type: 'resumeRequested' }
  | { type: 'resumed' }
  | { type: 'requestFailed' }
  | { type: 'muted'; muted: boolean }
  | { type: 'transferStarted'; target: string }
  | { type: 'transferFailed' }
  | { type: 'terminated'; at: string; reason?: EndReason };

export interface NewCall {
  id: string;
  sipCallId: string;
  direction: CallDirection;
  identity: CallerIdentity;
  target?: string | null;
  at: string;
  waiting?: boolean;
  consultFor?: string | null;
}

export function createCall(init: NewCall): Call {
  return {
    id: init.id,
    sipCallId: init.sipCallId,
    direction: init.direction,
    state: init.direction === 'inbound' ? 'ringing' : 'connecting',
    identity: init.identity,
    target: init.target ?? null,
    startedAt: init.at,
    answeredAt: null,
    endedAt: null,
    endReason: null,
    muted: false,
    pending: null,
    remoteRinging: false,
    waiting: init.waiting ?? false,
    consultFor: init.consultFor ?? null,
    transferTarget: null,
    stateBeforeTransfer: null,
  };
}

/** The next state of `call` after `event`; the same object when the event does not apply. */
export function transition(call: Call, event: CallEvent): Call {
  if (call.state === 'ended') return call;
  switch (event.type) {
    case 'answerRequested':
      if (call.state !== 'ringing' || call.direction !== 'inbound') return call;
      return { ...call, state: 'connecting', pending: 'answer' };
    case 'progress':
      if (call.state !== 'connecting' || call.direction !== 'outbound') return call;
      return { ...call, remoteRinging: true };
    case 'established':
      if (call.state !== 'ringing' && call.state !== 'connecting') return call;
      return { ...call, state: 'connected', answeredAt: event.at, pending: null, remoteRinging: false, waiting: false };
    case 'holdRequested':
      if (call.state !== 'connected' || call.pending !== null) return call;
      return { ...call, pending: 'hold' };
    case 'held':
      if (call.state !== 'connected') return call;
      return { ...call, state: 'held', pending: null };
    case 'resumeRequested':
      if (call.state !== 'held' || call.pending !== null) return call;
      return { ...call, pending: 'resume' };
    case 'resumed':
      if (call.state !== 'held') return call;
      return { ...call, state: 'connected', pending: null };
    case 'requestFailed':
      if (call.pending === null) return call;
      // A failed answer leaves nothing to go back to: the session ends and `terminated` follows.
      return { ...call, pending: null };
    case 'muted':
      if (call.state !== 'connected' && call.state !== 'held' && call.state !== 'transferring') return call;
      return call.muted === event.muted ? call : { ...call, muted: event.muted };
    case 'transferStarted':
      if ((call.state !== 'connected' && call.state !== 'held') || call.pending !== null) return call;
      return { ...call, state: 'transferring', pending: 'transfer', transferTarget: event.target, stateBeforeTransfer: call.state };
    case 'transferFailed':
      if (call.state !== 'transferring') return call;
      return { ...call, state: call.stateBeforeTransfer ?? 'connected', pending: null, transferTarget: null, stateBeforeTransfer: null };
    case 'terminated':
      return { ...call, state: 'ended', endedAt: event.at, endReason: event.reason ?? defaultEndReason(call), pending: null, remoteRinging: false };
    default:
      return assertNever(event, 'call event');
  }
}

/** How a call ended when sip.js only says "terminated": decided by how far it got. */
export function defaultEndReason(call: Call): EndReason {
  if (call.state === 'transferring') return 'transferred';
  if (call.answeredAt !== null) return 'remote_hangup';
  if (call.direction === 'inbound') return call.state === 'connecting' ? 'failed' : 'missed';
  return 'rejected';
}

/** What the operator may do with the call now; the UI enables exactly these. */
export function availableActions(call: Call): ReadonlySet<CallAction> {
  const actions = new Set<CallAction>();
  switch (call.state) {
    case 'ringing':
      actions.add('answer').add('decline');
      break;
    case 'connecting':
      // An outbound call can be given up while it rings; an inbound one being answered cannot.
      if (call.direction === 'outbound') actions.add('hangup');
      break;
    case 'connected':
      actions.add('hangup').add('mute').add('dtmf');
      if (call.pending === null) actions.add('hold').add('transfer');
      break;
    case 'held':
      actions.add('hangup').add('mute');
      if (call.pending === null) actions.add('resume').add('transfer');
      break;
    case 'transferring':
      actions.add('hangup');
      break;
    case 'ended':
      break;
    default:
      assertNever(call.state, 'call state');
  }
  return actions;
}

export function isLive(call: Call): boolean {
  return call.state !== 'ended';
}

/** Seconds the call has been connected (talk time), for the call timer. */
export function talkSeconds(call: Call, now: number): number {
  if (call.answeredAt === null) return 0;
  const end = call.endedAt === null ? now : Date.parse(call.endedAt);
  return Math.max(0, Math.floor((end - Date.parse(call.answeredAt)) / 1000));
}

/** 1:05, 12:00, 1:02:03: the way a phone shows a call's length. */
export function formatDuration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const mm = hours > 0 ? String(minutes).padStart(2, '0') : String(minutes);
  return `${hours > 0 ? `${hours}:` : ''}${mm}:${String(seconds).padStart(2, '0')}`;
}
