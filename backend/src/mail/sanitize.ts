import createDOMPurify, { type DOMPurify } from 'dompurify';
import { JSDOM } from 'jsdom';
import { cssFetches, cssRunsCode, decodeCss, sanitiserLostText } from '../../../shared/mail-content.js';

/**
 * Server-side sanitising of inbound HTML mail, as defence in depth: the app sanitises again
 * and shows the result in a sandboxed frame with a CSP that blocks script and remote content.
 * What is stored is already free of script, event handlers, forms, frames, meta refresh and
 * dangerous URLs, so a bug in one layer does not open the other.
 *
 * Remote images keep their `src`: the app loads them only after an explicit click, which
 * needs the URL. Remote content in CSS (`url(...)`) has no such click, so it is dropped here.
 * CSS is checked as the browser reads it (escapes decoded, shared/mail-content.ts), and kept so.
 * Text is never dropped silently: what cannot be kept as markup is kept as text, and a mail
 * that still lost text says so.
 */

const FORBIDDEN_TAGS = [
  'script', 'style', 'link', 'meta', 'base', 'title',
  'form', 'input', 'button', 'textarea', 'select', 'option', 'optgroup', 'fieldset', 'datalist', 'output',
  'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'portal', 'template', 'noscript',
  'audio', 'video', 'source', 'track', 'picture',
];
// srcset/background/poster load remote content without the app's click; action/formaction/ping
// submit or beacon to a remote site.
const FORBIDDEN_ATTRIBUTES = ['srcset', 'background', 'poster', 'action', 'formaction', 'ping', 'xmlns'];
/** http(s) and mailto links, cid: references to inline parts, and in-page anchors. */
const ALLOWED_URI = /^(?:(?:https?|mailto|cid):|#)/i;
/**
 * Elements DOMPurify removes together with their content. Their text is kept as plain text
 * (never as markup), so a mail shaped to make the sanitiser cut it (an unclosed <plaintext>,
 * <xmp>, text inside <svg>) still shows its words; script and style stay out.
 */
const KEEP_TEXT_OF = new Set(['noscript', 'xmp', 'noembed', 'noframes', 'plaintext', 'svg', 'math', 'textarea', 'iframe', 'audio', 'video']);
const NOT_TEXT = 'script, style, title';
const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

/** Script and style of the HTML namespace are not text a reader sees; a MathML or SVG `style` shown as text is. */
function removeNonText(root: ParentNode): void {
  for (const element of root.querySelectorAll(NOT_TEXT)) {
    if (element.namespaceURI === HTML_NAMESPACE || element.localName === 'script') element.remove();
  }
}

/** A style attribute, decoded as the browser reads it, without the declarations that run code or fetch. */
function safeStyle(value: string): string {
  const kept = decodeCss(value)
    .split(';')
    .filter((declaration) => declaration.trim() !== '' && !cssRunsCode(declaration) && !cssFetches(declaration))
    .join(';');
  // A declaration split across the filter's cuts (an escaped `;`) is checked once more whole.
  return cssRunsCode(kept) || cssFetches(kept) ? '' : kept.trim();
}

function visibleText(window: JSDOM['window'], html: string): string {
  const document = new window.DOMParser().parseFromString(html, 'text/html');
  removeNonText(document);
  return document.body?.textContent ?? '';
}

let purifier: DOMPurify | null = null;
let purifierWindow: JSDOM['window'] | null = null;

function getPurifier(): { purify: DOMPurify; window: JSDOM['window'] } {
  if (purifier && purifierWindow) return { purify: purifier, window: purifierWindow };
  const { window } = new JSDOM('');
  const instance = createDOMPurify(window as unknown as Parameters<typeof createDOMPurify>[0]);
  instance.addHook('uponSanitizeElement', (node, data) => {
    if (!KEEP_TEXT_OF.has(data.tagName) || !node.parentNode) return;
    const copy = node.cloneNode(true) as Element;
    removeNonText(copy);
    const text = copy.textContent ?? '';
    if (text.trim() !== '') node.parentNode.insertBefore(window.document.createTextNode(text), node);
  });
  instance.addHook('uponSanitizeAttribute', (_node, data) => {
    if (data.attrName === 'style') data.attrValue = safeStyle(data.attrValue);
  });
  instance.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName === 'A') {
      node.setAttribute('rel', 'noopener noreferrer nofollow');
      node.removeAttribute('target');
    }
    if (node.getAttribute?.('style') === '') node.removeAttribute('style');
  });
  purifier = instance;
  purifierWindow = window;
  return { purify: instance, window };
}

export interface SanitisedInbound {
  html: string;
  /** Part of the mail's text could not be kept: the operator is told, and offered the plain-text part. */
  lostText: boolean;
}

export function sanitizeInboundHtml(dirty: string): SanitisedInbound {
  const { purify, window } = getPurifier();
  const html = purify.sanitize(dirty, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: FORBIDDEN_TAGS,
    FORBID_ATTR: FORBIDDEN_ATTRIBUTES,
    ALLOWED_URI_REGEXP: ALLOWED_URI,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    WHOLE_DOCUMENT: false,
    RETURN_TRUSTED_TYPE: false,
  });
  return { html, lostText: sanitiserLostText(visibleText(window, dirty), visibleText(window, html)) };
}

export function sanitizeMailHtml(html: string): string {
  return sanitizeInboundHtml(html).html;
}
