import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../../shared/ipc.js';
import { App } from '../App.js';
import { resetMailStores } from '../mail/stores/reset.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';

registerRendererCleanup();
afterEach(() => {
  resetMailStores();
  vi.restoreAllMocks();
});

const SUPERVISOR: SessionInfo = {
  ...AGENT_SESSION,
  user: { ...AGENT_SESSION.user, id: 'user-super-1', login: 'suzuki', displayName: '鈴木 監督', role: 'supervisor' },
};

describe('the call queue in the live view', () => {
  it('shows each waiting caller\'s place and wait, and today\'s abandoned calls, as the backend pushes them', async () => {
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
    const bridge = installSignedInBridge();
    bridge.session = SUPERVISOR;
    useSessionStore.setState({ phase: 'signedIn', session: SUPERVISOR });
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-live'));
    const queue = await screen.findByTestId('call-queue');
    expect(within(queue).getByTestId('queue-waiting').dataset.value).toBe('0');
    expect(within(queue).getByTestId('queue-empty')).toBeTruthy();

    const summary = bridge.mail.summary();
    act(() =>
      bridge.emit('supervisor:summary', {
        ...summary,
        callQueue: {
          callers: [
            { callId: 'c-1', caller: '0311112222', customerName: '山田 太郎', position: 1, enteredAt: summary.now, secondsWaiting: 95 },
            { callId: 'c-2', caller: '', customerName: null, position: 2, enteredAt: summary.now, secondsWaiting: 4 },
          ],
          abandonedToday: 3,
        },
      }),
    );
    expect(within(queue).getByTestId('queue-waiting').dataset.value).toBe('2');
    expect(within(queue).getByTestId('queue-abandoned').dataset.value).toBe('3');
    const rows = within(queue).getAllByTestId('queue-row');
    expect(rows.map((row) => row.dataset.position)).toEqual(['1', '2']);
    expect(rows[0]!.textContent).toContain('山田 太郎');
    expect(within(rows[0]!).getByTestId('queue-wait').textContent).toMatch(/^01:3[5-9]$/);
    expect(rows[1]!.textContent).toContain('Number withheld');

    act(() => bridge.emit('supervisor:summary', { ...summary, callQueue: { callers: [], abandonedToday: 4 } }));
    expect(within(queue).queryAllByTestId('queue-row')).toHaveLength(0);
    expect(within(queue).getByTestId('queue-abandoned').dataset.value).toBe('4');
  });
});
