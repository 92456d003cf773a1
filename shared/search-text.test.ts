import { describe, expect, it } from 'vitest';
import { normaliseForSearch, searchTokens, suffixTokens } from './search-text.js';

describe('normaliseForSearch', () => {
  it('folds hiragana, katakana and half-width kana to one form', () => {
    const forms = ['やまだ', 'ヤマダ', 'ﾔﾏﾀﾞ'].map(normaliseForSearch);
    expect(new Set(forms).size).toBe(1);
    expect(forms[0]).toBe('ヤマダ');
  });
  it('folds case, full-width latin and spaces', () => {
    expect(normaliseForSearch('Ｙａｍａｄａ Taro')).toBe('yamadataro');
    expect(normaliseForSearch('山田　太郎')).toBe('山田太郎');
  });
  it('keeps the long vowel mark, which is part of the reading', () => {
    expect(normaliseForSearch('コーヒー')).toBe('コーヒー');
  });
});

describe('searchTokens', () => {
  it('splits names into normalised words', () => {
    expect(searchTokens('山田 太郎', 'やまだ たろう')).toEqual(['山田', '太郎', 'ヤマダ', 'タロウ']);
  });
});

describe('suffixTokens', () => {
  it('gives every suffix of every word, so any substring is a prefix of one', () => {
    const tokens = suffixTokens('山田 太郎', 'やまだ');
    expect(tokens).toEqual(expect.arrayContaining(['山田', '田', '太郎', '郎', 'ヤマダ', 'マダ', 'ダ']));
    for (const substring of ['マダ', '田', '郎', 'ヤマ']) {
      expect(tokens.some((t) => t.startsWith(substring)), substring).toBe(true);
    }
  });
  it('cuts words at 16 characters, counting a surrogate pair as one and never splitting it', () => {
    expect(suffixTokens('𠮷野家')).toEqual(['𠮷野家', '野家', '家']);
    const long = suffixTokens('𠮷'.repeat(20));
    expect(long).toHaveLength(16);
    expect(long[0]).toBe('𠮷'.repeat(16));
    expect(long.at(-1)).toBe('𠮷');
  });
});
