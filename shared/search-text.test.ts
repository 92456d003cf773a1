import { describe, expect, it } from 'vitest';
import { normaliseForSearch, searchTokens } from './search-text.js';

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
