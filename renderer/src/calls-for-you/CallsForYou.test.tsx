import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallForYou } from '../../../shared/calls-for-you.js';
import { App } from '../App.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT_SESSION } from '../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../test/harness.js';
import { markReminderShown, reminderDue, setReminderTime, startReminder } from './reminder.js';
import { useCallsForYouStore } from './store.js';

registerRendererCleanup();

const MISSED: CallForYou = {
  key: 'call-missed',
  startedAt: '2026-12-01T01:00:00.000Z',
  outcome: 'missed',
  remote: '+81311110001',
  customer: { id: 'cust-yamada', code: 'C-000101', name: '山田 太郎', branch: '渋谷支店', assignedRep: { id: 'user-agent-1', name: '佐藤 花子' } },
  answeredBy: null,
  receivedBy: [{ id: 'user-agent-1', name: '佐藤 花子', branch: '渋谷支店' }],
  handled: null,
};
const ANSWERED: CallForYou = {
  ...MISSED,
  key: 'call-answered',
  outcome: 'answered',
  answeredBy: { id: 'user-op', name: 'オペレーター 一号' },
  receivedBy: [{ id: 'user-op', name: 'オペレーター 一号', branch: null }],
  handled: { at: '2026-12-01T02:00:00.000Z', by: { id: 'user-op', name: 'オペレーター 一号' }, kind: 'visit', contactId: 'contact-1' },
};
const UNKNOWN: CallForYou = { ...MISSED, key: 'call-unknown', customer: null, remote: '+81399990000' };

function signIn(rights: Partial<typeof AGENT_SESSION.user> = {}) {
  const bridge = installSignedInBridge();
  const session = { ...AGENT_SESSION, user: { ...AGENT_SESSION.user, ...rights } };
  bridge.session = session;
  useSessionStore.setState({ phase: 'signedIn', session });
  bridge.callsForYou.entries = { mine: [MISSED, ANSWERED], branch: [MISSED, ANSWERED], unregistered: [UNKNOWN] };
  return bridge;
}

async function openCallsForYou() {
  render(<App />);
  const badge = await screen.findByTestId('cfy-badge');
  expect(badge.dataset.count).toBe('1');
  fireEvent.click(badge);
  return screen.findByTestId('calls-for-you');
}

describe('calls for you', () => {
  it('fetches the list only while it is on screen; otherwise new data refreshes the counts alone (issue 13 item 7)', async () => {
    const bridge = signIn();
    render(<App />);
    expect((await screen.findByTestId('cfy-badge')).dataset.count).toBe('1');
    expect(bridge.callsTo('callsForYou:list')).toHaveLength(0);

    // A call rang out while the list is closed: the sync brings it, the badge counts it.
    bridge.callsForYou.entries.mine = [{ ...MISSED, key: 'call-missed-2' }, MISSED, ANSWERED];
    const countsBefore = bridge.callsTo('callsForYou:counts').length;
    bridge.setStatus({ lastSyncedAt: '2026-12-07T12:00:00.000Z' });
    await waitFor(() => expect(screen.getByTestId('cfy-badge').dataset.count).toBe('2'));
    expect(bridge.callsTo('callsForYou:counts').length).toBeGreaterThan(countsBefore);
    expect(bridge.callsTo('callsForYou:list')).toHaveLength(0);

    fireEvent.click(screen.getByTestId('cfy-badge'));
    const area = await screen.findByTestId('calls-for-you');
    await waitFor(() => expect(within(area).getAllByTestId('cfy-entry')).toHaveLength(3));
    expect(bridge.callsTo('callsForYou:list')).toHaveLength(1);

    // Closed again: its entries are let go, the count stays, and new data fetches no list.
    fireEvent.click(screen.getByTestId('area-customers'));
    await waitFor(() => expect(screen.queryByTestId('calls-for-you')).toBeNull());
    expect(useCallsForYouStore.getState().view).toBeNull();
    bridge.setStatus({ lastSyncedAt: '2026-12-07T12:00:01.000Z' });
    await waitFor(() => expect(bridge.callsTo('callsForYou:counts').length).toBeGreaterThan(countsBefore + 1));
    expect(bridge.callsTo('callsForYou:list')).toHaveLength(1);
    expect(screen.getByTestId('cfy-badge').dataset.count).toBe('2');
  });

  it('keeps no entries from a list answer that arrives after the list was closed', async () => {
    const bridge = signIn();
    render(<App />);
    fireEvent.click(await screen.findByTestId('cfy-badge'));
    await screen.findByTestId('calls-for-you');
    bridge.callsForYou.entries.mine = [{ ...MISSED, key: 'call-missed-2' }, MISSED, ANSWERED];
    bridge.hold('callsForYou:list');
    act(() => void useCallsForYouStore.getState().refresh());
    fireEvent.click(screen.getByTestId('area-customers'));
    await waitFor(() => expect(screen.queryByTestId('calls-for-you')).toBeNull());
    act(() => bridge.heldCalls('callsForYou:list').forEach((call) => call.release()));
    // Its counts are taken (the badge), its entries are not kept.
    await waitFor(() => expect(screen.getByTestId('cfy-badge').dataset.count).toBe('2'));
    expect(useCallsForYouStore.getState().view).toBeNull();
  });

  it('lists who called, when, who answered and who handled it, with the counts', async () => {
    signIn();
    const area = await openCallsForYou();
    const counts = await within(area).findByTestId('cfy-counts');
    expect(counts.dataset).toMatchObject({ unhandled: '1', handled: '1' });
    const [missed, answered] = within(area).getAllByTestId('cfy-entry');
    expect(missed!.dataset).toMatchObject({ key: 'call-missed', handled: 'false' });
    expect(missed!.textContent).toContain('山田 太郎（C-000101）');
    expect(missed!.textContent).toContain('Missed');
    expect(missed!.textContent).toContain('Rang: 佐藤 花子（渋谷支店）');
    expect(answered!.textContent).toContain('Answered by オペレーター 一号');
    expect(answered!.textContent).toContain('Handled by オペレーター 一号');
  });

  it('offers only the filters the rights allow', async () => {
    signIn({ mayHandleUnregisteredCallers: false });
    const area = await openCallsForYou();
    expect(within(area).getByTestId('cfy-scope-mine').getAttribute('aria-pressed')).toBe('true');
    expect(within(area).queryByTestId('cfy-scope-all')).toBeNull();
    expect(within(area).queryByTestId('cfy-scope-unregistered')).toBeNull();
  });

  it('records a contact history entry through the outbox and shows the call handled, pending', async () => {
    const bridge = signIn();
    const area = await openCallsForYou();
    const missed = within(area).getAllByTestId('cfy-entry')[0]!;
    fireEvent.click(within(missed).getByRole('button', { name: 'Record what you did' }));
    fireEvent.change(within(missed).getByLabelText('Summary'), { target: { value: '折り返し済み' } });
    fireEvent.click(within(missed).getByRole('button', { name: 'Save and mark handled' }));
    await waitFor(() => expect(within(area).getAllByTestId('cfy-entry')[0]!.dataset).toMatchObject({ handled: 'true', pending: 'true' }));
    expect(bridge.callsForYou.handled).toEqual([
      { callKey: 'call-missed', customerId: 'cust-yamada', incidentId: null, action: { kind: 'contact', summary: '折り返し済み', body: '' } },
    ]);
    expect(bridge.status.pendingOutbox).toBe(1);
    await waitFor(() => expect(screen.queryByTestId('cfy-badge')).toBeNull());
  });

  it('books a visit with date, time and place', async () => {
    const bridge = signIn();
    const area = await openCallsForYou();
    const missed = within(area).getAllByTestId('cfy-entry')[0]!;
    fireEvent.click(within(missed).getByRole('button', { name: 'Record what you did' }));
    fireEvent.click(within(missed).getByLabelText('Visit booking'));
    fireEvent.change(within(missed).getByLabelText('Date'), { target: { value: '2026-12-10' } });
    fireEvent.change(within(missed).getByLabelText('Time'), { target: { value: '14:30' } });
    fireEvent.change(within(missed).getByLabelText('Place'), { target: { value: 'ご自宅' } });
    fireEvent.click(within(missed).getByRole('button', { name: 'Save and mark handled' }));
    await waitFor(() => expect(bridge.callsForYou.handled).toHaveLength(1));
    expect(bridge.callsForYou.handled[0]!.action).toEqual({ kind: 'visit', date: '2026-12-10', time: '14:30', place: 'ご自宅', note: '' });
  });

  it('shows a view-only user the list without any way to mark a call handled', async () => {
    signIn({ callsViewOnly: true });
    const area = await openCallsForYou();
    const missed = within(area).getAllByTestId('cfy-entry')[0]!;
    expect(within(missed).queryByRole('button', { name: 'Record what you did' })).toBeNull();
    expect(within(missed).getByRole('button', { name: 'Callback text' })).toBeTruthy();
  });

  it('previews the callback text and copies it to the clipboard', async () => {
    const bridge = signIn();
    bridge.callsForYou.template = { ...bridge.callsForYou.template, subject: 'お電話のお礼', body: '山田 太郎 様' };
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const area = await openCallsForYou();
    const missed = within(area).getAllByTestId('cfy-entry')[0]!;
    fireEvent.click(within(missed).getByRole('button', { name: 'Callback text' }));
    const preview = await within(missed).findByTestId('cfy-callback-text');
    expect(preview.textContent).toContain('山田 太郎 様 call-missed');
    // The customer has no e-mail address: copying is the only way.
    expect(within(preview).queryByRole('button', { name: 'Write e-mail' })).toBeNull();
    fireEvent.click(within(preview).getByRole('button', { name: 'Copy to clipboard' }));
    await within(preview).findByText('Copied');
    expect(writeText).toHaveBeenCalledWith('お電話のお礼\n\n山田 太郎 様 call-missed');
  });

  it('writes an e-mail to the caller from the callback text and submits it for review', async () => {
    const bridge = signIn();
    bridge.callsForYou.template = { ...bridge.callsForYou.template, subject: 'お電話のお礼', body: '山田 太郎 様' };
    bridge.callsForYou.addresses.set('call-missed', 'taro@example.jp');
    bridge.mail.calls.set('call-missed', {
      call: { key: 'call-missed', startedAt: MISSED.startedAt, remote: MISSED.remote, outcome: 'missed', answeredBy: null, receivedBy: ['佐藤 花子'] },
      customerId: 'cust-yamada',
      toAddress: 'taro@example.jp',
    });
    const area = await openCallsForYou();
    const missed = within(area).getAllByTestId('cfy-entry')[0]!;
    fireEvent.click(within(missed).getByRole('button', { name: 'Callback text' }));
    fireEvent.click(await within(missed).findByRole('button', { name: 'Write e-mail' }));
    const composer = await within(missed).findByTestId('cfy-mail-composer');
    expect(within(composer).getByTestId('cfy-mail-to').textContent).toBe('taro@example.jp');
    expect((within(composer).getByLabelText('Subject') as HTMLInputElement).value).toBe('お電話のお礼');
    const text = within(composer).getByLabelText('Text') as HTMLTextAreaElement;
    expect(text.value).toBe('山田 太郎 様 call-missed');
    fireEvent.change(text, { target: { value: '山田 太郎 様\n明日お電話いたします。' } });
    fireEvent.click(within(composer).getByRole('button', { name: 'Submit for review' }));
    await waitFor(() => expect(composer.dataset.status).toBe('submitted'));
    const [reply] = [...bridge.mail.replies.values()];
    expect(reply).toMatchObject({ state: 'pending_review', mailId: null, callKey: 'call-missed', toAddress: 'taro@example.jp', body: '山田 太郎 様\n明日お電話いたします。' });
  });

  it('offers a view-only user no e-mail to the caller', async () => {
    const bridge = signIn({ callsViewOnly: true });
    bridge.callsForYou.addresses.set('call-missed', 'taro@example.jp');
    const area = await openCallsForYou();
    const missed = within(area).getAllByTestId('cfy-entry')[0]!;
    fireEvent.click(within(missed).getByRole('button', { name: 'Callback text' }));
    await within(missed).findByTestId('cfy-callback-text');
    expect(within(missed).queryByRole('button', { name: 'Write e-mail' })).toBeNull();
  });

  it('lets a user who may handle unregistered callers create the customer from the entry', async () => {
    signIn();
    const area = await openCallsForYou();
    fireEvent.click(within(area).getByTestId('cfy-scope-unregistered'));
    await waitFor(() => expect(within(area).getAllByTestId('cfy-entry')[0]!.dataset.key).toBe('call-unknown'));
    const entry = within(area).getAllByTestId('cfy-entry')[0]!;
    expect(within(entry).queryByRole('button', { name: 'Record what you did' })).toBeNull();
    fireEvent.click(within(entry).getByRole('button', { name: 'Create customer' }));
    expect(await within(entry).findByTestId('create-customer')).toBeTruthy();
  });
});

describe('the callback text template', () => {
  it('is edited by admins only', async () => {
    const bridge = signIn({ role: 'admin' });
    const area = await openCallsForYou();
    const editor = within(area).getByTestId('cfy-template-editor');
    fireEvent.click(within(editor).getByText('Callback text template'));
    const text = await within(editor).findByLabelText('Text');
    expect((text as HTMLTextAreaElement).value).toBe('本文');
    fireEvent.change(text, { target: { value: '{{customerName}} 様' } });
    fireEvent.click(within(editor).getByRole('button', { name: 'Save template' }));
    await within(editor).findByText('Saved');
    expect(bridge.callsForYou.template.body).toBe('{{customerName}} 様');
  });

  it('is not offered to a rep', async () => {
    signIn();
    const area = await openCallsForYou();
    expect(within(area).queryByTestId('cfy-template-editor')).toBeNull();
  });
});

describe('the daily reminder of unhandled calls', () => {
  afterEach(() => vi.useRealTimers());

  it('is due once a day after the chosen time', () => {
    expect(setReminderTime('25:00')).toBe(false);
    expect(setReminderTime('08:30')).toBe(true);
    const before = new Date(2026, 11, 7, 8, 29);
    const after = new Date(2026, 11, 7, 8, 31);
    expect(reminderDue(before)).toBe(false);
    expect(reminderDue(after)).toBe(true);
    markReminderShown(after);
    expect(reminderDue(new Date(2026, 11, 7, 17, 0))).toBe(false);
    expect(reminderDue(new Date(2026, 11, 8, 8, 31))).toBe(true);
  });

  it('reminds at login when calls are unhandled, then at the daily time', () => {
    vi.useFakeTimers();
    setReminderTime('09:00');
    let now = new Date(2026, 11, 7, 8, 0);
    let unhandled: number | null = null;
    const notify = vi.fn();
    const reminder = startReminder({ unhandled: () => unhandled, notify, now: () => now, everyMs: 1_000 });
    reminder.check();
    expect(notify).not.toHaveBeenCalled();
    unhandled = 2;
    reminder.check();
    reminder.check();
    expect(notify).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5_000);
    expect(notify).toHaveBeenCalledTimes(1);
    now = new Date(2026, 11, 7, 9, 1);
    vi.advanceTimersByTime(1_000);
    vi.advanceTimersByTime(1_000);
    expect(notify).toHaveBeenCalledTimes(2);
    reminder.stop();
  });
});
