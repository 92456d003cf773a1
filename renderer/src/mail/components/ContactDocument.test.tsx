import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installSignedInBridge, registerRendererCleanup } from '../../test/harness.js';
import { makeMail } from '../test/memory-mail.js';
import { ContactDocument } from './ContactDocument.js';

registerRendererCleanup();
afterEach(() => vi.restoreAllMocks());

/** A 1×1 PNG: what the backend's fax renderer sends back. */
const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==';

describe('ContactDocument', () => {
  it('opens the mail behind an email contact in the sanitised view, and downloads an attachment on request', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(
      makeMail({
        contactId: 'contact-mail',
        text: 'Where is my order?',
        html: '<p>Where is <b>my order</b>?</p><script>alert(1)</script>',
        attachments: [{ id: 'att-1', filename: 'invoice.pdf', contentType: 'application/pdf', size: 1200, rejected: null }],
      }),
    );
    const createObjectURL = vi.fn(() => 'blob:test');
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    render(<ContactDocument contact={{ id: 'contact-mail', kind: 'email' }} />);

    fireEvent.click(screen.getByTestId('open-contact-document'));
    await waitFor(() => expect(screen.getByTestId('mail-body')).toBeTruthy());
    const frame = screen.getByTestId('mail-body').querySelector('iframe');
    expect(frame?.getAttribute('sandbox')).toBe('');
    expect(frame?.getAttribute('srcdoc')).toContain('<b>my order</b>');
    expect(frame?.getAttribute('srcdoc')).not.toContain('alert(1)');
    expect(screen.queryByTestId('fax-no-reply')).toBeNull();

    fireEvent.click(screen.getByTestId('download-attachment'));
    await waitFor(() => expect(clicked).toHaveBeenCalledTimes(1));
    expect(bridge.mail.attachmentRequests).toEqual(['att-1']);
    expect(createObjectURL).toHaveBeenCalledTimes(1);

    // The original message (GET /api/mail/messages/:id/raw) downloads as a file too, never shown.
    fireEvent.click(screen.getByTestId('download-raw-mail'));
    await waitFor(() => expect(clicked).toHaveBeenCalledTimes(2));
    expect(bridge.mail.rawRequests).toHaveLength(1);
    expect(createObjectURL).toHaveBeenCalledTimes(2);
  });

  it('opens a fax as the rendered pages only, with its sender number and without a reply', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.queue(
      makeMail({
        id: 'mail-fax',
        kind: 'fax',
        contactId: 'contact-fax',
        fromAddress: 'gateway@fax.example',
        subject: 'FAX from 03-1234-5678',
        text: '',
        faxSender: '+81312345678',
        attachments: [{ id: 'att-fax', filename: 'fax.pdf', contentType: 'application/pdf', size: 5000, rejected: null }],
      }),
    );
    bridge.mail.faxPages.set('att-fax', [PNG_1PX, PNG_1PX]);
    render(<ContactDocument contact={{ id: 'contact-fax', kind: 'fax' }} />);

    fireEvent.click(screen.getByTestId('open-contact-document'));
    await waitFor(() => expect(screen.getAllByTestId('fax-page')).toHaveLength(2));
    const page = screen.getAllByTestId('fax-page')[0] as HTMLImageElement;
    expect(page.getAttribute('src')).toBe(`data:image/png;base64,${PNG_1PX}`);
    expect(page.alt).toMatch(/1/);
    expect(screen.getByTestId('fax-sender').textContent).toBe('+81312345678');
    expect(screen.getByTestId('fax-no-reply')).toBeTruthy();
    expect(screen.queryByTestId('mail-body')).toBeNull();
  });

  it('says why when the mail cannot be opened', async () => {
    installSignedInBridge();
    render(<ContactDocument contact={{ id: 'contact-missing', kind: 'email' }} />);
    fireEvent.click(screen.getByTestId('open-contact-document'));
    await waitFor(() => expect(screen.getByText(/no mail behind contact contact-missing/)).toBeTruthy());
  });
});
