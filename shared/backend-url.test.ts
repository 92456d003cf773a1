import { describe, expect, it } from 'vitest';
import { checkBackendUrl } from './backend-url.js';

describe('checkBackendUrl', () => {
  it.each(['https://cti.example.co.jp', 'https://10.0.0.5:8443/api', 'http://127.0.0.1:8740', 'http://127.5.6.7', 'http://localhost:8740', 'http://[::1]:8740'])(
    'accepts %s',
    (url) => {
      expect(checkBackendUrl(url).ok).toBe(true);
    },
  );

  it.each([
    ['http://cti.example.co.jp', /must use https; plain http is allowed only on loopback/],
    ['http://10.0.0.5:8740', /must use https/],
    ['http://127.0.0.1.example.com', /must use https/],
    ['http://[::ffff:10.0.0.1]', /must use https/],
    ['ftp://127.0.0.1', /scheme must be https/],
    ['cti.example.co.jp', /not an absolute URL/],
  ])('refuses %s with a clear message', (url, message) => {
    const checked = checkBackendUrl(url);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.message).toMatch(message);
  });
});
