import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../../../shared/ipc.js';
import { App } from '../App.js';
import { usePhoneStore } from '../stores/phone.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';

registerRendererCleanup();

const ADMIN_SESSION: SessionInfo = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-admin', role: 'admin', displayName: '管理者' } };
const PARTNER_SESSION: SessionInfo = {
  ...AGENT_SESSION,
  user: { ...AGENT_SESSION.user, id: 'user-partner', role: 'partner', displayName: 'Partner A user', partnerOrg: 'Partner A', customerLimitAuthority: 3, mayHandleUnregisteredCallers: false },
};

function signInAs(session: SessionInfo) {
  const bridge = installSignedInBridge();
  bridge.session = session;
  useSessionStore.setState({ phase: 'signedIn', session });
  return bridge;
}

describe('exchange screens', () => {
  it('lets an admin preview, create, share and download an export', async () => {
    const bridge = signInAs(ADMIN_SESSION);
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-exchange'));
    const screenRoot = await screen.findByTestId('exchange-admin');
    // The policy starts at the safe defaults, and offers only what each field allows.
    const name = within(screenRoot).getByLabelText('Customer name') as HTMLSelectElement;
    expect(name.value).toBe('pseudonymise');
    const ref = within(screenRoot).getByLabelText('Customer (reference)') as HTMLSelectElement;
    expect([...ref.options].map((option) => option.value)).toEqual(['pseudonymise', 'drop']);
    fireEvent.change(within(screenRoot).getByLabelText('Address'), { target: { value: 'pseudonymise' } });

    fireEvent.click(within(screenRoot).getByRole('button', { name: 'Preview' }));
    const preview = await screen.findByTestId('exchange-preview');
    expect(within(preview).getAllByTestId('exchange-preview-record')).toHaveLength(1);
    expect(preview.textContent).toContain('PERSON-ABCDEFGHJK');
    const sent = bridge.calls.find((call) => call.channel === 'exchange:preview')?.payload as { policy: Record<string, string> };
    expect(sent.policy.customerAddress).toBe('pseudonymise');

    fireEvent.click(within(screenRoot).getByRole('button', { name: 'Create export' }));
    expect((await screen.findByTestId('exchange-form-error')).textContent).toMatch(/name/);
    fireEvent.change(within(screenRoot).getByLabelText('Name of the export'), { target: { value: 'November for Partner A' } });
    fireEvent.click(within(screenRoot).getByRole('button', { name: 'Create export' }));
    const row = await screen.findByTestId('exchange-export');
    expect(row.textContent).toContain('November for Partner A');
    expect(within(row).getByTestId('exchange-shared-with').textContent).toBe('Not shared');

    fireEvent.change(within(row).getByLabelText('Partner to share November for Partner A with'), { target: { value: 'Partner A' } });
    fireEvent.click(within(row).getByRole('button', { name: 'Share' }));
    await waitFor(() => expect(within(row).getByTestId('exchange-shared-with').textContent).toBe('Partner A'));

    fireEvent.click(within(row).getByRole('button', { name: 'Download November for Partner A as CSV' }));
    await waitFor(() => expect(bridge.exchange.downloads).toEqual([{ exportId: 'export-1', format: 'csv' }]));
    expect((await screen.findByTestId('exchange-status')).textContent).toContain('downloaded');
  });

  it('does not offer the exchange to an agent', async () => {
    signInAs(AGENT_SESSION);
    render(<App />);
    await screen.findByTestId('area-customers');
    expect(screen.queryByTestId('area-exchange')).toBeNull();
  });

  it("gives a partner user the exchange view and nothing else: no phone, no customers, no sync", async () => {
    const bridge = signInAs(PARTNER_SESSION);
    bridge.exchange.exports = [
      { id: 'export-7', title: 'Shared with A', createdAt: '2026-12-01T00:00:00.000Z', createdBy: '管理者', recordCount: 3, filter: {}, sharedWith: ['Partner A', 'Partner B'] },
      { id: 'export-8', title: 'Not for A', createdAt: '2026-12-01T00:00:00.000Z', createdBy: '管理者', recordCount: 1, filter: {}, sharedWith: ['Partner B'] },
    ];
    render(<App />);
    const view = await screen.findByTestId('partner-exchange');
    await waitFor(() => expect(within(view).getAllByTestId('exchange-export')).toHaveLength(1));
    const row = within(view).getByTestId('exchange-export');
    expect(row.textContent).toContain('Shared with A');
    expect(within(row).getByTestId('exchange-shared-with').textContent).toBe('Partner A');
    expect(within(row).queryByRole('button', { name: 'Share' })).toBeNull();
    fireEvent.click(within(row).getByRole('button', { name: 'Download Shared with A as JSON' }));
    await waitFor(() => expect(bridge.exchange.downloads).toEqual([{ exportId: 'export-7', format: 'json' }]));

    expect(screen.queryByTestId('phone')).toBeNull();
    expect(screen.queryByRole('combobox', { name: 'Search customers' })).toBeNull();
    expect(screen.queryByTestId('sync-status')).toBeNull();
    expect(screen.queryByTestId('area-customers')).toBeNull();
    expect(usePhoneStore.getState().phase).toBe('off');
    const used = new Set(bridge.calls.map((call) => call.channel));
    for (const channel of used) expect(['session:current', 'exchange:list', 'exchange:download', 'app:info'], channel).toContain(channel);
  });
});
