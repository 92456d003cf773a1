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

  it('lets an admin upload an image and a video, place a hotspot, and delete a page after confirming', async () => {
    const bridge = installSignedInBridge();
    bridge.session = ADMIN_SESSION;
    useSessionStore.setState({ phase: 'signedIn', session: ADMIN_SESSION });
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-portal'));
    const admin = await screen.findByTestId('portal-admin');
    fireEvent.change(within(admin).getByLabelText('Title'), { target: { value: '動画つき商品' } });
    fireEvent.change(within(admin).getByLabelText(/^Address/), { target: { value: 'video-product' } });

    const media = within(admin).getByTestId('portal-media');
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], 'photo.png', { type: 'image/png' });
    fireEvent.change(within(media).getByLabelText(/^Add an image/), { target: { files: [new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' })] } });
    expect((await within(media).findByRole('alert')).textContent).toContain('logo.svg: only PNG, JPEG or WebP images');
    expect(bridge.portal.media).toHaveLength(0);
    fireEvent.change(within(media).getByLabelText(/^Add an image/), { target: { files: [png] } });
    await within(media).findByRole('button', { name: 'Remove image 1' });
    fireEvent.change(within(media).getByLabelText(/^Video/), { target: { files: [new File([new Uint8Array([0x1a, 0x45, 0xdf, 0xa3])], 'intro.webm', { type: 'video/webm' })] } });
    fireEvent.click(await within(media).findByRole('button', { name: 'Add a hotspot' }));
    const spot = within(media).getByRole('group', { name: 'Hotspot 1' });
    fireEvent.change(within(spot).getByLabelText('Label'), { target: { value: '手数料' } });
    fireEvent.change(within(spot).getByLabelText('Link (optional)'), { target: { value: 'https://example.jp/fees' } });
    fireEvent.change(within(spot).getByLabelText('From (s)'), { target: { value: '2' } });
    fireEvent.change(within(spot).getByLabelText('To (s)'), { target: { value: '6' } });
    fireEvent.click(within(admin).getByRole('button', { name: 'Save' }));
    await within(admin).findByText('Saved.');
    expect(bridge.portal.media.map((entry) => entry.contentType)).toEqual(['image/png', 'video/webm']);
    expect(bridge.portal.pages).toEqual([
      expect.objectContaining({
        slug: 'video-product',
        imageIds: [bridge.portal.media[0]!.id],
        videoId: bridge.portal.media[1]!.id,
        hotspots: [expect.objectContaining({ label: '手数料', link: 'https://example.jp/fees', fromSeconds: 2, toSeconds: 6 })],
      }),
    ]);

    fireEvent.click(within(admin).getByRole('button', { name: 'Delete…' }));
    const question = within(admin).getByRole('alertdialog');
    expect(question.textContent).toContain('Delete “動画つき商品” for good?');
    fireEvent.click(within(question).getByRole('button', { name: 'Cancel' }));
    expect(bridge.portal.pages).toHaveLength(1);
    fireEvent.click(within(admin).getByRole('button', { name: 'Delete…' }));
    fireEvent.click(within(within(admin).getByRole('alertdialog')).getByRole('button', { name: 'Delete' }));
    await within(admin).findByText('“動画つき商品” deleted');
    expect(bridge.portal.pages).toHaveLength(0);
    expect(within(admin).queryByRole('button', { name: '動画つき商品' })).toBeNull();
  });
});
