import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installSignedInBridge, registerRendererCleanup } from '../../test/harness.js';
import { resetMailStores } from '../stores/reset.js';
import { IMAGE_PLACEHOLDER, mailFrameCsp } from '../sanitize.js';
import { makeMail } from '../test/memory-mail.js';
import { MailBody } from './MailBody.js';

registerRendererCleanup();
afterEach(() => {
  resetMailStores();
  vi.restoreAllMocks();
});

const PIXEL = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

const HOSTILE = makeMail({
  subject: 'Your invoice',
  html: [
    '<p>Dear customer,</p>',
    '<script>window.top.document.title = "pwned"</script>',
    '<img src="http://127.0.0.1:9/track.gif?id=42" width="1" height="1">',
    '<p><a href="javascript:alert(1)">click me</a> or <a href="https://example.com/pay?ref=9">pay here</a></p>',
  ].join(''),
  text: 'Dear customer, pay here: https://example.com/pay?ref=9',
});

function frame(): HTMLIFrameElement {
  return screen.getByTestId('mail-frame') as HTMLIFrameElement;
}

function frameDocument(): Document {
  return new DOMParser().parseFromString(frame().getAttribute('srcdoc') ?? '', 'text/html');
}

describe('MailBody', () => {
  it('shows the HTML in a frame sandboxed with no permissions at all, under its own CSP', () => {
    installSignedInBridge();
    render(<MailBody mail={HOSTILE} />);
    expect(frame().getAttribute('sandbox')).toBe('');
    expect(frame().getAttribute('src')).toBeNull();
    expect(frame().getAttribute('referrerpolicy')).toBe('no-referrer');
    const doc = frameDocument();
    const csp = doc.head.querySelector('meta[http-equiv="Content-Security-Policy"]');
    expect(csp?.getAttribute('content')).toBe(mailFrameCsp());
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(doc.body.innerHTML).not.toContain('127.0.0.1:9');
    expect(doc.body.textContent).toContain('Dear customer');
  });

  it('shows remote images only after "show images", as data: URLs the core fetched, the frame CSP still closed', async () => {
    const bridge = installSignedInBridge();
    bridge.mail.remoteImages.set('http://127.0.0.1:9/track.gif?id=42', PIXEL);
    render(<MailBody mail={HOSTILE} />);
    expect(bridge.mail.remoteImageRequests).toEqual([]);
    const notice = screen.getByTestId('remote-images-blocked');
    expect(notice.textContent).toContain('1 remote image is hidden');
    fireEvent.click(within(notice).getByRole('button', { name: 'Show images' }));
    await waitFor(() => expect(frame().dataset.remoteImages).toBe('true'));
    expect(bridge.mail.remoteImageRequests).toEqual(['http://127.0.0.1:9/track.gif?id=42']);
    expect(frame().getAttribute('sandbox')).toBe('');
    const doc = frameDocument();
    expect(doc.head.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content')).toBe(mailFrameCsp());
    expect(doc.querySelector('img')?.getAttribute('src')).toBe(PIXEL);
    expect(frame().getAttribute('srcdoc')).not.toContain('127.0.0.1:9');
    expect(screen.queryByTestId('remote-images-blocked')).toBeNull();
    expect(screen.queryByTestId('remote-images-failed')).toBeNull();
  });

  it('keeps the images the core refused hidden, and says how many', async () => {
    const bridge = installSignedInBridge();
    const mail = makeMail({
      subject: 'Two pictures',
      html: '<p>Look</p><img src="https://cdn.test/ok.png"><img src="https://cdn.test/logo.svg"><div style="background:url(https://cdn.test/bg.png)">x</div>',
      text: 'Look',
    });
    bridge.mail.remoteImages.set('https://cdn.test/ok.png', PIXEL);
    render(<MailBody mail={mail} />);
    fireEvent.click(within(screen.getByTestId('remote-images-blocked')).getByRole('button', { name: 'Show images' }));
    await waitFor(() => expect(screen.getByTestId('remote-images-failed').textContent).toBe('2 remote images could not be loaded and stay hidden.'));
    expect(bridge.mail.remoteImageRequests.sort()).toEqual(['https://cdn.test/bg.png', 'https://cdn.test/logo.svg', 'https://cdn.test/ok.png']);
    const images = [...frameDocument().querySelectorAll('img')].map((image) => image.getAttribute('src'));
    expect(images).toEqual([PIXEL, IMAGE_PLACEHOLDER]);
    expect(frame().getAttribute('srcdoc')).not.toContain('cdn.test');
  });

  it('lists only the http(s) link, and opens it only after confirming the full URL, in a new context', async () => {
    const bridge = installSignedInBridge();
    const open = vi.spyOn(window, 'open').mockReturnValue(null);
    render(<MailBody mail={HOSTILE} />);
    const links = screen.getAllByTestId('mail-link');
    expect(links.map((link) => link.dataset.url)).toEqual(['https://example.com/pay?ref=9']);

    fireEvent.click(links[0]!);
    const dialog = screen.getByRole('dialog', { name: 'Open this link in your browser?' });
    expect(within(dialog).getByTestId('link-confirm-url').textContent).toBe('https://example.com/pay?ref=9');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(open).not.toHaveBeenCalled();
    expect(bridge.callsTo('shell:openExternal')).toEqual([]);

    fireEvent.click(links[0]!);
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Open' }));
    await waitFor(() => expect(open).toHaveBeenCalledWith('https://example.com/pay?ref=9', '_blank', 'noopener,noreferrer'));
    expect(bridge.callsTo('shell:openExternal')).toEqual([{ url: 'https://example.com/pay?ref=9' }]);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('shows the plain text on request, its links listed the same way', () => {
    installSignedInBridge();
    render(<MailBody mail={HOSTILE} />);
    fireEvent.click(screen.getByRole('button', { name: 'Plain text' }));
    expect(screen.queryByTestId('mail-frame')).toBeNull();
    expect(screen.getByTestId('mail-text').textContent).toBe(HOSTILE.text);
    expect(screen.getAllByTestId('mail-link').map((link) => link.dataset.url)).toEqual(['https://example.com/pay?ref=9']);
  });
});
