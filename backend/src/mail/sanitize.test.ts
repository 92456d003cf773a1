import { describe, expect, it } from 'vitest';
import { describeRelay, loadMailConfig } from './config.js';
import { sanitizeMailHtml } from './sanitize.js';
import { extractMessageIds, refFromSubject, replySubject, withRefToken } from './threading.js';

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

describe('thread headers and reference tokens', () => {
  it('reads message ids with or without brackets, several per header, ignoring comments', () => {
    expect(extractMessageIds('<a@x> (comment) <b@y>')).toEqual(['a@x', 'b@y']);
    expect(extractMessageIds(['<a@x>', '<a@x>', 'c@z'])).toEqual(['a@x', 'c@z']);
    expect(extractMessageIds('not an id')).toEqual([]);
    expect(extractMessageIds(undefined)).toEqual([]);
  });

  it('finds and writes the [#INC-n] token once', () => {
    expect(refFromSubject('Re: help [#INC-42]')).toBe(42);
    expect(refFromSubject('Re: help [#inc-7] again')).toBe(7);
    expect(refFromSubject('INC-42 without brackets')).toBeNull();
    expect(replySubject('Help', 5)).toBe('Re: Help [#INC-5]');
    expect(replySubject('RE: Help [#INC-5]', 5)).toBe('RE: Help [#INC-5]');
    expect(withRefToken('About [#INC-9]', 5)).toBe('About [#INC-5]');
    expect(replySubject('', 5)).toBe('Re: (no subject) [#INC-5]');
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

    const config = loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'smtp://us%40er:p%3Ass@relay.example:587' });
    expect(config.relay).toEqual({ host: 'relay.example', port: 587, secure: false, user: 'us@er', password: 'p:ss' });
    expect(describeRelay(config.relay)).toBe('smtp://us@er@relay.example:587');
    expect(loadMailConfig({}).inbound).toMatchObject({ host: '127.0.0.1', port: 2525, maxMessageBytes: 10 * 1024 * 1024 });
  });
});
