import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../../../shared/ipc.js';
import { App } from '../../App.js';
import { useCustomerStore } from '../../stores/customer.js';
import { useSessionStore } from '../../stores/session.js';
import { AGENT_SESSION } from '../../test/fixtures.js';
import { installSignedInBridge, registerRendererCleanup } from '../../test/harness.js';
import { resetMailStores } from '../stores/reset.js';
import { makeMail } from '../test/memory-mail.js';
import { MailBody } from './MailBody.js';
import { MailHeaders } from './MailHeaders.js';

registerRendererCleanup();
afterEach(() => {
  resetMailStores();
  vi.restoreAllMocks();
});

const SUPERVISOR: SessionInfo = {
  ...AGENT_SESSION,
  user: { ...AGENT_SESSION.user, id: 'user-super-1', login: 'suzuki', displayName: '鈴木 監督', role: 'supervisor' },
};

describe('the header pane of a mail whose sender is not its customer', () => {
  const mismatched = makeMail({
    fromAddress: 'board@acme.example.com',
    fromName: 'Acme Board',
    replyTo: 'drop@evil.example',
    senderKnown: false,
    senderCustomers: [{ id: 'cust-acme', name: 'Acme Holdings' }],
  });

  it('shows Reply-To and the mismatch, and opens the customer only after a second, warned click', async () => {
    installSignedInBridge();
    const select = vi.spyOn(useCustomerStore.getState(), 'select');
    render(<MailHeaders mail={mismatched} />);
    expect(screen.getByTestId('mail-reply-to').textContent).toContain('drop@evil.example');
    const warning = screen.getByTestId('mail-mismatch');
    expect(warning.textContent).toContain("The sender board@acme.example.com is not one of 山田 太郎's known addresses.");
    expect(warning.textContent).toContain('This address belongs to another customer: Acme Holdings.');

    fireEvent.click(screen.getByTestId('open-customer'));
    expect(select).not.toHaveBeenCalled();
    const confirm = screen.getByTestId('open-customer-confirm');
    expect(confirm.textContent).toContain("Open 山田 太郎's record anyway?");
    fireEvent.click(within(confirm).getByRole('button', { name: 'Open anyway' }));
    await waitFor(() => expect(select).toHaveBeenCalledWith('cust-yamada'));
  });

  it('opens a matching sender\'s customer at once', async () => {
    installSignedInBridge();
    const select = vi.spyOn(useCustomerStore.getState(), 'select');
    render(<MailHeaders mail={makeMail()} />);
    expect(screen.queryByTestId('mail-mismatch')).toBeNull();
    fireEvent.click(screen.getByTestId('open-customer'));
    await waitFor(() => expect(select).toHaveBeenCalledWith('cust-yamada'));
  });

  it('shows attachment names neutralised even when stored as sent', () => {
    installSignedInBridge();
    render(
      <MailHeaders
        mail={makeMail({ attachments: [{ id: 'att-1', filename: '../../invoice\u202efdp.exe', contentType: 'application/pdf', size: 10, rejected: null }] })}
      />,
    );
    expect(screen.getByText(/invoicefdp\.exe/).textContent).not.toMatch(/\.\.|\u202e/);
  });
});

describe('which part of a mail is shown', () => {
  it('says the HTML is shown while the incident keeps the text, warns when they differ, and switches', () => {
    installSignedInBridge();
    render(
      <MailBody
        mail={makeMail({
          html: '<p>Please transfer ¥5,000,000 to our new account 7654321 today.</p>',
          text: 'Thank you for your help last week.',
        })}
      />,
    );
    expect(screen.getByTestId('mail-part-shown').dataset.part).toBe('html');
    expect(screen.getByTestId('mail-part-shown').textContent).toBe('Showing the formatted (HTML) part. The incident keeps the plain-text part.');
    const differ = screen.getByTestId('mail-parts-differ');
    fireEvent.click(within(differ).getByRole('button', { name: 'Show the plain text' }));
    expect(screen.getByTestId('mail-text').textContent).toBe('Thank you for your help last week.');
    expect(screen.getByTestId('mail-part-shown').dataset.part).toBe('text');
    fireEvent.click(within(screen.getByTestId('mail-parts-differ')).getByRole('button', { name: 'Show the formatted part' }));
    expect(screen.getByTestId('mail-frame')).toBeTruthy();
  });

  it('does not warn when the parts agree', () => {
    installSignedInBridge();
    render(<MailBody mail={makeMail({ html: '<p>請求書の金額が<b>違います</b>。</p>', text: '請求書の金額が違います。' })} />);
    expect(screen.queryByTestId('mail-parts-differ')).toBeNull();
  });

  it('tells the operator when part of the mail could not be shown, with the plain text one click away', () => {
    installSignedInBridge();
    render(<MailBody mail={makeMail({ html: '<p>First block</p>', text: 'First block\nSecond block', htmlLostText: true })} />);
    const notice = screen.getByTestId('mail-lost-text');
    expect(notice.textContent).toContain('Part of this mail could not be shown safely');
    fireEvent.click(within(notice).getByRole('button', { name: 'Show the plain text' }));
    expect(screen.getByTestId('mail-text').textContent).toBe('First block\nSecond block');
  });
});

describe('the recipient of a reply', () => {
  it('is shown in the composer, defaults to the known address, and warns author and reviewer about the Reply-To', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail({ replyTo: 'drop@evil.example' }));
    const view = render(<App />);
    fireEvent.click(await screen.findByTestId('area-mail'));
    const offered = await screen.findByTestId('offered-mail');
    const to = within(offered).getByTestId('composer-to') as HTMLSelectElement;
    expect(to.value).toBe('taro.yamada@example.jp');
    expect(within(offered).queryByTestId('composer-recipient-warning')).toBeNull();
    expect(within(to).getByRole('option', { name: 'drop@evil.example (Reply-To, not a known address)' })).toBeTruthy();

    fireEvent.change(to, { target: { value: 'drop@evil.example' } });
    expect(within(offered).getByTestId('composer-recipient-warning').textContent).toContain("drop@evil.example is not one of 山田 太郎's known addresses.");
    fireEvent.change(within(offered).getByLabelText('Reply text'), { target: { value: 'Sending it there.' } });
    fireEvent.click(within(offered).getByRole('button', { name: 'Submit for review' }));
    await screen.findByTestId('desk-outcome');
    const [reply] = [...bridge.mail.replies.values()];
    expect(reply).toMatchObject({ state: 'pending_review', toAddress: 'drop@evil.example', toAddressKnown: false });

    view.unmount();
    resetMailStores();
    bridge.session = SUPERVISOR;
    useSessionStore.setState({ phase: 'signedIn', session: SUPERVISOR });
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-review'));
    const detail = await screen.findByTestId('review-detail');
    expect(within(detail).getByTestId('review-to').textContent).toBe('drop@evil.example');
    expect(within(detail).getByTestId('review-recipient-warning').textContent).toContain('drop@evil.example is not one of 山田 太郎');
  });

  it('can be typed, and a typed address of the customer is not warned about', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(makeMail({ customerEmails: ['taro.yamada@example.jp', 'taro@work.example.jp'] }));
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-mail'));
    const offered = await screen.findByTestId('offered-mail');
    fireEvent.change(within(offered).getByTestId('composer-to'), { target: { value: '' } });
    const typed = within(offered).getByTestId('composer-to-typed');
    fireEvent.change(typed, { target: { value: 'someone@else.example' } });
    expect(within(offered).getByTestId('composer-recipient-warning')).toBeTruthy();
    fireEvent.change(typed, { target: { value: 'TARO@work.example.jp' } });
    expect(within(offered).queryByTestId('composer-recipient-warning')).toBeNull();
  });
});

describe('mail that needs matching', () => {
  it('is listed in the mail desk, not offered, and filed into the incident it points at only after a warning', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(
      makeMail({
        id: 'mail-stranger',
        subject: 'Re: transfer [#INC-3]',
        fromAddress: 'attacker@evil.example',
        customerId: 'cust-stranger',
        customerName: 'attacker@evil.example',
        customerEmails: ['attacker@evil.example'],
        matchState: 'needs_matching',
        matchProblem: 'unknown_sender',
        claimedIncident: { incidentId: 'inc-acme', incidentRef: 'INC-3', incidentTitle: 'Merger', customerId: 'cust-acme', customerName: 'Acme Holdings' },
      }),
    );
    render(<App />);
    fireEvent.click(await screen.findByTestId('area-mail'));
    const list = await screen.findByTestId('needs-matching');
    await waitFor(() => expect(screen.getByTestId('mail-desk').dataset.phase).toBe('none'));
    const item = within(list).getByTestId('needs-matching-item');
    expect(within(item).getByTestId('mail-match-problem').textContent).toContain('It refers to INC-3 (Acme Holdings).');

    fireEvent.click(within(item).getByTestId('match-claimed'));
    expect(bridge.mail.mails[0]!.matchState).toBe('needs_matching');
    const confirm = within(item).getByTestId('match-confirm');
    expect(confirm.textContent).toContain("This adds the mail to Acme Holdings's incident, although its sender (attacker@evil.example) is not one of their addresses.");
    fireEvent.click(within(confirm).getByTestId('match-claimed-confirm'));
    await waitFor(() => expect(screen.queryByTestId('needs-matching')).toBeNull());
    expect(bridge.mail.mails[0]).toMatchObject({ matchState: 'matched', incidentId: 'inc-acme', customerName: 'Acme Holdings' });
    act(() => bridge.emit('mail:queue', { waiting: 1, needsMatching: 0 }));
    expect(within(await screen.findByTestId('offered-mail')).getByTestId('mail-subject').textContent).toBe('Re: transfer [#INC-3]');
  });
});
