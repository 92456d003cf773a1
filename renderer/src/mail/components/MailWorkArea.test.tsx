import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReplyView } from '../../../../shared/api.js';
import type { SessionInfo } from '../../../../shared/ipc.js';
import { App } from '../../App.js';
import { usePhoneStore } from '../../stores/phone.js';
import { useSessionStore } from '../../stores/session.js';
import { AGENT_SESSION } from '../../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../../test/harness.js';
import type { MemoryBridge } from '../../test/memory-bridge.js';
import { resetMailStores } from '../stores/reset.js';
import { makeMail } from '../test/memory-mail.js';

registerRendererCleanup();
afterEach(() => {
  resetMailStores();
  vi.restoreAllMocks();
});

const SUPERVISOR: SessionInfo = {
  ...AGENT_SESSION,
  user: { ...AGENT_SESSION.user, id: 'user-super-1', login: 'suzuki', displayName: '鈴木 監督', role: 'supervisor' },
};

function signInAs(bridge: MemoryBridge, session: SessionInfo): void {
  bridge.session = session;
  useSessionStore.setState({ phase: 'signedIn', session });
}

function pendingReply(overrides: Partial<ReplyView>): ReplyView {
  const now = '2024-05-01T02:00:00.000Z';
  return {
    id: '00000000-0000-4000-8000-000000000001',
    mailId: 'mail-1',
    callKey: null,
    incidentId: 'inc-new',
    incidentRef: 'INC-7',
    customerId: 'cust-yamada',
    authorId: AGENT_SESSION.user.id,
    authorName: AGENT_SESSION.user.displayName,
    state: 'pending_review',
    subject: 'Re: 請求書について [#INC-7]',
    body: 'ご連絡ありがとうございます。',
    submittedBody: 'ご連絡ありがとうございます。',
    editedByReviewer: false,
    toAddress: 'taro.yamada@example.jp',
    toAddressKnown: true,
    fromAddress: 'support@demo.tsunagu.localhost',
    messageId: null,
    reviewComment: null,
    reviewerId: null,
    reviewerName: null,
    reviewedAt: null,
    submittedAt: now,
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
    failure: null,
    sentAt: null,
    contactId: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

describe('the operator mail desk', () => {
  it('offers the next mail at sign-in, fills a template, and submits the reply for review', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail());
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('area-mail').dataset.count).toBe('1'));
    fireEvent.click(screen.getByTestId('area-mail'));

    const offered = await screen.findByTestId('offered-mail');
    expect(within(offered).getByTestId('mail-subject').textContent).toBe('請求書について');
    expect(within(offered).getByTestId('mail-text').textContent).toBe('請求書の金額が違います。');
    const template = await within(offered).findByRole('option', { name: 'Reply (English)' });
    fireEvent.change(within(offered).getByLabelText('Template'), { target: { value: (template as HTMLOptionElement).value } });
    const body = within(offered).getByLabelText('Reply text') as HTMLTextAreaElement;
    expect(body.value).toBe('Dear 山田 太郎,\n\nAbout INC-7: \n\nKind regards,\n佐藤 花子');
    expect((within(offered).getByLabelText('Subject') as HTMLInputElement).value).toBe('Re: 請求書について [#INC-7]');

    fireEvent.change(body, { target: { value: `${body.value}\nThe corrected invoice is attached.` } });
    fireEvent.click(within(offered).getByRole('button', { name: 'Submit for review' }));
    expect((await screen.findByTestId('desk-outcome')).textContent).toBe('Submitted for review: 請求書について');
    const [reply] = [...bridge.mail.replies.values()];
    expect(reply).toMatchObject({ state: 'pending_review', mailId: 'mail-1', body: expect.stringContaining('corrected invoice') });
    await waitFor(() => expect(screen.getByTestId('mail-desk').dataset.phase).toBe('none'));
    expect(bridge.callsTo('mail:offerNext').length).toBeGreaterThanOrEqual(2);
  });

  it("fills the next reply from the template as the admin left it, not as it was at sign-in", async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail());
    render(<App />);
    fireEvent.click(screen.getByTestId('area-mail'));
    let offered = await screen.findByTestId('offered-mail');
    await within(offered).findByRole('option', { name: 'Reply (English)' });
    fireEvent.click(within(offered).getByRole('button', { name: 'Close without reply…' }));
    fireEvent.change(within(offered).getByLabelText('Why no reply is needed'), { target: { value: 'Handled by phone.' } });
    fireEvent.click(within(offered).getByRole('button', { name: 'Close the mail' }));
    await waitFor(() => expect(screen.getByTestId('mail-desk').dataset.phase).toBe('none'));

    // The admin rewrites the template while this operator stays signed in.
    bridge.mail.templates = [{ ...bridge.mail.templates[0]!, body: 'Hello {{customerName}}, our hours changed.' }];
    bridge.mail.queue(makeMail({ id: 'mail-2', subject: 'Opening hours' }));
    act(() => bridge.emit('mail:queue', { waiting: 1, needsMatching: 0 }));
    offered = await screen.findByTestId('offered-mail');
    await waitFor(() => expect(within(offered).getByTestId('mail-subject').textContent).toBe('Opening hours'));
    const template = await within(offered).findByRole('option', { name: 'Reply (English)' });
    fireEvent.change(within(offered).getByLabelText('Template'), { target: { value: (template as HTMLOptionElement).value } });
    expect((within(offered).getByLabelText('Reply text') as HTMLTextAreaElement).value).toBe('Hello 山田 太郎, our hours changed.');
  });

  it('asks again when the queue changes', async () => {
    const bridge = installSignedInBridge();
    render(<App />);
    fireEvent.click(screen.getByTestId('area-mail'));
    await waitFor(() => expect(screen.getByTestId('mail-desk').dataset.phase).toBe('none'));
    bridge.mail.queue(makeMail({ id: 'mail-2', subject: 'New question' }));
    act(() => bridge.emit('mail:queue', { waiting: 1, needsMatching: 0 }));
    expect(within(await screen.findByTestId('offered-mail')).getByTestId('mail-subject').textContent).toBe('New question');
  });

  it('keeps a draft on this computer while offline and says that submitting needs a connection', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail());
    render(<App />);
    fireEvent.click(screen.getByTestId('area-mail'));
    const offered = await screen.findByTestId('offered-mail');
    bridge.mail.offline = true;
    fireEvent.change(within(offered).getByLabelText('Reply text'), { target: { value: 'Draft written on the train' } });
    fireEvent.click(within(offered).getByRole('button', { name: 'Save draft' }));
    await waitFor(() => expect(screen.getByTestId('composer-status').textContent).toContain('Saved on this computer'));
    fireEvent.click(within(offered).getByRole('button', { name: 'Submit for review' }));
    await waitFor(() => expect(screen.getByTestId('composer-status').textContent).toContain('Submitting needs a connection'));
    expect([...bridge.mail.localDrafts.values()]).toMatchObject([{ mailId: 'mail-1', body: 'Draft written on the train' }]);
    expect(bridge.mail.replies.size).toBe(0);
  });

  it('shows a returned reply with the comment, and resubmits it after an edit', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail({ queueState: 'answered' }));
    const returned = pendingReply({ state: 'returned', reviewComment: 'Please add the new due date.', reviewerName: '鈴木 監督', reviewedAt: '2024-05-01T03:00:00.000Z' });
    bridge.mail.replies.set(returned.id, returned);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('area-returned').dataset.count).toBe('1'));
    fireEvent.click(screen.getByTestId('area-returned'));
    const card = await screen.findByTestId('returned-reply');
    expect(within(card).getByTestId('review-comment').textContent).toBe('Please add the new due date.');
    fireEvent.click(within(card).getByRole('button', { name: 'Edit and resubmit' }));
    const editor = await screen.findByTestId('returned-editor');
    const body = (await within(editor).findByLabelText('Reply text')) as HTMLTextAreaElement;
    fireEvent.change(body, { target: { value: 'The new due date is 31 May.' } });
    fireEvent.click(within(editor).getByRole('button', { name: 'Resubmit for review' }));
    await waitFor(() => expect(bridge.mail.replies.get(returned.id)).toMatchObject({ state: 'pending_review', body: 'The new due date is 31 May.' }));
    await waitFor(() => expect(screen.queryByTestId('returned-reply')).toBeNull());
  });
});

describe('the supervisor review queue', () => {
  it('is not offered to operators', async () => {
    installSignedInBridge();
    render(<App />);
    await screen.findByTestId('area-mail');
    expect(screen.queryByTestId('area-review')).toBeNull();
    expect(screen.queryByTestId('area-live')).toBeNull();
  });

  it('moves with j/k, approves an edited reply, and returns another with a comment, from the keyboard', async () => {
    const bridge = installSignedInBridge();
    signInAs(bridge, SUPERVISOR);
    bridge.mail.queue(makeMail({ queueState: 'answered' }));
    const first = pendingReply({});
    const second = pendingReply({ id: '00000000-0000-4000-8000-000000000002', subject: 'Re: second [#INC-7]', submittedAt: '2024-05-01T02:30:00.000Z' });
    bridge.mail.replies.set(first.id, first);
    bridge.mail.replies.set(second.id, second);
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-review'));
    const queue = await screen.findByTestId('review-queue');
    await waitFor(() => expect(within(queue).getAllByTestId('review-item')).toHaveLength(2));
    expect(within(queue).getByTestId('review-shortcuts').textContent).toContain('approve');
    expect(within(queue).getByTestId('review-detail').dataset.replyId).toBe(first.id);

    fireEvent.keyDown(document.body, { key: 'j' });
    expect(within(queue).getByTestId('review-detail').dataset.replyId).toBe(second.id);
    fireEvent.keyDown(document.body, { key: 'k' });
    expect(within(queue).getByTestId('review-detail').dataset.replyId).toBe(first.id);

    fireEvent.keyDown(document.body, { key: 'e' });
    const edit = within(queue).getByLabelText('Reply text (your edit)');
    expect(document.activeElement).toBe(edit);
    fireEvent.keyDown(edit, { key: 'a' });
    expect(bridge.callsTo('review:approve')).toEqual([]);
    fireEvent.change(edit, { target: { value: 'ご連絡ありがとうございます。確認いたしました。' } });
    (edit as HTMLTextAreaElement).blur();
    fireEvent.keyDown(document.body, { key: 'a' });
    await waitFor(() => expect(bridge.mail.replies.get(first.id)).toMatchObject({ state: 'approved', body: 'ご連絡ありがとうございます。確認いたしました。', editedByReviewer: true }));
    expect((await within(queue).findByTestId('review-done')).textContent).toContain('Approved');

    await waitFor(() => expect(within(queue).getByTestId('review-detail').dataset.replyId).toBe(second.id));
    fireEvent.keyDown(document.body, { key: 'r' });
    const comment = within(queue).getByLabelText('Comment for the author');
    expect(document.activeElement).toBe(comment);
    fireEvent.change(comment, { target: { value: 'Please check the amount.' } });
    fireEvent.click(within(queue).getByRole('button', { name: 'Return to the author' }));
    await waitFor(() => expect(bridge.mail.replies.get(second.id)).toMatchObject({ state: 'returned', reviewComment: 'Please check the amount.' }));
    await waitFor(() => expect(within(queue).queryAllByTestId('review-item')).toHaveLength(0));
  });

  it('shows a mail to a caller beside the call it answers, and approves it', async () => {
    const bridge = installSignedInBridge();
    signInAs(bridge, SUPERVISOR);
    bridge.mail.calls.set('call-1@pbx', {
      call: { key: 'call-1@pbx', startedAt: '2026-12-01T01:05:00.000Z', remote: '+81311110001', outcome: 'missed', answeredBy: null, receivedBy: ['佐藤 花子'] },
      customerId: 'cust-yamada',
      toAddress: 'taro@example.jp',
    });
    const reply = pendingReply({ mailId: null, callKey: 'call-1@pbx', subject: 'お電話のお礼 [#INC-7]', toAddress: 'taro@example.jp' });
    bridge.mail.replies.set(reply.id, reply);
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-review'));
    const queue = await screen.findByTestId('review-queue');
    const call = await within(queue).findByTestId('review-call');
    expect(within(call).getByTestId('review-call-number').textContent).toBe('+81311110001');
    expect(within(call).getByTestId('review-call-rang').textContent).toBe('佐藤 花子');
    expect(within(call).getByTestId('review-call-when').textContent).toMatch(/01\/12\/2026|2026\/12\/01/);
    expect(within(queue).getByText('New message to the customer')).toBeTruthy();
    fireEvent.click(within(queue).getByRole('button', { name: 'Approve and send' }));
    await waitFor(() => expect(bridge.mail.replies.get(reply.id)).toMatchObject({ state: 'approved' }));
  });

  it('says approval needs a connection while offline', async () => {
    const bridge = installSignedInBridge();
    signInAs(bridge, SUPERVISOR);
    bridge.mail.queue(makeMail({ queueState: 'answered' }));
    bridge.mail.replies.set('00000000-0000-4000-8000-000000000001', pendingReply({}));
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-review'));
    const queue = await screen.findByTestId('review-queue');
    await within(queue).findByTestId('review-detail');
    act(() => bridge.setStatus({ online: false, phase: 'offline' }));
    expect(within(queue).getByTestId('review-offline').textContent).toBe('Approval needs a connection to the server.');
    expect((within(queue).getByRole('button', { name: 'Approve and send' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows the live view from the pushed summary', async () => {
    // jsdom draws nothing: the chart is left out, its table is what is checked.
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
    const bridge = installSignedInBridge();
    signInAs(bridge, SUPERVISOR);
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-live'));
    const live = await screen.findByTestId('live-view');
    await waitFor(() => expect(within(live).getByTestId('mails-waiting').dataset.value).toBe('0'));
    const summary = bridge.mail.summary();
    act(() =>
      bridge.emit('supervisor:summary', {
        ...summary,
        agents: [{ userId: 'user-agent-1', displayName: '佐藤 花子', role: 'agent', status: 'on_call', since: summary.now, secondsInStatus: 75 }],
        calls: { ringing: 2, connected: 1 },
        mails: { ...summary.mails, waiting: 4 },
      }),
    );
    expect(within(live).getByTestId('mails-waiting').dataset.value).toBe('4');
    expect(within(live).getByTestId('calls-ringing').dataset.value).toBe('2');
    const row = within(live).getByTestId('agent-row');
    expect(row.dataset.status).toBe('on_call');
    expect(row.textContent).toContain('On a call');
    expect(row.textContent).toContain('01:15');
    expect(within(live).queryByTestId('relay-trouble')).toBeNull();

    // The relay failed once: the supervisor sees it now, with the relay's error, not an hour later.
    act(() =>
      bridge.emit('supervisor:summary', {
        ...summary,
        mails: { ...summary.mails, sending: 1, relayTrouble: { retrying: 1, lastError: 'connect ECONNREFUSED 127.0.0.1:2526' } },
      }),
    );
    const trouble = within(live).getByTestId('relay-trouble');
    expect(trouble.textContent).toContain('The mail relay did not take 1 approved reply.');
    expect(within(trouble).getByTestId('relay-error').textContent).toBe('connect ECONNREFUSED 127.0.0.1:2526');
  });
});

describe('mail and the phone', () => {
  it('offers no mail while the operator is busy, and asks as soon as they are free again', async () => {
    const bridge = installSignedInBridge();
    usePhoneStore.setState({ status: 'after_call_work' });
    bridge.mail.queue(makeMail());
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-mail'));
    await screen.findByTestId('mail-desk');
    await waitFor(() => expect(bridge.callsTo('reply:localDrafts')).toHaveLength(1));
    expect(bridge.callsTo('mail:offerNext')).toEqual([]);
    act(() => bridge.emit('mail:queue', { waiting: 1, needsMatching: 0 }));
    expect(bridge.callsTo('mail:offerNext')).toEqual([]);

    act(() => usePhoneStore.setState({ status: 'available' }));
    expect(within(await screen.findByTestId('offered-mail')).getByTestId('mail-subject').textContent).toBe('請求書について');
  });
});

describe('closing mail and failed replies', () => {
  it('closes a mail that needs no reply and moves on', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail());
    render(<App />);
    fireEvent.click(screen.getByTestId('area-mail'));
    const offered = await screen.findByTestId('offered-mail');
    fireEvent.click(within(offered).getByRole('button', { name: 'Close without reply…' }));
    fireEvent.change(within(offered).getByLabelText('Why no reply is needed'), { target: { value: 'Thank-you note only' } });
    fireEvent.click(within(offered).getByRole('button', { name: 'Close the mail' }));
    expect((await screen.findByTestId('desk-outcome')).textContent).toBe('Closed without reply: 請求書について');
    expect(bridge.mail.mails[0]).toMatchObject({ queueState: 'closed', closeNote: 'Thank-you note only' });
  });

  it('sends an interrupted reply again only after the supervisor confirms', async () => {
    const bridge = installSignedInBridge();
    signInAs(bridge, SUPERVISOR);
    bridge.mail.queue(makeMail({ queueState: 'answered' }));
    const failed = pendingReply({ state: 'failed', failure: 'interrupted', lastError: 'connection closed during DATA' });
    bridge.mail.replies.set(failed.id, failed);
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-failed'));
    const card = await screen.findByTestId('failed-reply');
    expect(card.textContent).toContain('Sending was interrupted.');
    expect(card.textContent).toContain('connection closed during DATA');
    fireEvent.click(within(card).getByRole('button', { name: 'Send again' }));
    expect(bridge.callsTo('review:requeue')).toEqual([]);
    fireEvent.click(within(card).getByRole('button', { name: 'Yes, send again' }));
    await waitFor(() => expect(bridge.mail.replies.get(failed.id)?.state).toBe('approved'));
    await waitFor(() => expect(screen.queryByTestId('failed-reply')).toBeNull());
  });
});
