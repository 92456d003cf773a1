import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../App.js';
import { useCallHistoryStore } from '../history/store.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';

registerRendererCleanup();

async function openYamada(role: 'agent' | 'supervisor' = 'agent') {
  const bridge = installSignedInBridge();
  if (role === 'supervisor') {
    const session = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, role } };
    bridge.session = session;
    useSessionStore.setState({ session });
  }
  bridge.desk.assignees = [
    { id: 'user-agent-1', displayName: '佐藤 花子', role: 'agent' },
    { id: 'user-super-1', displayName: '監督 花子', role: 'supervisor' },
  ];
  render(<App />);
  const search = await screen.findByRole('combobox', { name: 'Search customers' });
  fireEvent.change(search, { target: { value: '山田' } });
  await screen.findAllByTestId('search-result');
  fireEvent.keyDown(search, { key: 'Enter' });
  await screen.findByRole('heading', { name: '山田 太郎', level: 2 });
  return bridge;
}

describe('incident actions in the customer panel', () => {
  it('creates an incident, renames, closes and reassigns the chosen one, each through the core', async () => {
    const bridge = await openYamada();
    const actions = screen.getByTestId('incident-actions');

    fireEvent.change(within(screen.getByTestId('new-incident')).getByLabelText('New incident'), { target: { value: '住所変更' } });
    fireEvent.click(within(actions).getByRole('button', { name: 'Create incident' }));
    await waitFor(() => expect(screen.getAllByTestId('incident').map((i) => i.textContent)).toEqual(expect.arrayContaining([expect.stringContaining('住所変更')])));
    expect(bridge.callsTo('incidents:create')).toEqual([{ customerId: 'cust-yamada', title: '住所変更', assigneeId: 'user-agent-1' }]);

    // The new incident is the chosen one now: rename it, close it, give it to the supervisor.
    const current = () => within(screen.getByTestId('incident-actions-current'));
    await waitFor(() => expect(screen.getByTestId('incident-actions-current').textContent).toContain('住所変更'));
    fireEvent.change(current().getByLabelText('Title'), { target: { value: '住所変更のご依頼' } });
    fireEvent.click(current().getByRole('button', { name: 'Rename' }));
    const titles = () => screen.getAllByTestId('incident').map((i) => i.textContent ?? '');
    await waitFor(() => expect(titles()).toEqual(expect.arrayContaining([expect.stringContaining('住所変更のご依頼')])));
    fireEvent.click(current().getByRole('button', { name: 'Close incident' }));
    await current().findByRole('button', { name: 'Reopen incident' });
    fireEvent.change(current().getByLabelText('Assignee'), { target: { value: 'user-super-1' } });
    fireEvent.click(current().getByRole('button', { name: 'Assign' }));
    await screen.findByText('Assignee: 監督 花子');
    const incidentId = screen.getByTestId('incident-actions-current').dataset.incidentId;
    expect(bridge.callsTo('incidents:update')).toEqual([
      { incidentId, title: '住所変更のご依頼' },
      { incidentId, status: 'closed' },
      { incidentId, assigneeId: 'user-super-1' },
    ]);
  });

  it('moves the chosen contact into another incident of the customer', async () => {
    const bridge = await openYamada();
    const contact = screen.getAllByTestId('contact').find((c) => c.dataset.contactId === 'c-new-1')!;
    fireEvent.click(contact);
    const form = await screen.findByTestId('move-contact');
    fireEvent.change(within(form).getByLabelText('Move the selected contact to'), { target: { value: 'inc-old' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Move contact' }));
    await screen.findByText('Moved to 請求書の再発行');
    expect(bridge.callsTo('contacts:move')).toEqual([{ contactId: 'c-new-1', incidentId: 'inc-old' }]);
  });

  it('edits the customer\'s details from the panel', async () => {
    const bridge = await openYamada();
    fireEvent.click(screen.getByRole('button', { name: 'Edit details' }));
    const form = screen.getByTestId('customer-edit');
    fireEvent.change(within(form).getByLabelText('Address'), { target: { value: '東京都港区1-2-3' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save details' }));
    await screen.findByText('Customer details saved.');
    expect(screen.getByText('東京都港区1-2-3')).toBeTruthy();
    expect(bridge.callsTo('customers:update')).toEqual([
      expect.objectContaining({ customerId: 'cust-yamada', changes: expect.objectContaining({ address: '東京都港区1-2-3' }) }),
    ]);
  });

  it('gives an operator no classification, branch or rep fields, and sends none of them', async () => {
    const bridge = await openYamada('agent');
    fireEvent.click(screen.getByRole('button', { name: 'Edit details' }));
    const form = screen.getByTestId('customer-edit');
    expect(within(form).queryByTestId('customer-visibility')).toBeNull();
    expect(within(form).queryByLabelText('Classification')).toBeNull();
    fireEvent.click(within(form).getByRole('button', { name: 'Save details' }));
    await screen.findByText('Customer details saved.');
    const changes = (bridge.callsTo('customers:update')[0] as { changes: Record<string, unknown> }).changes;
    expect(Object.keys(changes).filter((key) => ['classification', 'branch', 'assignedRepId'].includes(key))).toEqual([]);
  });

  it('lets a supervisor change classification, branch and rep, sending only what changed', async () => {
    const bridge = await openYamada('supervisor');
    fireEvent.click(screen.getByRole('button', { name: 'Edit details' }));
    const form = screen.getByTestId('customer-edit');
    const rep = within(form).getByLabelText<HTMLSelectElement>('Assigned rep');
    await waitFor(() => expect(rep.disabled).toBe(false));
    expect([...rep.options].map((option) => option.textContent)).toEqual(['Nobody', '鈴木 一郎', '佐藤 花子', '監督 花子']);
    fireEvent.change(within(form).getByLabelText('Classification'), { target: { value: '1' } });
    fireEvent.change(within(form).getByLabelText('Branch'), { target: { value: '渋谷支店' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save details' }));
    await screen.findByText('Customer details saved.');
    const changes = (bridge.callsTo('customers:update')[0] as { changes: Record<string, unknown> }).changes;
    expect(changes).toMatchObject({ classification: 1, branch: '渋谷支店' });
    expect('assignedRepId' in changes).toBe(false);
  });
});

describe('call history', () => {
  const missed = {
    callId: 'call-missed-1',
    direction: 'inbound' as const,
    outcome: 'missed' as const,
    remote: '+81312345678',
    customerId: 'cust-yamada',
    customerName: '山田 太郎',
    startedAt: '2024-05-01T01:00:00Z',
    answeredAt: null,
    endedAt: '2024-05-01T01:00:30Z',
    local: false,
  };

  it('shows the missed-call badge, lists the call with its callback, and clears the badge when opened', async () => {
    const bridge = installSignedInBridge();
    bridge.desk.history = {
      calls: [missed],
      callbacks: [
        {
          id: '20000000-0000-4000-8000-000000000001',
          customerId: 'cust-yamada',
          customerName: '山田 太郎',
          callId: 'call-missed-1',
          contactId: null,
          remote: '+81312345678',
          flaggedBy: 'user-agent-1',
          flaggedAt: '2024-05-01T01:10:00Z',
          dueAt: null,
          doneAt: null,
          doneReason: null,
          pending: false,
        },
      ],
      missedUnseen: 1,
      seenAt: null,
      source: 'online',
    };
    bridge.desk.callbackList = {
      mine: [{ ...bridge.desk.history.callbacks[0]!, flaggedByName: '佐藤 一郎', overdue: true }],
      teamOverdue: [],
      source: 'online',
    };
    render(<App />);
    const nav = await screen.findByTestId('area-history');
    await waitFor(() => expect(nav.dataset.count).toBe('1'));

    fireEvent.click(nav);
    const entry = await screen.findByTestId('history-call');
    expect(entry.dataset.outcome).toBe('missed');
    expect(entry.textContent).toContain('山田 太郎');
    expect(within(entry).getByTestId('callback-needed')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('area-history').dataset.count).toBe('0'));

    // The worklist holds it until it is marked done; then the history shows it done.
    fireEvent.click(within(await screen.findByTestId('callback-task')).getByRole('button', { name: 'Mark done' }));
    await waitFor(() => expect(screen.getByTestId('callback').dataset.done).toBe('true'));
    expect(screen.queryByTestId('callback-task')).toBeNull();
    expect(bridge.callsTo('callbacks:complete')).toEqual([{ callbackId: '20000000-0000-4000-8000-000000000001' }]);
  });

  it('shows a notice for a missed call that opens the history', async () => {
    installSignedInBridge();
    render(<App />);
    await screen.findByTestId('area-history');
    useCallHistoryStore.getState().noteMissed({ callId: 'x', remote: '+81312345678', customerName: null });
    const notice = await screen.findByTestId('missed-notice');
    expect(notice.textContent).toContain('Missed call: 03-1234-5678');
    fireEvent.click(within(notice).getByRole('button', { name: 'Show call history' }));
    await screen.findByTestId('call-history');
    await waitFor(() => expect(screen.queryByTestId('missed-notice')).toBeNull());
  });

  it('fetches the history list only while it is on screen; a missed call meanwhile refreshes the badge alone (issue 13 item 7)', async () => {
    const bridge = installSignedInBridge();
    render(<App />);
    const nav = await screen.findByTestId('area-history');
    await waitFor(() => expect(bridge.callsTo('calls:historyCounts').length).toBeGreaterThan(0));
    const badgeReads = bridge.callsTo('calls:historyCounts').length;

    bridge.desk.history = { ...bridge.desk.history, calls: [missed], missedUnseen: 1 };
    useCallHistoryStore.getState().noteMissed({ callId: missed.callId, remote: missed.remote, customerName: null });
    await waitFor(() => expect(nav.dataset.count).toBe('1'));
    expect(bridge.callsTo('calls:historyCounts')).toHaveLength(badgeReads + 1);
    expect(bridge.callsTo('calls:history')).toEqual([]);
    expect(bridge.callsTo('calls:historySeen')).toEqual([]);

    // Opened: the list is fetched (and seen); a missed call while it is shown fetches it again.
    fireEvent.click(nav);
    await screen.findByTestId('history-call');
    expect(bridge.callsTo('calls:historySeen')).toHaveLength(1);
    useCallHistoryStore.getState().noteMissed({ callId: 'call-missed-2', remote: missed.remote, customerName: null });
    await waitFor(() => expect(bridge.callsTo('calls:history')).toHaveLength(1));
    expect(bridge.callsTo('calls:historyCounts')).toHaveLength(badgeReads + 1);

    // Closed again: the list is let go.
    fireEvent.click(screen.getByTestId('area-customers'));
    await waitFor(() => expect(screen.queryByTestId('call-history')).toBeNull());
    expect(useCallHistoryStore.getState().view).toBeNull();
  });
});
