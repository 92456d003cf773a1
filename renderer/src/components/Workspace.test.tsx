import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../App.js';
import { SENT_NOTICE_MS } from './DeliveryNotice.js';
import { useCustomerStore } from '../stores/customer.js';
import { useUiStore } from '../stores/ui.js';
import { SMITH } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';

registerRendererCleanup();

async function openWorkspace() {
  const bridge = installSignedInBridge();
  render(<App />);
  const search = await screen.findByRole('combobox', { name: 'Search customers' });
  return { bridge, search };
}

async function openYamada() {
  const opened = await openWorkspace();
  fireEvent.change(opened.search, { target: { value: '山田' } });
  await screen.findAllByTestId('search-result');
  fireEvent.keyDown(opened.search, { key: 'Enter' });
  await screen.findByRole('heading', { name: '山田 太郎', level: 2 });
  return opened;
}

/** Customers who all match the query 同名, to fill more than a page of results. */
function addNamesakes(bridge: ReturnType<typeof installSignedInBridge>, count: number) {
  for (let i = 0; i < count; i++) {
    const id = `cust-namesake-${i}`;
    bridge.addCustomer({
      customer: { ...SMITH.customer, id, code: `N-${String(i).padStart(4, '0')}`, name: `同名 ${i}`, nameKana: 'ドウメイ', phones: [], emails: [] },
      incidents: [],
      contacts: [],
    });
  }
}

describe('search panel', () => {
  it('shows results as you type, with kana, code, formatted phone and classification', async () => {
    const { search } = await openWorkspace();
    fireEvent.change(search, { target: { value: 'ヤマ' } });

    const results = await screen.findAllByTestId('search-result');
    expect(results).toHaveLength(2);
    expect(search.getAttribute('aria-expanded')).toBe('true');
    const yamada = results.find((r) => r.dataset.customerId === 'cust-yamada');
    expect(yamada?.textContent).toContain('山田 太郎');
    expect(yamada?.textContent).toContain('ヤマダ タロウ');
    expect(yamada?.textContent).toContain('C-000101');
    expect(yamada?.textContent).toContain('03-1234-5678');
    expect(yamada?.textContent).toContain('Class 2 · Confidential');
    expect(screen.getByTestId('search-status').textContent).toContain('2 customers found.');
  });

  it('finds a customer by a phone number written another way', async () => {
    const { search } = await openWorkspace();
    fireEvent.change(search, { target: { value: '+81 3 1234 5678' } });
    const [result] = await screen.findAllByTestId('search-result');
    expect(result?.dataset.customerId).toBe('cust-yamada');
  });

  it('moves through the results with the arrow keys and opens one with Enter', async () => {
    const { search } = await openWorkspace();
    fireEvent.change(search, { target: { value: 'ヤマ' } });
    const results = await screen.findAllByTestId('search-result');

    fireEvent.keyDown(search, { key: 'ArrowDown' });
    fireEvent.keyDown(search, { key: 'ArrowDown' });
    const second = results[1];
    expect(search.getAttribute('aria-activedescendant')).toBe(second?.id);
    expect(second?.getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(search, { key: 'ArrowUp' });
    expect(search.getAttribute('aria-activedescendant')).toBe(results[0]?.id);

    fireEvent.keyDown(search, { key: 'ArrowDown' });
    fireEvent.keyDown(search, { key: 'Enter' });
    const name = results[1]?.querySelector('.result-name')?.textContent ?? '';
    expect(await screen.findByRole('heading', { name, level: 2 })).toBeTruthy();
  });

  it('shows the real count when more match than one page holds, and pages through them', async () => {
    const { bridge, search } = await openWorkspace();
    addNamesakes(bridge, 42);
    fireEvent.change(search, { target: { value: '同名' } });
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(30));
    expect(screen.getByTestId('search-status').textContent).toBe('42 customers found; 30 shown.');

    fireEvent.click(screen.getByRole('button', { name: 'Show more' }));
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(42));
    expect(screen.getByTestId('search-status').textContent).toBe('42 customers found.');
    expect(bridge.callsTo('customers:search').at(-1)).toEqual({ query: '同名', limit: 30, offset: 30 });
    expect(screen.queryByRole('button', { name: 'Show more' })).toBeNull();
    expect(new Set(screen.getAllByTestId('search-result').map((r) => r.dataset.customerId)).size).toBe(42);
  });

  it('says "more than" and asks to refine when the count stops at the index cap', async () => {
    const { bridge, search } = await openWorkspace();
    addNamesakes(bridge, 150);
    bridge.searchCountCap = 120;
    fireEvent.change(search, { target: { value: '同名' } });
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(30));
    expect(screen.getByTestId('search-status').textContent).toBe('More than 120 customers found; 30 shown.');
    expect(screen.getByText(/type more of the name, number or code/)).toBeTruthy();
  });

  it('shows the number that matched a phone search, not the first on file', async () => {
    const { search } = await openWorkspace();
    fireEvent.change(search, { target: { value: '090-1234-5678' } });
    const [result] = await screen.findAllByTestId('search-result');
    expect(result?.dataset.customerId).toBe('cust-yamada');
    expect(within(result!).getByTestId('result-phone').textContent).toBe('090-1234-5678');
  });

  it('says when nothing matches', async () => {
    const { search } = await openWorkspace();
    fireEvent.change(search, { target: { value: 'zzzz' } });
    await waitFor(() => expect(screen.getByTestId('search-status').textContent).toBe('No customers found.'));
    expect(search.getAttribute('aria-expanded')).toBe('false');
  });
});

describe('customer panel', () => {
  it('shows the attributes of the customer', async () => {
    await openYamada();
    const panel = screen.getByTestId('customer-panel');
    expect(screen.getByTestId('customer-code').textContent).toBe('C-000101');
    expect(panel.textContent).toContain('ヤマダ タロウ');
    expect(panel.textContent).toContain('Class 2 · Confidential');
    expect(panel.textContent).toContain('Landline 03-1234-5678');
    expect(panel.textContent).toContain('Mobile 090-1234-5678');
    expect(panel.textContent).toContain('taro.yamada@example.jp');
    expect(panel.textContent).toContain('〒100-0001 東京都千代田区千代田1-1');
    expect(panel.textContent).toContain('鈴木 一郎');
    expect(panel.textContent).toContain('Existing');
  });

  it('formats dates in the chosen language', async () => {
    await openYamada();
    const tree = screen.getByTestId('incident-tree');
    const newest = within(tree).getAllByTestId('incident')[0]!;
    const time = newest.querySelector('time')!;
    expect(time.textContent).toBe(
      new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date('2024-04-20T01:00:00Z')),
    );
    act(() => useUiStore.getState().setLanguage('ja'));
    expect(newest.querySelector('time')!.textContent).toBe(
      new Intl.DateTimeFormat('ja', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date('2024-04-20T01:00:00Z')),
    );
    expect(screen.getByRole('tree', { name: '案件' })).toBe(tree);
  });
});

describe('incident tree', () => {
  it('lists incidents newest first, the newest expanded with its contacts newest first', async () => {
    await openYamada();
    const tree = screen.getByRole('tree', { name: 'Incidents' });
    const incidents = within(tree).getAllByTestId('incident');
    expect(incidents.every((item) => item.getAttribute('role') === 'treeitem' && item.getAttribute('aria-level') === '1')).toBe(true);
    expect(incidents.map((i) => i.dataset.incidentId)).toEqual(['inc-new', 'inc-old']);
    expect(incidents[0]?.getAttribute('aria-expanded')).toBe('true');
    expect(incidents[1]?.getAttribute('aria-expanded')).toBe('false');
    const contacts = within(incidents[0]!).getAllByTestId('contact');
    expect(contacts.map((c) => c.dataset.contactId)).toEqual(['c-new-2', 'c-new-1']);
    expect(contacts[0]?.textContent).toContain('E-mail');
    expect(contacts[0]?.textContent).toContain('Outbound');
    expect(contacts[0]?.textContent).toContain('佐藤 花子');
    expect(contacts[0]?.textContent).toContain('配送状況をメールで連絡');
  });

  it('is navigable with the arrow keys, Home and End, with one item in the tab order', async () => {
    await openYamada();
    const tree = screen.getByTestId('incident-tree');
    const item = (id: string) => tree.querySelector<HTMLElement>(`[data-incident-id="${id}"], [data-contact-id="${id}"]`)!;
    const tabbable = () => [...tree.querySelectorAll<HTMLElement>('[role="treeitem"]')].filter((el) => el.tabIndex === 0);

    expect(tabbable()).toEqual([item('inc-new')]);
    item('inc-new').focus();

    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(item('c-new-2'));
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(item('c-new-1'));
    expect(tabbable()).toEqual([item('c-new-1')]);

    fireEvent.keyDown(document.activeElement!, { key: 'ArrowLeft' });
    expect(document.activeElement).toBe(item('inc-new'));
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowLeft' });
    expect(item('inc-new').getAttribute('aria-expanded')).toBe('false');
    expect(tree.querySelector('[data-contact-id="c-new-1"]')).toBeNull();

    fireEvent.keyDown(document.activeElement!, { key: 'End' });
    expect(document.activeElement).toBe(item('inc-old'));
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' });
    expect(item('inc-old').getAttribute('aria-expanded')).toBe('true');
    expect(document.activeElement).toBe(item('inc-old'));
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' });
    expect(document.activeElement).toBe(item('c-old-1'));

    fireEvent.keyDown(document.activeElement!, { key: 'Home' });
    expect(document.activeElement).toBe(item('inc-new'));
    fireEvent.keyDown(document.activeElement!, { key: 'Enter' });
    expect(item('inc-new').getAttribute('aria-expanded')).toBe('true');
  });

  it('targets the add-note form at the incident the tree is on', async () => {
    await openYamada();
    expect(screen.getByTestId('note-target').textContent).toBe('配送の遅延');
    const tree = screen.getByTestId('incident-tree');
    const old = tree.querySelector<HTMLElement>('[data-incident-id="inc-old"]')!;
    old.focus();
    await waitFor(() => expect(screen.getByTestId('note-target').textContent).toBe('請求書の再発行'));
  });
});

describe('add note', () => {
  it('saves a note offline, shows it pending, then not pending once the outbox is delivered', async () => {
    const { bridge } = await openYamada();
    bridge.online = false;
    act(() => bridge.setStatus({ online: false, phase: 'offline' }));
    await waitFor(() => expect(screen.getByTestId('sync-status').textContent).toContain('Offline'));

    fireEvent.change(screen.getByLabelText('Note'), { target: { value: 'Called back; parcel found.' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save note' }));

    const badge = await screen.findByTestId('pending-badge');
    expect(badge.textContent).toBe('Pending');
    const pendingContact = badge.closest<HTMLElement>('[data-testid="contact"]')!;
    expect(pendingContact.dataset.pending).toBe('true');
    expect(pendingContact.textContent).toContain('Called back; parcel found.');
    expect(pendingContact.textContent).toContain('Note');
    await waitFor(() => expect(pendingContact.tabIndex).toBe(0));
    expect(bridge.callsTo('notes:add')).toEqual([{ incidentId: 'inc-new', body: 'Called back; parcel found.' }]);
    await waitFor(() => expect(screen.getByTestId('pending-count').textContent).toBe('1'));
    expect((screen.getByLabelText('Note') as HTMLTextAreaElement).value).toBe('');
    expect(screen.getByTestId('delivery-notice').textContent).toBe('Note saved on this computer. It will be sent when the server is reachable.');

    bridge.online = true;
    act(() => bridge.deliverOutbox('2024-05-02T00:00:00Z'));

    await waitFor(() => expect(screen.queryByTestId('pending-badge')).toBeNull());
    expect(screen.getByTestId('delivery-notice').textContent).toBe('Note sent.');
    expect(screen.getByTestId('pending-count').textContent).toBe('0');
    expect(screen.getByText('Called back; parcel found.').closest<HTMLElement>('[data-testid="contact"]')?.dataset.pending).toBe('false');
  });

  it('says a note saved online is being sent, then that it was sent, then clears the message', async () => {
    const { bridge } = await openYamada();
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: 'Confirmed the address.' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save note' }));
    const notice = await screen.findByTestId('delivery-notice');
    expect(notice.textContent).toBe('Note saved. Sending…');
    expect(notice.textContent).not.toContain('reachable');

    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      act(() => bridge.deliverOutbox('2024-05-02T00:00:00Z'));
      expect(screen.getByTestId('delivery-notice').textContent).toBe('Note sent.');
      act(() => vi.advanceTimersByTime(SENT_NOTICE_MS));
      expect(screen.queryByTestId('delivery-notice')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows the reason when the server refuses a note, and clears it when the next note is begun', async () => {
    const { bridge } = await openYamada();
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: 'Too late.' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save note' }));
    await screen.findByTestId('delivery-notice');
    const [note] = bridge.callsTo('notes:add');
    expect(note).toBeTruthy();
    const pending = screen.getByTestId('pending-badge').closest<HTMLElement>('[data-testid="contact"]')!;
    const clientId = pending.dataset.contactId ?? '';
    act(() => bridge.emit('outbox:delivered', { entries: [{ clientId, type: 'add_note', outcome: 'rejected', error: 'incident is closed' }] }));
    expect(screen.getByTestId('delivery-notice').textContent).toBe('The server refused the note: incident is closed');
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: 'N' } });
    expect(screen.queryByTestId('delivery-notice')).toBeNull();
  });

  it('marks pending notes in Japanese as 送信待ち', async () => {
    const { bridge } = await openYamada();
    act(() => useUiStore.getState().setLanguage('ja'));
    fireEvent.change(screen.getByLabelText('メモ'), { target: { value: '折り返し連絡済み' } });
    fireEvent.click(screen.getByRole('button', { name: 'メモを保存' }));
    expect((await screen.findByTestId('pending-badge')).textContent).toBe('送信待ち');
    expect(bridge.callsTo('notes:add')).toHaveLength(1);
  });

  it('refreshes the open customer when a sync brings new data', async () => {
    const { bridge } = await openYamada();
    const before = bridge.callsTo('customers:get').length;
    act(() => bridge.setStatus({ phase: 'idle', lastSyncedAt: '2024-06-01T00:00:00Z' }));
    await waitFor(() => expect(bridge.callsTo('customers:get').length).toBe(before + 1));
    expect(useCustomerStore.getState().phase).toBe('ready');
  });
});

describe('sync status', () => {
  it('shows first-sync progress as an accessible progress bar', async () => {
    const { bridge } = await openWorkspace();
    act(() => bridge.setStatus({ phase: 'snapshot', progress: { done: 250, total: 1000 }, lastSyncedAt: null }));
    const bar = await screen.findByRole('progressbar', { name: 'First sync' });
    expect(bar.getAttribute('aria-valuenow')).toBe('250');
    expect(bar.getAttribute('aria-valuemax')).toBe('1000');
    expect(screen.getByTestId('sync-status').textContent).toContain('250 / 1000');

    act(() => bridge.setStatus({ phase: 'idle', progress: null, lastSyncedAt: '2024-05-01T00:00:00Z' }));
    await waitFor(() => expect(screen.queryByRole('progressbar')).toBeNull());
  });

  it('asks the core to sync now', async () => {
    const { bridge } = await openWorkspace();
    fireEvent.click(await screen.findByRole('button', { name: 'Sync now' }));
    await waitFor(() => expect(bridge.callsTo('sync:now')).toHaveLength(1));
  });
});
