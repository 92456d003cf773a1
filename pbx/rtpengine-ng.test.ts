import { describe, expect, it } from 'vitest';
import { bdecode, bencode } from './rtpengine-ng.js';

describe('rtpengine ng bencoding', () => {
  it('encodes dictionaries with sorted keys and byte-counted strings', () => {
    expect(bencode({ command: 'query', 'call-id': 'ü@x', flags: ['a', 1] })).toBe('d7:call-id4:ü@x7:command5:query5:flagsl1:ai1eee');
  });

  it('decodes what it encodes', () => {
    const value = { result: 'ok', tags: { 'a-1': { medias: [{ stats: { packets: 34, bytes: 8568 } }] } }, created: 1795465963 };
    expect(bdecode(Buffer.from(bencode(value)))).toEqual(value);
  });

  it.each(['', 'i12', '5:abc', 'd3:keye', 'li1e', 'i1ei2e', 'dli1ee1:xe'])('refuses malformed input %j', (input) => {
    expect(() => bdecode(Buffer.from(input))).toThrow(/bdecode/);
  });
});
