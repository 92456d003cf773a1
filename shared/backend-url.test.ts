import { describe, expect, it } from 'vitest';
import { checkBackendUrl, parseBackendUrls } from './backend-url.js';

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

describe('parseBackendUrls', () => {
  it('takes one URL or a comma-separated list of instances, in order, without trailing slashes', () => {
    expect(parseBackendUrls('http://127.0.0.1:8740')).toEqual({ ok: true, urls: ['http://127.0.0.1:8740'] });
    expect(parseBackendUrls(' https://cti-a.example.jp/ , https://cti-b.example.jp:8443/api/ ')).toEqual({
      ok: true,
      urls: ['https://cti-a.example.jp', 'https://cti-b.example.jp:8443/api'],
    });
  });

  it.each([
    ['', /none given/],
    [' , ', /none given/],
    ['https://a.example.jp,,https://b.example.jp', /backend URL 2 of 3 is empty/],
    ['https://a.example.jp,', /backend URL 2 of 2 is empty/],
    ['https://a.example.jp,http://b.example.jp', /backend URL 2 of 2: .*must use https/],
    ['https://a.example.jp,b.example.jp', /backend URL 2 of 2: .*not an absolute URL/],
    ['https://user:secret@a.example.jp', /must not carry a user name or password/],
    ['https://a.example.jp/?x=1', /must not carry a query or fragment/],
    ['https://a.example.jp,https://A.example.jp/', /https:\/\/a\.example\.jp is listed twice/],
  ])('refuses %j with a message naming the bad entry', (value, message) => {
    const parsed = parseBackendUrls(value);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toMatch(message);
  });

  it('never echoes a password it refuses', () => {
    const parsed = parseBackendUrls('https://user:secret@a.example.jp');
    expect(!parsed.ok && parsed.message).not.toContain('secret');
  });
});
