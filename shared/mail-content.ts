/**
 * Rules about untrusted mail content that the backend (storage, downloads) and the app
 * (display) must apply the same way, so they live here once.
 */

/**
 * CSS as the browser will read it: comments removed and escapes decoded, so `\65 xpression(`,
 * `u\72l(` or `java\script:` are seen for what they are. What is checked is what is kept.
 */
export function decodeCss(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '')
    .replace(/\\([0-9a-f]{1,6})[ \t\n\f]?/gi, (_whole, hex: string) => {
      const code = Number.parseInt(hex, 16);
      return code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ? '\ufffd' : String.fromCodePoint(code);
    })
    .replace(/\\\n/g, '')
    .replace(/\\(.)/g, '$1');
}

/** Things in (decoded) CSS that run code, bind behaviour, pull in other stylesheets or fetch without url(). */
const CSS_CODE = /expression\s*\(|javascript\s*:|vbscript\s*:|-moz-binding|behavior\s*:|@import|image-set\s*\(|\bsrc\s*\(|<\s*[/!a-z]/i;

/** Whether decoded CSS could run code or fetch something other than through `url()`. */
export function cssRunsCode(decodedCss: string): boolean {
  return CSS_CODE.test(decodedCss);
}

/** Whether decoded CSS fetches anything through `url()`. */
export function cssFetches(decodedCss: string): boolean {
  return /url\s*\(/i.test(decodedCss);
}

// C0 and C1 controls, DEL, and the bidi controls that reorder what is shown
// (U+202E makes `invoice<RLO>fdp.exe` read as `invoiceexe.pdf`), plus invisible separators.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
const NAME_MAX = 255;

/**
 * An attachment's name as it may be stored, shown and offered for download: only its last path
 * part (no `../`, `C:\`, `..\`), without control or bidi characters, never `.`/`..` or empty,
 * and not starting with a dot (no hidden or dot-dot names on the operator's disk).
 */
export function safeAttachmentName(name: string): string {
  const withoutControls = name.normalize('NFC').replace(UNSAFE_NAME_CHARS, '');
  const lastPart = withoutControls.split(/[/\\]/).pop() ?? '';
  const withoutDrive = lastPart.replace(/^[a-z]:/i, '');
  const trimmed = withoutDrive.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  const bounded = [...trimmed].slice(0, NAME_MAX).join('');
  return bounded === '' ? 'attachment' : bounded;
}

function normaliseForComparison(text: string): string {
  return text
    .replace(/\b(?:https?:\/\/|mailto:)\S+/gi, '')
    .normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}

function bigrams(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const chars = [...text];
  for (let i = 0; i + 1 < chars.length; i += 1) {
    const pair = `${chars[i]}${chars[i + 1]}`;
    counts.set(pair, (counts.get(pair) ?? 0) + 1);
  }
  return counts;
}

/** Below this share of common character pairs the two parts are telling different stories. */
const PARTS_AGREE_AT = 0.85;

/**
 * Whether a mail's HTML part (as text) and its plain-text part say different things. Layout,
 * punctuation, spacing and spelled-out link addresses are ignored (every client renders HTML
 * to text a little differently, and text parts often write a link's URL beside its words).
 * What is left is compared by character pairs (Dice), so it works for Japanese text without
 * spaces as well as for English, and text that only one part has counts either way.
 */
export function mailPartsDiffer(htmlAsText: string, plainText: string): boolean {
  const a = normaliseForComparison(htmlAsText);
  const b = normaliseForComparison(plainText);
  if (a === b) return false;
  if (a === '' || b === '') return true;
  const pairsA = bigrams(a);
  const pairsB = bigrams(b);
  let shared = 0;
  for (const [pair, count] of pairsA) shared += Math.min(count, pairsB.get(pair) ?? 0);
  const total = Math.max(1, [...a].length - 1 + ([...b].length - 1));
  return (2 * shared) / total < PARTS_AGREE_AT;
}

/** Characters of text (not counting spacing) that the sanitised HTML no longer holds. */
export function lostTextChars(originalText: string, keptText: string): number {
  const original = originalText.replace(/\s+/g, '').length;
  const kept = keptText.replace(/\s+/g, '').length;
  return Math.max(0, original - kept);
}

/**
 * Whether sanitising lost enough of the text that the operator must be told: a few characters
 * (entities, a bullet) are noise; more than that means part of the mail is not shown.
 */
export function sanitiserLostText(originalText: string, keptText: string): boolean {
  const lost = lostTextChars(originalText, keptText);
  return lost > Math.max(20, originalText.replace(/\s+/g, '').length * 0.02);
}
