/**
 * Normalisation applied to both the indexed text and the query, so that full-width and
 * half-width forms, upper and lower case, and hiragana and katakana find each other.
 * FTS5's trigram tokenizer folds none of these by itself.
 */
export function normaliseForSearch(text: string): string {
  // NFKC turns half-width katakana (ﾔﾏﾀﾞ) into full-width (ヤマダ) and full-width latin into ASCII.
  let out = text.normalize('NFKC').toLowerCase();
  out = out.replace(/[\u3041-\u3096\u309d\u309e]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0x60));
  // Spaces, middle dots and hyphen-like marks are left out so "山田 太郎" matches "山田太郎".
  return out.replace(/[\s\u30fb\u00b7\-‐–—_・]+/g, '');
}

/**
 * Words of a field, each normalised: the units that 1–2 character queries match by prefix
 * (family name, given name, each kana reading, each latin word, e-mail local part).
 */
export function searchTokens(...fields: string[]): string[] {
  const tokens = new Set<string>();
  for (const field of fields) {
    for (const word of field.normalize('NFKC').split(/[\s\u3000,.@・]+/)) {
      const token = normaliseForSearch(word);
      if (token) tokens.add(token);
    }
  }
  return [...tokens];
}

/** Words longer than this add no more suffixes: names and readings are far shorter. */
const MAX_SUFFIX_WORD_LENGTH = 16;

/**
 * Every suffix of every normalised word (ヤマダ → ヤマダ, マダ, ダ). Matching a 1–2 character
 * query as a prefix of these finds it anywhere inside a name or reading (マダ in ヤマダ), with
 * an index range scan instead of a full scan, which FTS5's trigram tokenizer cannot do.
 */
export function suffixTokens(...fields: string[]): string[] {
  const tokens = new Set<string>();
  for (const word of searchTokens(...fields)) {
    // Suffixes start at code point boundaries (a surrogate pair is one character) of the word's
    // first MAX_SUFFIX_WORD_LENGTH characters; slicing the string avoids an array per suffix.
    let end = 0;
    const starts: number[] = [];
    for (const char of word) {
      if (starts.length === MAX_SUFFIX_WORD_LENGTH) break;
      starts.push(end);
      end += char.length;
    }
    const kept = word.slice(0, end);
    for (const start of starts) tokens.add(kept.slice(start));
  }
  return [...tokens];
}

/** Number of Unicode code points, which is what the trigram tokenizer counts. */
export function codePointLength(text: string): number {
  return [...text].length;
}
