import { describe, expect, it } from 'vitest';
import { describeRelay, loadMailConfig } from './config.js';
import { contentDisposition } from './routes.js';
import { sanitizeInboundHtml, sanitizeMailHtml } from './sanitize.js';
import { extractMessageIds, newRefKey, refFromSubject, refKeyMatches, replySubject, withRefToken } from './threading.js';

describe('server-side sanitising of hostile mail HTML', () => {
  const hostile = `
    <html><head>
      <meta http-equiv="refresh" content="0;url=https://evil.example/">
      <base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/x.css">
      <style>body { background: url(https://tracker.example/bg.gif) }</style>
    </head><body>
      <p onclick="steal()" onmouseover="steal()" style="color: red; background: url(https://tracker.example/p.gif)">Hello</p>
      <script>alert(1)</script><noscript><img src="https://tracker.example/ns.gif"></noscript>
      <a href="javascript:alert(1)">js</a><a href="data:text/html,<script>alert(1)</script>">data</a>
      <a href="https://shop.example/order/1" target="_blank">order</a><a href="mailto:help@example.com">mail us</a>
      <div style="width: expression(alert(1))">ie</div>
      <form action="https://evil.example/login"><input name="password"><button>Log in</button></form>
      <iframe src="https://evil.example/"></iframe><object data="x.swf"></object><embed src="x.swf">
      <img src="https://tracker.example/open.gif?u=1" srcset="https://tracker.example/2x.gif 2x" width="1" height="1">
      <img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
      <svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>
      <table background="https://tracker.example/t.gif"><tr><td>cell</td></tr></table>
    </body></html>`;
  const clean = sanitizeMailHtml(hostile);

  it('removes script, event handlers, dangerous URLs, forms, frames, meta refresh and CSS that loads anything', () => {
    for (const forbidden of ['<script', 'onclick', 'onmouseover', 'javascript:', 'data:text/html', '<form', '<input', '<button', '<iframe', '<object', '<embed', '<meta', '<base', '<link', '<style', '<svg', 'expression(', 'url(', 'srcset', 'background=', 'evil.example']) {
      expect(clean, forbidden).not.toContain(forbidden);
    }
  });

  it('keeps the content, safe links (without opener or target) and the image sources the app loads on click', () => {
    expect(clean).toContain('Hello');
    expect(clean).toContain('style="color: red"');
    expect(clean).toContain('href="https://shop.example/order/1"');
    expect(clean).toContain('href="mailto:help@example.com"');
    expect(clean).toContain('rel="noopener noreferrer nofollow"');
    expect(clean).not.toContain('target=');
    expect(clean).toContain('src="https://tracker.example/open.gif?u=1"');
    expect(clean).toContain('src="data:image/png;base64,iVBORw0KGgo="');
    expect(clean).toContain('<td>cell</td>');
  });
});

describe('server-side sanitising: CSS escapes and text that must not vanish', () => {
  it('decodes CSS escapes before judging a style, like the app does, and keeps the decoded safe rest', () => {
    const clean = sanitizeMailHtml(
      '<p style="color: red; background: u\\72l(https://tracker.example/a.gif)">a</p>' +
        '<p style="width: \\65 xpression(alert(1))">b</p><p style="b\\61ckground-image: \\75 rl(//t.example/x)">c</p>',
    );
    expect(clean).toContain('<p style="color: red">a</p>');
    expect(clean).not.toMatch(/tracker\.example|t\.example|expression|\\7|\\65/);
    expect(clean).toContain('<p>b</p>');
    expect(clean).toContain('<p>c</p>');
  });

  it('keeps the text of shapes that made it cut the rest of a mail, as text, and says when text was lost', () => {
    const nested =
      '<p>First block</p><p>Second block</p>' +
      '<plaintext><p>Third block: the payment is due on 2026-12-24, account 1234567.</p></plaintext>';
    const plaintext = sanitizeInboundHtml(nested);
    expect(plaintext.html).toContain('Third block: the payment is due on 2026-12-24, account 1234567.');
    expect(plaintext.html).not.toContain('<plaintext');
    expect(plaintext.lostText).toBe(false);

    const shapes = sanitizeInboundHtml(
      '<p>a</p><svg><text>words inside svg stay readable</text><script>alert(1)</script></svg>' +
        '<xmp><img src=x onerror=alert(1)> words in xmp</xmp><noembed>words in noembed</noembed><video>words in video</video>',
    );
    for (const words of ['words inside svg stay readable', 'words in xmp', 'words in noembed', 'words in video']) expect(shapes.html).toContain(words);
    expect(shapes.html).not.toMatch(/<img|<svg|alert\(1\)<\/|<script/);
    expect(shapes.lostText).toBe(false);
  });
});

describe('attachment names in downloads', () => {
  it('neutralises path parts, NUL and bidi controls in Content-Disposition (RFC 6266/5987)', () => {
    expect(contentDisposition('../../etc/passwd')).toBe(`attachment; filename="passwd"; filename*=UTF-8''passwd`);
    expect(contentDisposition('C:\\Windows\\evil.pdf')).toBe(`attachment; filename="evil.pdf"; filename*=UTF-8''evil.pdf`);
    expect(contentDisposition('invoice\u202efdp.exe')).toBe(`attachment; filename="invoicefdp.exe"; filename*=UTF-8''invoicefdp.exe`);
    expect(contentDisposition('a\u0000b.pdf')).toBe(`attachment; filename="ab.pdf"; filename*=UTF-8''ab.pdf`);
    expect(contentDisposition('請求書 (1).pdf')).toBe(
      `attachment; filename="___ (1).pdf"; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8%20%281%29.pdf`,
    );
  });
});

describe('thread headers and reference tokens', () => {
  it('reads message ids with or without brackets, several per header, ignoring comments', () => {
    expect(extractMessageIds('<a@x> (comment) <b@y>')).toEqual(['a@x', 'b@y']);
    expect(extractMessageIds(['<a@x>', '<a@x>', 'c@z'])).toEqual(['a@x', 'c@z']);
    expect(extractMessageIds('not an id')).toEqual([]);
    expect(extractMessageIds(undefined)).toEqual([]);
  });

  it('finds and writes the keyed [#INC-n-KEY] token once, and reads old bare tokens as unkeyed', () => {
    const ref = { refNo: 5, key: 'K7QX9M2P' };
    expect(refFromSubject('Re: help [#INC-42-ab12cd34]')).toEqual({ refNo: 42, key: 'AB12CD34' });
    expect(refFromSubject('Re: help [#inc-7] again')).toEqual({ refNo: 7, key: null });
    expect(refFromSubject('INC-42 without brackets')).toBeNull();
    expect(replySubject('Help', ref)).toBe('Re: Help [#INC-5-K7QX9M2P]');
    expect(replySubject('RE: Help [#INC-5-K7QX9M2P]', ref)).toBe('RE: Help [#INC-5-K7QX9M2P]');
    expect(withRefToken('About [#INC-9]', ref)).toBe('About [#INC-5-K7QX9M2P]');
    expect(replySubject('', ref)).toBe('Re: (no subject) [#INC-5-K7QX9M2P]');
  });

  it('gives random keys that only match themselves', () => {
    const keys = new Set(Array.from({ length: 200 }, () => newRefKey()));
    expect(keys.size).toBe(200);
    for (const key of keys) expect(key).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(refKeyMatches('ab12cd34', 'AB12CD34')).toBe(true);
    expect(refKeyMatches('AB12CD35', 'AB12CD34')).toBe(false);
    expect(refKeyMatches(null, 'AB12CD34')).toBe(false);
    expect(refKeyMatches('AB12', 'AB12CD34')).toBe(false);
  });
});

describe('mail configuration', () => {
  it('names the variable of a bad value and never prints the relay password', () => {
    expect(() => loadMailConfig({ TSUNAGU_SMTP_PORT: 'twenty-five' })).toThrow(/TSUNAGU_SMTP_PORT/);
    expect(() => loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'http://relay.example' })).toThrow(/TSUNAGU_SMTP_RELAY_URL/);
    expect(() => loadMailConfig({ TSUNAGU_TIME_ZONE: 'Mars/Olympus' })).toThrow(/TSUNAGU_TIME_ZONE/);
    let message = '';
    try {
      loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'smtp://user:hunter2@relay.example:587/path' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TSUNAGU_SMTP_RELAY_URL/);
    expect(message).not.toContain('hunter2');

    const config = loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'smtp://us%40er:p%3Ass@relay.example:587?starttls=required' });
    expect(config.relay).toEqual({ host: 'relay.example', port: 587, secure: false, requireStartTls: true, ca: null, user: 'us@er', password: 'p:ss' });
    expect(describeRelay(config.relay)).toBe('smtp://us@er@relay.example:587 (STARTTLS required)');
    expect(loadMailConfig({}).inbound).toMatchObject({ host: '127.0.0.1', port: 2525, maxMessageBytes: 10 * 1024 * 1024 });
  });
});
