import { describe, expect, it } from 'vitest';
import { DEFAULT_PBX_WS_URL, parsePbxUrls, rendererCsp } from './csp.js';

function directives(policy: string): Map<string, string[]> {
  return new Map(policy.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
}

describe('the renderer CSP', () => {
  it('lets the page connect only to the configured backend and PBX (scheme, host and port pinned), and to its own shell host', () => {
    const policy = directives(
      rendererCsp({ backendUrl: 'https://cti.example.co.jp/api', pbxUrls: ['wss://pbx1.example.co.jp:7443/ws', 'wss://pbx2.example.co.jp'], shellOrigin: 'http://127.0.0.1:43123' }),
    );
    expect(policy.get('connect-src')).toEqual(["'self'", 'https://cti.example.co.jp', 'wss://pbx1.example.co.jp:7443', 'wss://pbx2.example.co.jp', 'ws://127.0.0.1:43123']);
    const electron = directives(rendererCsp({ backendUrl: 'http://127.0.0.1:8740', pbxUrls: [DEFAULT_PBX_WS_URL] }));
    expect(electron.get('connect-src')).toEqual(["'self'", 'http://127.0.0.1:8740', 'ws://127.0.0.1:5066']);
    // Nothing wider than the named hosts: no bare scheme, no wildcard port or host.
    for (const value of electron.get('connect-src')!) expect(value).not.toMatch(/^(wss?|https?):$|\*/);
  });

  it('allows no <base>, no form target and no framing of the app, no plugins, only our own script', () => {
    const policy = directives(rendererCsp({ backendUrl: 'http://127.0.0.1:8740', pbxUrls: [DEFAULT_PBX_WS_URL] }));
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    expect(policy.get('form-action')).toEqual(["'none'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('default-src')).toEqual(["'self'"]);
  });

  it('loads no remote image at top level: only its own, data: and blob: (mail images come through the core)', () => {
    for (const policy of [
      directives(rendererCsp({ backendUrl: 'https://cti.example.co.jp', pbxUrls: ['wss://pbx.example.co.jp'], shellOrigin: 'http://127.0.0.1:43123' })),
      directives(rendererCsp({ backendUrl: 'http://127.0.0.1:8740', pbxUrls: [DEFAULT_PBX_WS_URL] })),
    ]) {
      expect(policy.get('img-src')).toEqual(["'self'", 'data:', 'blob:']);
      for (const value of policy.get('img-src')!) expect(value).not.toMatch(/https?:|\*/);
    }
  });

  it('plays media (call recordings) only from the backend instances, not from the PBX, the shell or anywhere else', () => {
    const policy = directives(
      rendererCsp({ backendUrl: 'https://cti-a.example.co.jp, https://cti-b.example.co.jp:8443', pbxUrls: ['wss://pbx.example.co.jp'], shellOrigin: 'http://127.0.0.1:43123' }),
    );
    expect(policy.get('media-src')).toEqual(['https://cti-a.example.co.jp', 'https://cti-b.example.co.jp:8443']);
    expect(directives(rendererCsp({ backendUrl: 'http://127.0.0.1:8740', pbxUrls: [DEFAULT_PBX_WS_URL] })).get('media-src')).toEqual(['http://127.0.0.1:8740']);
  });

  it('refuses a bad backend or PBX setting with the variable named', () => {
    expect(() => rendererCsp({ backendUrl: 'ftp://cti.example', pbxUrls: [] })).toThrow(/TSUNAGU_BACKEND_URL: must be a http: or https: URL/);
    expect(() => rendererCsp({ backendUrl: 'not a url', pbxUrls: [] })).toThrow(/TSUNAGU_BACKEND_URL: not a URL/);
    expect(() => parsePbxUrls('https://pbx.example')).toThrow(/TSUNAGU_PBX_WS_URL: must be a ws: or wss: URL/);
    expect(() => parsePbxUrls('wss://user:secret@pbx.example')).toThrow(/TSUNAGU_PBX_WS_URL: must not carry a user or password/);
    expect(() => parsePbxUrls(' , ')).toThrow(/TSUNAGU_PBX_WS_URL: no URL given/);
    expect(parsePbxUrls(undefined)).toEqual([DEFAULT_PBX_WS_URL]);
    expect(parsePbxUrls('wss://a.example/ws, wss://b.example')).toEqual(['wss://a.example/ws', 'wss://b.example']);
  });
});
