import { describe, expect, it } from 'vitest';
import { parseCallerIdentity } from './caller-identity.js';
import { availableActions, createCall, formatDuration, talkSeconds, transition, type Call, type CallEvent } from './call-machine.js';

const T0 = '2024-05-01T01:00:00.000Z';
const T1 = '2024-05-01T01:00:05.000Z';
const T2 = '2024-05-01T01:01:10.000Z';

function inbound(): Call {
  return createCall({ id: 's1', sipCallId: 'c1', direction: 'inbound', identity: parseCallerIdentity({ from: '<sip:0312345678@h>' }), at: T0 });
}

function outbound(): Call {
  return createCall({ id: 's2', sipCallId: 'c2', direction: 'outbound', identity: parseCallerIdentity({}), target: '+81312345678', at: T0 });
}

function run(call: Call, ...events: CallEvent[]): Call {
  return events.reduce(transition, call);
}

const connected = () => run(inbound(), { type: 'answerRequested' }, { type: 'established', at: T1 });

describe('call state machine', () => {
  it('starts inbound calls ringing and outbound calls connecting', () => {
    expect(inbound().state).toBe('ringing');
    expect(outbound().state).toBe('connecting');
  });

  it('answers an inbound call: ringing → connecting → connected, with the answer time', () => {
    const answering = transition(inbound(), { type: 'answerRequested' });
    expect(answering).toMatchObject({ state: 'connecting', pending: 'answer' });
    expect(transition(answering, { type: 'established', at: T1 })).toMatchObject({ state: 'connected', pending: null, answeredAt: T1 });
  });

  it('marks an outbound call whose callee rings, and connects it on answer', () => {
    const ringing = transition(outbound(), { type: 'progress' });
    expect(ringing).toMatchObject({ state: 'connecting', remoteRinging: true });
    expect(transition(ringing, { type: 'established', at: T1 })).toMatchObject({ state: 'connected', remoteRinging: false });
  });

  it('holds and resumes only after the re-INVITE is confirmed', () => {
    const holding = transition(connected(), { type: 'holdRequested' });
    expect(holding).toMatchObject({ state: 'connected', pending: 'hold' });
    const held = transition(holding, { type: 'held' });
    expect(held).toMatchObject({ state: 'held', pending: null });
    const resuming = transition(held, { type: 'resumeRequested' });
    expect(resuming).toMatchObject({ state: 'held', pending: 'resume' });
    expect(transition(resuming, { type: 'resumed' })).toMatchObject({ state: 'connected', pending: null });
  });

  it('stays connected when the hold re-INVITE is refused', () => {
    const call = run(connected(), { type: 'holdRequested' }, { type: 'requestFailed' });
    expect(call).toMatchObject({ state: 'connected', pending: null });
  });

  it('ignores a second hold while one is pending', () => {
    const holding = transition(connected(), { type: 'holdRequested' });
    expect(transition(holding, { type: 'holdRequested' })).toBe(holding);
    expect(availableActions(holding).has('hold')).toBe(false);
  });

  it('goes back to where it was when a transfer fails, and ends as transferred when it works', () => {
    const held = run(connected(), { type: 'holdRequested' }, { type: 'held' });
    const transferring = transition(held, { type: 'transferStarted', target: 'agent2' });
    expect(transferring).toMatchObject({ state: 'transferring', transferTarget: 'agent2', pending: 'transfer' });
    expect(transition(transferring, { type: 'transferFailed' })).toMatchObject({ state: 'held', transferTarget: null, pending: null });
    expect(transition(transferring, { type: 'terminated', at: T2 })).toMatchObject({ state: 'ended', endReason: 'transferred' });
  });

  it('mutes only a call that has media', () => {
    expect(transition(inbound(), { type: 'muted', muted: true }).muted).toBe(false);
    expect(transition(connected(), { type: 'muted', muted: true }).muted).toBe(true);
  });

  it('decides how a call ended from how far it got', () => {
    expect(transition(inbound(), { type: 'terminated', at: T1 }).endReason).toBe('missed');
    expect(transition(connected(), { type: 'terminated', at: T2 }).endReason).toBe('remote_hangup');
    expect(transition(outbound(), { type: 'terminated', at: T1 }).endReason).toBe('rejected');
    expect(transition(transition(inbound(), { type: 'answerRequested' }), { type: 'terminated', at: T1 }).endReason).toBe('failed');
    expect(transition(connected(), { type: 'terminated', at: T2, reason: 'hangup' }).endReason).toBe('hangup');
  });

  it('ignores everything after the end, such as a late 200 OK', () => {
    const ended = transition(inbound(), { type: 'terminated', at: T1, reason: 'declined' });
    expect(transition(ended, { type: 'established', at: T2 })).toBe(ended);
    expect(transition(ended, { type: 'terminated', at: T2, reason: 'hangup' })).toBe(ended);
  });

  it('ignores events that do not fit the state', () => {
    const ringing = inbound();
    for (const event of [{ type: 'held' }, { type: 'resumed' }, { type: 'holdRequested' }, { type: 'transferStarted', target: 'x' }, { type: 'progress' }] as CallEvent[]) {
      expect(transition(ringing, event), event.type).toBe(ringing);
    }
    const call = connected();
    expect(transition(call, { type: 'answerRequested' })).toBe(call);
    expect(transition(call, { type: 'resumed' })).toBe(call);
  });

  it('offers the operator only what the state allows', () => {
    expect([...availableActions(inbound())].sort()).toEqual(['answer', 'decline']);
    expect([...availableActions(outbound())]).toEqual(['hangup']);
    expect([...availableActions(transition(inbound(), { type: 'answerRequested' }))]).toEqual([]);
    expect([...availableActions(connected())].sort()).toEqual(['dtmf', 'hangup', 'hold', 'mute', 'transfer']);
    const held = run(connected(), { type: 'holdRequested' }, { type: 'held' });
    expect([...availableActions(held)].sort()).toEqual(['hangup', 'mute', 'resume', 'transfer']);
    expect([...availableActions(transition(connected(), { type: 'terminated', at: T2 }))]).toEqual([]);
  });
});

describe('call timer', () => {
  it('counts talk time from the answer to the end, or to now while live', () => {
    expect(talkSeconds(inbound(), Date.parse(T2))).toBe(0);
    expect(talkSeconds(connected(), Date.parse(T2))).toBe(65);
    const ended = transition(connected(), { type: 'terminated', at: T2 });
    expect(talkSeconds(ended, Date.parse(T2) + 60_000)).toBe(65);
  });

  it('formats durations like a phone', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(720)).toBe('12:00');
    expect(formatDuration(3723)).toBe('1:02:03');
  });
});
