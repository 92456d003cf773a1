import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../App.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';

registerRendererCleanup();

const ADMIN_SESSION = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, id: 'user-admin', login: 'admin', role: 'admin' as const } };

async function openYamada() {
  render(<App />);
  fireEvent.change(await screen.findByRole('combobox', { name: 'Search customers' }), { target: { value: '山田' } });
  fireEvent.click((await screen.findAllByTestId('search-result'))[0]!);
  return screen.findByTestId('portal-account');
}

describe('the portal in the staff app', () => {
  it('shows an agent the customer’s portal rank without letting them change it, and makes an invitation link', async () => {
    const bridge = installSignedInBridge();
    const section = await openYamada();
    await waitFor(() => expect(within(section).getByTestId('portal-rank').tagName).toBe('SPAN'));
    expect(within(section).getByTestId('portal-sign-in-state').textContent).toContain('Not invited yet');
    expect(screen.queryByTestId('area-portal')).toBeNull();
    fireEvent.click(within(section).getByRole('button', { name: 'Create invitation link' }));
    expect(((await within(section).findByTestId('portal-invitation-url')) as HTMLInputElement).value).toContain('/portal/demo/#/invite/');
    expect(within(section).getByTestId('portal-sign-in-state').textContent).toContain('Invitation sent');
    expect(bridge.portal.invitations).toBe(1);
  });

  it('lets an admin set the rank and edit the portal’s pages', async () => {
    const bridge = installSignedInBridge();
    bridge.session = ADMIN_SESSION;
    useSessionStore.setState({ phase: 'signedIn', session: ADMIN_SESSION });
    const section = await openYamada();
    const rank = await within(section).findByRole('combobox', { name: 'Portal rank' });
    fireEvent.change(rank, { target: { value: '4' } });
    await waitFor(() => expect(bridge.portal.accounts.get('cust-yamada')?.rank).toBe(4));

    fireEvent.click(screen.getByTestId('area-portal'));
    const admin = await screen.findByTestId('portal-admin');
    fireEvent.change(within(admin).getByLabelText('Title'), { target: { value: '投資信託 B' } });
    fireEvent.change(within(admin).getByLabelText(/^Address/), { target: { value: 'toushin-b' } });
    fireEvent.change(within(admin).getByLabelText('Body (Markdown)'), { target: { value: '**新しい**商品' } });
    fireEvent.change(within(admin).getByLabelText(/^Price/), { target: { value: '20000' } });
    fireEvent.change(within(admin).getByLabelText('Minimum rank'), { target: { value: '3' } });
    fireEvent.change(within(admin).getByLabelText(/^Only these customers/), { target: { value: 'C-000101, C-000102' } });
    fireEvent.click(within(admin).getByRole('button', { name: 'Save' }));
    await within(admin).findByText('Saved.');
    expect(bridge.portal.pages).toEqual([
      expect.objectContaining({ kind: 'product', slug: 'toushin-b', title: '投資信託 B', priceYen: 20000, minRank: 3, onlyCustomerCodes: ['C-000101', 'C-000102'], published: true }),
    ]);
    expect(within(admin).getByRole('button', { name: '投資信託 B' })).toBeTruthy();
  });
});
