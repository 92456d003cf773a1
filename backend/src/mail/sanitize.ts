import createDOMPurify, { type DOMPurify } from 'dompurify';
import { JSDOM } from 'jsdom';

/**
 * Server-side sanitising of inbound HTML mail, as defence in depth: the app sanitises again
 * and shows the result in a sandboxed frame with a CSP that blocks script and remote content.
 * What is stored is already free of script, event handlers, forms, frames, meta refresh and
 * dangerous URLs, so a bug in one layer does not open the other.
 *
 * Remote images keep their `src`: the app loads them only after an explicit click, which
 * needs the URL. Remote content in CSS (`url(...)`) has no such click, so it is dropped here.
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
const DANGEROUS_CSS = /url\s*\(|expression\s*\(|@import|behavior\s*:|-moz-binding|javascript:/i;

let purifier: DOMPurify | null = null;

function getPurifier(): DOMPurify {
  if (purifier) return purifier;
  const { window } = new JSDOM('');
  const instance = createDOMPurify(window as unknown as Parameters<typeof createDOMPurify>[0]);
  instance.addHook('uponSanitizeAttribute', (_node, data) => {
    if (data.attrName === 'style' && DANGEROUS_CSS.test(data.attrValue)) {
      data.attrValue = data.attrValue
        .split(';')
        .filter((declaration) => !DANGEROUS_CSS.test(declaration))
        .join(';');
    }
  });
  instance.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName === 'A') {
      node.setAttribute('rel', 'noopener noreferrer nofollow');
      node.removeAttribute('target');
    }
  });
  purifier = instance;
  return instance;
}

export function sanitizeMailHtml(html: string): string {
  return getPurifier().sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: FORBIDDEN_TAGS,
    FORBID_ATTR: FORBIDDEN_ATTRIBUTES,
    ALLOWED_URI_REGEXP: ALLOWED_URI,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    WHOLE_DOCUMENT: false,
    RETURN_TRUSTED_TYPE: false,
  });
}
