import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../../shared/ipc.js';
import type { LiveCallView } from '../../../shared/monitoring.js';
import { App } from '../App.js';
import { resetMailStores } from '../mail/stores/reset.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { useLiveCallsStore } from './live-calls.js';

registerRendererCleanup();
afterEach(() => {
  resetMailStores();
  useLiveCallsStore.setState({ calls: [], loaded: false, error: null, monitor: null, problem: null });
  vi.restoreAllMocks();
});

const SUPERVISOR: SessionInfo = {
  ...AGENT_SESSION,
  user: { ...AGENT_SESSION.user, id: 'user-super-1', login: 'suzuki', displayName: '鈴木 監督', role: 'supervisor' },
};

function liveCall(callId: string, agentName: string, customerName: string | null, help: boolean): LiveCallView {
  return {
    callId,
    sipCallId: `sip-${callId}`,
    agentId: `agent-${callId}`,
    agentName,
    remote: '+81311112222',
    customerId: customerName ? `cust-${callId}` : null,
    customerName,
    answeredAt: new Date(Date.now() - 65_000).toISOString(),
    helpRequestedAt: help ? new Date().toISOString() : null,
    monitor: null,
  };
}

async function openLiveView() {
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
  const bridge = installSignedInBridge();
  bridge.session = SUPERVISOR;
  useSessionStore.setState({ phase: 'signedIn', session: SUPERVISOR });
  render(<App />);
  fireEvent.click(await screen.findByTestId('area-live'));
  return bridge;
}

describe('the supervisor\'s connected calls', () => {
  it('lists operator, customer, duration and help requests, and follows the backend\'s pushes', async () => {
    const bridge = await openLiveView();
    bridge.monitoring.calls = [liveCall('c-1', 'オペレーター 一号', '山田 太郎', false)];
    act(() => bridge.emit('supervisor:summary', bridge.mail.summary()));
    const row = await screen.findByRole('row', { name: /オペレーター 一号/ });
    expect(within(row).getByText('山田 太郎')).toBeTruthy();
    expect(within(row).getByTestId('live-call-duration').textContent).toMatch(/^01:[0-5]\d$/);
    expect(row.dataset.help).toBe('none');

    // The operator asks for help: the backend pushes, the list is fetched again.
    bridge.monitoring.calls = [liveCall('c-1', 'オペレーター 一号', '山田 太郎', true), liveCall('c-2', 'オペレーター 二号', null, false)];
    act(() => bridge.emit('supervisor:summary', bridge.mail.summary()));
    expect(await screen.findByTestId('help-requested')).toBeTruthy();
    const rows = await screen.findAllByTestId('live-call');
    expect(rows.map((r) => r.dataset.callId)).toEqual(['c-1', 'c-2']);
    expect(within(rows[1]!).getByText('+81311112222')).toBeTruthy();
    for (const name of ['Listen', 'Whisper', 'Barge']) expect(within(rows[0]!).getByRole('button', { name })).toBeTruthy();
  });

  it('starts nothing on the backend when the supervisor\'s phone is not connected, and says so', async () => {
    const bridge = await openLiveView();
    bridge.monitoring.calls = [liveCall('c-1', 'オペレーター 一号', '山田 太郎', false)];
    act(() => bridge.emit('supervisor:summary', bridge.mail.summary()));
    const row = await screen.findByRole('row', { name: /オペレーター 一号/ });
    fireEvent.click(within(row).getByRole('button', { name: 'Listen' }));
    expect(await screen.findByTestId('monitor-problem')).toBeTruthy();
    expect(bridge.monitoring.audit).toEqual([]);
    expect(row.dataset.monitorMode).toBe('none');
  });

  it('is not offered to an operator', async () => {
    const bridge = installSignedInBridge();
    useSessionStore.setState({ phase: 'signedIn', session: bridge.session ?? AGENT_SESSION });
    const result = await bridge.invoke('monitor:live', undefined);
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});
