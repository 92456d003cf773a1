import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MonitorSessionView } from '../../../shared/monitoring.js';
import { createCall } from '../phone/call-machine.js';
import { parseCallerIdentity } from '../phone/caller-identity.js';
import type { IncomingMonitor, MonitorLeg } from '../phone/engine.js';
import { usePhoneStore } from '../stores/phone.js';
import { installSignedInBridge } from '../test/harness.js';
import { onMonitorInvite, useMonitoredStore } from './monitored-call.js';

afterEach(() => {
  usePhoneStore.setState({ calls: [] });
  useMonitoredStore.setState({ session: null, ended: null });
});

function session(overrides: Partial<MonitorSessionView>): MonitorSessionView {
  return {
    id: 'session-1',
    callId: 'call-1',
    sipCallId: 'sip-call-1',
    mode: 'listen',
    active: true,
    supervisorId: 'user-super-1',
    supervisorName: '鈴木 監督',
    supervisorSipUser: 'super1.demo',
    agentId: 'me',
    agentName: 'me',
    agentSipUser: 'agent1.demo',
    visibleToOperator: true,
    startedAt: '2026-12-06T00:00:00.000Z',
    endedAt: null,
    endReason: null,
    ...overrides,
  };
}

/** An INVITE as the engine hands it over; the leg never connects (no media in jsdom). */
function invite(sessionId: string, fromUser: string) {
  let fail: (error: Error) => void = () => undefined;
  const established = new Promise<void>((_resolve, reject) => {
    fail = reject;
  });
  const leg: MonitorLeg = {
    id: 'leg-1',
    established,
    remoteStream: () => null,
    replaceOutgoingTrack: async () => undefined,
    setMicrophoneEnabled: () => undefined,
    sendMode: async () => undefined,
    hangup: async () => undefined,
    packetsReceived: async () => 0,
    onModeInfo: null,
    onEnded: null,
  };
  const outcome = { accepted: false, rejected: null as number | null };
  const incoming: IncomingMonitor = {
    sessionId,
    fromUser,
    accept: () => {
      outcome.accepted = true;
      return leg;
    },
    reject: (status) => {
      outcome.rejected = status;
    },
  };
  return { incoming, outcome, fail: () => fail(new Error('the supervisor went away')) };
}

function setUp(view: MonitorSessionView) {
  const bridge = installSignedInBridge();
  const me = bridge.session!.user.id;
  bridge.monitoring.sessions.set(view.id, { ...view, agentId: view.agentId === 'me' ? me : view.agentId });
  const call = createCall({ id: 'local-1', sipCallId: 'sip-call-1', direction: 'inbound', identity: parseCallerIdentity({ assertedIdentity: [], from: '<sip:0311112222@127.0.0.1>', customerId: null }, 'JP'), at: '2026-12-06T00:00:00.000Z', waiting: false });
  usePhoneStore.setState({ calls: [{ ...call, state: 'connected' }] });
  return bridge;
}

function deliver(incoming: IncomingMonitor): Promise<void> {
  return onMonitorInvite(incoming);
}

describe('a monitoring INVITE on the operator\'s phone', () => {
  it('is answered without ringing when the backend confirms the session for this operator and call', async () => {
    const bridge = setUp(session({}));
    const { incoming, outcome, fail } = invite('session-1', 'super1.demo');
    const handled = deliver(incoming);
    await vi.waitFor(() => expect(outcome.accepted).toBe(true));
    expect(outcome.rejected).toBeNull();
    expect(useMonitoredStore.getState().session?.mode).toBe('listen');
    expect(usePhoneStore.getState().calls).toHaveLength(1);

    // The leg never connects (the supervisor's page went away): the session ends as supervisor_lost.
    fail();
    await handled;
    expect(bridge.monitoring.sessions.get('session-1')).toMatchObject({ active: false, endReason: 'supervisor_lost' });
    expect(useMonitoredStore.getState().ended).toMatchObject({ reason: 'supervisor_lost', visible: true });
    expect(usePhoneStore.getState().calls).toHaveLength(1);
  });

  it.each([
    ['an unknown session', 'session-x', 'super1.demo', {}],
    ['a session placed by another supervisor\'s phone', 'session-1', 'intruder.demo', {}],
    ['a session on another operator', 'session-1', 'super1.demo', { agentId: 'someone-else' }],
    ['a session that has ended', 'session-1', 'super1.demo', { active: false }],
    ['a session on a call this phone does not have', 'session-1', 'super1.demo', { sipCallId: 'sip-call-9' }],
  ])('is refused with 403 for %s', async (_what, id, fromUser, overrides) => {
    setUp(session(overrides));
    const { incoming, outcome } = invite(id, fromUser);
    await deliver(incoming);
    await vi.waitFor(() => expect(outcome.rejected).toBe(403));
    expect(outcome.accepted).toBe(false);
    expect(useMonitoredStore.getState().session).toBeNull();
  });
});
