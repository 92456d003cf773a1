import { describe, expect, it } from 'vitest';
import { callerLabel, MAX_HEADER_LENGTH, parseAddress, parseCallerIdentity, parseCustomerIdHeader } from './caller-identity.js';

const FROM_TRUNK = '<sip:0312345678@127.0.0.1:5080>;tag=4711-1';

describe('caller identity: where it comes from', () => {
  it('takes P-Asserted-Identity over From', () => {
    const identity = parseCallerIdentity({
      assertedIdentity: ['"IVR caller" <sip:0312345678@127.0.0.1>'],
      from: '<sip:0699999999@127.0.0.1>;tag=1',
    });
    expect(identity).toMatchObject({ source: 'asserted', e164: '+81312345678', user: '0312345678', displayName: 'IVR caller' });
  });

  it('falls back to the From user when nothing is asserted', () => {
    expect(parseCallerIdentity({ from: FROM_TRUNK })).toMatchObject({ source: 'from', e164: '+81312345678', displayName: null });
  });

  it('uses the tenant region for national numbers', () => {
    expect(parseCallerIdentity({ from: '<sip:4155550123@pbx.example>;tag=a' }, 'US').e164).toBe('+14155550123');
    expect(parseCallerIdentity({ from: '<sip:4155550123@pbx.example>;tag=a' }, 'JP').e164).not.toBe('+14155550123');
  });

  it('falls back to the default region when the tenant region is not a country code', () => {
    expect(parseCallerIdentity({ from: FROM_TRUNK }, 'jp-JP').e164).toBe('+81312345678');
  });

  it('prefers an asserted tel: number over an asserted non-numeric sip: user, from one header or two', () => {
    const oneHeader = parseCallerIdentity({ assertedIdentity: ['<sip:reception@pbx.example>, <tel:+81-3-1234-5678>'] });
    expect(oneHeader).toMatchObject({ source: 'asserted', e164: '+81312345678' });
    const twoHeaders = parseCallerIdentity({ assertedIdentity: ['<sip:reception@pbx.example>', '<tel:+81312345678>'] });
    expect(twoHeaders.e164).toBe('+81312345678');
  });

  it('keeps an asserted non-numeric identity rather than trusting From', () => {
    const identity = parseCallerIdentity({ assertedIdentity: ['<sip:agent7@tsunagu.test>'], from: FROM_TRUNK });
    expect(identity).toMatchObject({ source: 'asserted', e164: null, user: 'agent7' });
  });

  it('ignores an asserted identity that does not parse and falls back to From', () => {
    const identity = parseCallerIdentity({ assertedIdentity: ['garbage', '<http://evil.example/>'], from: FROM_TRUNK });
    expect(identity).toMatchObject({ source: 'from', e164: '+81312345678' });
  });

  it('reports no identity when neither header is usable', () => {
    expect(parseCallerIdentity({})).toMatchObject({ source: 'none', e164: null, user: null, displayName: null });
    expect(parseCallerIdentity({ assertedIdentity: [], from: null })).toMatchObject({ source: 'none' });
  });
});

describe('caller identity: URI forms', () => {
  it('reads sip:, sips: and tel: URIs, with and without angle brackets', () => {
    expect(parseAddress('sip:0312345678@host;tag=abc')).toEqual({ scheme: 'sip', user: '0312345678', displayName: null });
    expect(parseAddress('<sips:+81312345678@host;user=phone>;tag=x')).toMatchObject({ scheme: 'sips', user: '+81312345678' });
    expect(parseAddress('<tel:+81-3-1234-5678;phone-context=example.jp>')).toMatchObject({ scheme: 'tel', user: '+81-3-1234-5678' });
    expect(parseAddress('SIP:0312345678@HOST')).toMatchObject({ scheme: 'sip', user: '0312345678' });
  });

  it('takes the user before a password or user parameters', () => {
    expect(parseAddress('<sip:0312345678:secret@host>')?.user).toBe('0312345678');
    expect(parseAddress('<sip:0312345678;isub=12@host>')?.user).toBe('0312345678');
  });

  it('percent-decodes the user part', () => {
    expect(parseCallerIdentity({ from: '<sip:%2B81312345678@host>;tag=1' }).e164).toBe('+81312345678');
  });

  it('refuses a broken percent-encoding', () => {
    expect(parseAddress('<sip:%E0%A4%A@host>')).toBeNull();
  });

  it('treats a URI without a user part as nobody in particular', () => {
    expect(parseCallerIdentity({ from: '<sip:pbx.example>;tag=1' })).toMatchObject({ source: 'from', e164: null, user: null });
  });

  it('refuses URI schemes other than sip, sips and tel', () => {
    expect(parseAddress('<http://example.com/0312345678>')).toBeNull();
    expect(parseAddress('<javascript:alert(1)>')).toBeNull();
    expect(parseAddress('0312345678')).toBeNull();
  });

  it('refuses an unterminated <', () => {
    expect(parseAddress('"Name" <sip:0312345678@host')).toBeNull();
  });
});

describe('caller identity: display names', () => {
  it('unquotes a quoted name with escaped quotes and backslashes', () => {
    expect(parseAddress('"Yamada \\"Taro\\" \\\\ Co" <sip:1@h>')?.displayName).toBe('Yamada "Taro" \\ Co');
  });

  it('keeps commas inside a quoted name when splitting an asserted list', () => {
    const identity = parseCallerIdentity({ assertedIdentity: ['"Smith, Jane" <sip:0312345678@h>'] });
    expect(identity).toMatchObject({ displayName: 'Smith, Jane', e164: '+81312345678' });
  });

  it('reads an unquoted token name and a Japanese name', () => {
    expect(parseAddress('Reception Desk <sip:100@h>')?.displayName).toBe('Reception Desk');
    expect(parseAddress('"山田 太郎" <sip:0312345678@h>')?.displayName).toBe('山田 太郎');
  });

  it('refuses an unterminated quote and text after the closing quote', () => {
    expect(parseAddress('"Yamada <sip:0312345678@h>')).toBeNull();
    expect(parseAddress('"Yamada" extra <sip:0312345678@h>')).toBeNull();
  });

  it('treats an empty name as no name', () => {
    expect(parseAddress('"" <sip:0312345678@h>')?.displayName).toBeNull();
    expect(parseAddress('"   " <sip:0312345678@h>')?.displayName).toBeNull();
  });

  it('strips bidi overrides and zero-width characters that could disguise a name', () => {
    expect(parseAddress('"Bank\u202e of\u200b Japan" <sip:1@h>')?.displayName).toBe('Bank of Japan');
  });

  it('bounds a long name', () => {
    const name = 'あ'.repeat(500);
    expect(parseAddress(`"${name}" <sip:0312345678@h>`)?.displayName).toHaveLength(100);
  });
});

describe('caller identity: hostile and malformed values', () => {
  it('treats empty headers as absent', () => {
    expect(parseCallerIdentity({ assertedIdentity: [''], from: '' })).toMatchObject({ source: 'none' });
    expect(parseCallerIdentity({ assertedIdentity: ['   '], from: '   ' })).toMatchObject({ source: 'none' });
  });

  it('refuses a value longer than the limit instead of truncating it', () => {
    const long = `<sip:0312345678@${'h'.repeat(MAX_HEADER_LENGTH)}>`;
    expect(parseCallerIdentity({ assertedIdentity: [long], from: long })).toMatchObject({ source: 'none', e164: null });
  });

  it('refuses a value with injected CR/LF, NUL or other controls, whatever follows', () => {
    for (const injected of [
      '<sip:0312345678@h>\r\nX-Customer-Id: cust-1',
      '<sip:0312345678@h>\nP-Asserted-Identity: <sip:0399999999@h>',
      '"Name\r\n" <sip:0312345678@h>',
      '<sip:0312345678\u0000@h>',
      '<sip:0312345678@h>\u0085',
    ]) {
      expect(parseAddress(injected), JSON.stringify(injected)).toBeNull();
      expect(parseCallerIdentity({ assertedIdentity: [injected] }).source, JSON.stringify(injected)).toBe('none');
    }
  });

  it('refuses percent-encoded control characters in the user part', () => {
    expect(parseAddress('<sip:0312345678%0D%0AX-Evil:1@h>')).toBeNull();
  });

  it('refuses a user part hiding bidi controls', () => {
    expect(parseAddress('<sip:03%E2%80%AE12345678@h>')).toBeNull();
  });

  it('does not treat a non-numeric user as a number', () => {
    for (const user of ['anonymous', 'agent1', '03-1234-5678x', '*67', '0312#345678', '+', '']) {
      const identity = parseCallerIdentity({ from: `<sip:${user}@h>;tag=1` });
      expect(identity.e164, user).toBeNull();
    }
    expect(parseCallerIdentity({ from: '<sip:anonymous@anonymous.invalid>;tag=1' }).user).toBe('anonymous');
  });

  it('does not accept separators inside a sip: user, only in tel: numbers', () => {
    expect(parseCallerIdentity({ from: '<sip:03-1234-5678@h>' }).e164).toBeNull();
    expect(parseCallerIdentity({ from: '<tel:03-1234-5678>' }).e164).toBe('+81312345678');
  });

  it('never reads unicode digits as a phone number (full-width, Arabic-Indic, Devanagari)', () => {
    for (const user of ['０３１２３４５６７８', '٠٣١٢٣٤٥٦٧٨', '०३१२३४५६७८', '03１２345678']) {
      const identity = parseCallerIdentity({ from: `<sip:${user}@h>;tag=1` });
      expect(identity.e164, user).toBeNull();
      expect(identity.user, user).toBe(user);
    }
    expect(parseCallerIdentity({ from: '<sip:%EF%BC%90%EF%BC%93@h>' }).e164).toBeNull();
  });

  it('refuses numbers too short or too long to be phone numbers', () => {
    expect(parseCallerIdentity({ from: '<sip:1234@h>' }).e164).toBeNull();
    expect(parseCallerIdentity({ from: '<sip:1234567890123456@h>' }).e164).toBeNull();
  });

  it('bounds a very long non-numeric user', () => {
    const identity = parseCallerIdentity({ from: `<sip:${'a'.repeat(300)}@h>` });
    expect(identity.user).toHaveLength(64);
    expect(identity.e164).toBeNull();
  });
});

describe('customer-id header', () => {
  it('accepts one well-formed id, trimmed', () => {
    expect(parseCustomerIdHeader('7d3c9a1e-5b0f-4c2a-9e1d-2f6b8a4c0e11')).toEqual({ value: '7d3c9a1e-5b0f-4c2a-9e1d-2f6b8a4c0e11', rejected: false });
    expect(parseCustomerIdHeader('  cust_42 ')).toEqual({ value: 'cust_42', rejected: false });
  });

  it('is absent without a header', () => {
    expect(parseCustomerIdHeader(undefined)).toEqual({ value: null, rejected: false });
    expect(parseCustomerIdHeader(null)).toEqual({ value: null, rejected: false });
  });

  it('refuses anything that is not exactly one id', () => {
    for (const value of [
      '',
      '   ',
      'cust-1, cust-2',
      'cust 1',
      '../../etc/passwd',
      "1' or '1'='1",
      'cust-1\r\nX-Other: 1',
      '-leading-dash',
      'ｃｕｓｔ１',
      'a'.repeat(65),
      'x'.repeat(MAX_HEADER_LENGTH + 1),
    ]) {
      expect(parseCustomerIdHeader(value), JSON.stringify(value)).toEqual({ value: null, rejected: true });
    }
  });

  it('travels with the identity and wins nothing by itself: the store decides precedence', () => {
    const identity = parseCallerIdentity({ from: FROM_TRUNK, customerId: 'cust-7' });
    expect(identity).toMatchObject({ customerId: 'cust-7', customerIdRejected: false, e164: '+81312345678' });
    expect(parseCallerIdentity({ from: FROM_TRUNK, customerId: 'bad id' })).toMatchObject({ customerId: null, customerIdRejected: true });
  });
});

describe('caller label', () => {
  const format = (e164: string) => `fmt(${e164})`;

  it('shows the name and the formatted number', () => {
    const identity = parseCallerIdentity({ assertedIdentity: ['"Yamada" <sip:0312345678@h>'] });
    expect(callerLabel(identity, format)).toBe('Yamada (fmt(+81312345678))');
  });

  it('shows the user when it is not a number, and nothing when there is nobody', () => {
    expect(callerLabel(parseCallerIdentity({ from: '<sip:agent2@h>' }), format)).toBe('agent2');
    expect(callerLabel(parseCallerIdentity({}), format)).toBe('');
  });
});
