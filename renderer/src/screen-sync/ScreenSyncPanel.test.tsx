import { configure, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Call } from '../phone/call-machine.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import type { MemoryBridge } from '../test/memory-bridge.js';
import { ScreenSyncPanel } from './ScreenSyncPanel.js';

registerRendererCleanup();
// The machine running the suite may be busy: waiting on the UI is bounded, never timed.
configure({ asyncUtilTimeout: 10_000 });

/** Only what the panel reads of a call. */
const call = (state: Call['state']) => ({ sipCallId: 'sip-1', state, consultFor: null }) as unknown as Call;

let bridge: MemoryBridge;
beforeEach(() => {
  bridge = installSignedInBridge();
});

describe('screen sync in the call card', () => {
  it('joins with the customer’s code, says why a wrong one failed, follows the share and stops it', async () => {
    render(<ScreenSyncPanel call={call('connected')} pollMs={20} />);
    const panel = await screen.findByTestId('screen-sync');
    fireEvent.click(within(panel).getByRole('button', { name: "View the customer's screen" }));
    const code = within(panel).getByLabelText('Code the customer reads out');
    const view = within(panel).getByRole('button', { name: 'View' });
    fireEvent.change(code, { target: { value: '12a34' } });
    // Digits only, six of them, before the button does anything.
    expect((code as HTMLInputElement).value).toBe('1234');
    expect((view as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(code, { target: { value: '999999' } });
    fireEvent.click(view);
    expect((await within(panel).findByRole('alert')).textContent).toContain('wrong or expired code');

    fireEvent.change(code, { target: { value: bridge.screenSync.code } });
    fireEvent.click(view);
    await waitFor(() => expect(panel.dataset.state).toBe('active'));
    expect(bridge.callsTo('screenSync:join').at(-1)).toEqual({ sipCallId: 'sip-1', code: '123456' });
    expect(within(panel).getByRole('status').textContent).toContain("Showing the customer's page live");
    await waitFor(() => expect(bridge.callsTo('screenSync:feed').length).toBeGreaterThan(1));
    expect(bridge.callsTo('screenSync:feed')[0]).toEqual({ sessionId: 'share-1', after: 0 });

    fireEvent.click(within(panel).getByRole('button', { name: 'Stop viewing' }));
    await waitFor(() => expect(panel.dataset.state).toBe('ended'));
    expect(within(panel).getByRole('status').textContent).toContain('You stopped viewing.');
  });

  it('shows that the share ended when the customer stops it', async () => {
    render(<ScreenSyncPanel call={call('connected')} pollMs={20} />);
    const panel = await screen.findByTestId('screen-sync');
    fireEvent.click(within(panel).getByRole('button', { name: "View the customer's screen" }));
    fireEvent.change(within(panel).getByLabelText('Code the customer reads out'), { target: { value: '123456' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'View' }));
    await waitFor(() => expect(panel.dataset.state).toBe('active'));
    bridge.screenSync.session = { ...bridge.screenSync.session!, state: 'ended', endReason: 'customer_stopped' };
    await waitFor(() => expect(panel.dataset.state).toBe('ended'));
    expect(within(panel).getByRole('status').textContent).toContain('The customer stopped sharing.');
  });

  it('is not offered on a call that is not answered', () => {
    render(<ScreenSyncPanel call={call('ringing')} />);
    expect(screen.queryByTestId('screen-sync')).toBeNull();
  });
});
