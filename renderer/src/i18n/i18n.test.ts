import { describe, expect, it } from 'vitest';
import en from './en.json';
import ja from './ja.json';

/** Keys with i18next's plural suffix reduced to the base key: Japanese has one plural form, English two. */
function keys(tree: object, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return typeof value === 'object' && value !== null ? keys(value as object, path) : [path.replace(/_(one|other)$/, '')];
  });
}

describe('translations', () => {
  it('have the same keys in Japanese and English', () => {
    expect([...new Set(keys(ja))].sort()).toEqual([...new Set(keys(en))].sort());
  });

  it('have no empty strings', () => {
    const values = (tree: object): unknown[] =>
      Object.values(tree).flatMap((v) => (typeof v === 'object' && v !== null ? values(v as object) : [v]));
    expect([...values(en), ...values(ja)].filter((v) => typeof v !== 'string' || v.trim() === '')).toEqual([]);
  });
});
