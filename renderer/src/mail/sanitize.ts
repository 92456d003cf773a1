import DOMPurify from 'dompurify';
import { toExternalUrl } from '../../../shared/ipc.js';
import { cssRunsCode, decodeCss } from '../../../shared/mail-content.js';

/**
 * Untrusted mail HTML, made inert before it goes into a sandboxed frame. The backend has
 * sanitised it already; this is the second, independent layer, and the frame's sandbox and
 * CSP are the third.
 *
 * - No script, no handlers, no forms, no frames or plugins, no meta refresh, no <base>, no
 *   SVG/MathML (DOMPurify's HTML profile and the lists below).
 * - Links do not work inside the frame: its sandbox could not stop a click from navigating the
 *   frame, and the app cannot watch clicks in a frame that has no script and no same-origin
 *   access. Each http(s)/mailto link loses its href, gets a number, and is listed outside the
 *   frame, where opening it asks for confirmation. Other schemes (javascript:, data:, …) are
 *   dropped.
 * - Remote images (the usual tracking pixels) become a placeholder until the user asks to show
 *   them; small inline data: images stay. CSS that could run code or fetch something
 *   (expression(), javascript: URLs, bindings, @import, image-set()) removes the style it is
 *   in; remote url()s in CSS are hidden like remote images.
 * - Shown remote images are never loaded by the frame: the core fetches them (mail:remoteImage)
 *   and they go in as data: URLs, so neither the frame nor the app page admits http(s) images.
 */

export interface MailLink {
  /** 1-based, as shown beside the link text in the mail. */
  number: number;
  url: string;
  text: string;
}

export interface SanitisedMail {
  html: string;
  links: MailLink[];
  /** Remote images (and CSS backgrounds) replaced by the placeholder: not asked for, or not fetched. */
  blockedRemoteImages: number;
  /** The distinct remote image URLs of the mail (img src and CSS url()), in order, for the core to fetch. */
  remoteImageUrls: string[];
}

export interface SanitiseOptions {
  /**
   * After "show images": remote URL → the data: URL the core fetched. A URL missing here stays
   * a placeholder. null: the user has not asked.
   */
  remoteImages: ReadonlyMap<string, string> | null;
}

/** An inline image larger than this (as a data: URL) is replaced: nothing legitimate inlines megabytes. */
export const MAX_INLINE_IMAGE_CHARS = 200_000;

const INLINE_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp);base64,[a-z0-9+/=\s]+$/i;

/** A neutral grey box (an inline SVG is an image here, never a document: no script can run in it). */
export const IMAGE_PLACEHOLDER =
  'data:image/svg+xml;base64,' +
  btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" viewBox="0 0 40 30"><rect width="40" height="30" fill="#e2e8f0"/><path d="M8 24l8-10 6 7 4-5 6 8z" fill="#94a3b8"/></svg>',
  );

const FORBIDDEN_TAGS = [
  'form', 'input', 'button', 'select', 'option', 'optgroup', 'textarea', 'datalist', 'output', 'fieldset', 'legend',
  'meta', 'base', 'link', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'param', 'portal', 'dialog',
  'template', 'audio', 'video', 'source', 'track', 'picture', 'canvas', 'noscript', 'map', 'area',
];
const FORBIDDEN_ATTRIBUTES = [
  'srcset', 'background', 'poster', 'action', 'formaction', 'ping', 'usemap', 'longdesc', 'lowsrc', 'dynsrc',
  'target', 'rel', 'autofocus', 'tabindex', 'accesskey', 'contenteditable',
];

const CSS_URL = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*))\s*\)/gi;

export function sanitizeMailHtml(dirty: string, options: SanitiseOptions): SanitisedMail {
  const purify = DOMPurify(window);
  const links: MailLink[] = [];
  let blockedRemoteImages = 0;
  const remoteImageUrls = new Set<string>();
  /** The fetched image for a remote URL, or null (and the URL is counted as blocked). */
  const proxied = (url: string): string | null => {
    remoteImageUrls.add(url);
    const dataUrl = options.remoteImages?.get(url);
    if (dataUrl !== undefined) return dataUrl;
    blockedRemoteImages += 1;
    return null;
  };

  const cleanCss = (css: string): string | null => {
    const readable = decodeCss(css);
    if (cssRunsCode(readable)) return null;
    return readable.replace(CSS_URL, (_whole, double?: string, single?: string, bare?: string) => {
      const url = (double ?? single ?? bare ?? '').trim();
      if (isInlineImage(url)) return `url("${url}")`;
      if (!/^https?:\/\//i.test(url)) return 'none';
      const dataUrl = proxied(url);
      return dataUrl === null ? 'none' : `url("${dataUrl}")`;
    });
  };

  purify.addHook('uponSanitizeElement', (node, data) => {
    if (data.tagName !== 'style') return;
    const css = cleanCss(node.textContent ?? '');
    node.textContent = css ?? '';
  });

  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const style = node.getAttribute('style');
    if (style !== null) {
      const css = cleanCss(style);
      if (css === null || css.trim() === '') node.removeAttribute('style');
      else node.setAttribute('style', css);
    }
    const tag = node.tagName.toLowerCase();
    if (tag === 'a') neutraliseLink(node, links);
    if (tag === 'img') {
      const src = (node.getAttribute('src') ?? '').trim();
      if (isInlineImage(src)) return;
      const dataUrl = /^https?:\/\//i.test(src) ? proxied(src) : null;
      node.setAttribute('src', dataUrl ?? IMAGE_PLACEHOLDER);
    }
  });

  const html = purify.sanitize(dirty, {
    USE_PROFILES: { html: true },
    FORCE_BODY: true,
    FORBID_TAGS: FORBIDDEN_TAGS,
    FORBID_ATTR: FORBIDDEN_ATTRIBUTES,
    ALLOW_DATA_ATTR: false,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|cid:)/i,
    SANITIZE_NAMED_PROPS: true,
  });
  return { html, links, blockedRemoteImages, remoteImageUrls: [...remoteImageUrls] };
}

function neutraliseLink(anchor: Element, links: MailLink[]): void {
  const href = anchor.getAttribute('href');
  anchor.removeAttribute('href');
  const url = href === null ? null : toExternalUrl(href);
  if (url === null) return;
  const number = links.length + 1;
  links.push({ number, url, text: (anchor.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 200) });
  anchor.setAttribute('class', 'mail-link');
  anchor.setAttribute('title', url);
  const marker = anchor.ownerDocument.createElement('sup');
  marker.textContent = `[${number}]`;
  anchor.appendChild(marker);
}

function isInlineImage(url: string): boolean {
  return url.length <= MAX_INLINE_IMAGE_CHARS && INLINE_IMAGE.test(url);
}

/** Links of a plain-text mail, for the same list (and the same confirmation) as HTML links. */
export function linksInText(text: string): MailLink[] {
  const links: MailLink[] = [];
  for (const match of text.matchAll(/\b(?:https?:\/\/|mailto:)[^\s<>"'）」]+/gi)) {
    const url = toExternalUrl(match[0].replace(/[.,;:!?)]+$/, ''));
    if (url !== null && !links.some((link) => link.url === url)) links.push({ number: links.length + 1, url, text: url });
    if (links.length >= 100) break;
  }
  return links;
}

/** The frame's own policy: nothing but inline style and inline images (shown remote images are data: URLs too). */
export function mailFrameCsp(): string {
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    'img-src data:',
    "font-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * The whole document of the frame. The CSP comes first in <head>, before anything it governs.
 * Important: the frame's sandbox attribute is MAIL_FRAME_SANDBOX (no script, no same-origin, no
 * forms, no popups, no top navigation); this document is only the content.
 */
export function buildMailSrcdoc(sanitisedHtml: string): string {
  return [
    '<!doctype html><html><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${mailFrameCsp()}">`,
    '<meta name="referrer" content="no-referrer">',
    '<style>body{margin:8px;font-family:system-ui,sans-serif;font-size:14px;line-height:1.5;color:#1a202c;background:#fff;overflow-wrap:anywhere}',
    'img{max-width:100%;height:auto}.mail-link{color:#1d4ed8;text-decoration:underline}.mail-link sup{font-size:11px;margin-left:1px}</style>',
    `</head><body>${sanitisedHtml}</body></html>`,
  ].join('');
}

/** Empty: every sandbox restriction applies (scripts, same origin, forms, popups, navigation, downloads…). */
export const MAIL_FRAME_SANDBOX = '';
