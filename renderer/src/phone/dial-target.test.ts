import { describe, expect, it } from 'vitest';
import { parseDialTarget, splitAor } from './dial-target.js';

const DOMAIN = 'tsunagu.test';

describe('dial target', () => {
  it('turns a phone number written any common way into E.164 on the agent domain', () => {
    for (const written of ['03-1234-5678', '0312345678', '+81 3 1234 5678', '０３－１２３４－５６７８', '(03) 1234-5678']) {
      expect(parseDialTarget(written, DOMAIN), written).toEqual({ ok: true, uri: 'sip:+81312345678@tsunagu.test', kind: 'number', e164: '+81312345678' });
    }
  });

  it('uses the tenant region for national numbers', () => {
    expect(parseDialTarget('(415) 555-0123', DOMAIN, 'US')).toMatchObject({ ok: true, e164: '+14155550123' });
  });

  it('keeps an extension or SIP user as it is', () => {
    expect(parseDialTarget(' agent2 ', DOMAIN)).toEqual({ ok: true, uri: 'sip:agent2@tsunagu.test', kind: 'user', user: 'agent2' });
    expect(parseDialTarget('1001', DOMAIN)).toEqual({ ok: true, uri: 'sip:1001@tsunagu.test', kind: 'user', user: '1001' });
  });

  it('accepts a plain sip: URI', () => {
    expect(parseDialTarget('sip:support@pbx.example.jp', DOMAIN)).toEqual({ ok: true, uri: 'sip:support@pbx.example.jp', kind: 'user', user: 'support' });
  });

  it('refuses empty input, junk and URIs with parameters or headers', () => {
    expect(parseDialTarget('   ', DOMAIN)).toEqual({ ok: false, problem: 'empty' });
    for (const junk of ['agent 2', 'sip:a@b;transport=tcp', 'sip:a@b?Replaces=x', '<sip:a@b>', 'tel:+81312345678', 'a'.repeat(65), '03-1234', 'x\r\ny']) {
      expect(parseDialTarget(junk, DOMAIN), junk).toMatchObject({ ok: false, problem: 'invalid' });
    }
  });

  it('refuses to build a URI on a malformed domain', () => {
    expect(parseDialTarget('agent2', 'bad domain')).toEqual({ ok: false, problem: 'invalid' });
  });
});

describe('address of record', () => {
  it('splits user and domain', () => {
    expect(splitAor('sip:agent1@tsunagu.test')).toEqual({ user: 'agent1', domain: 'tsunagu.test' });
    expect(splitAor('sips:agent1@pbx.example.jp:5061;transport=tls')).toEqual({ user: 'agent1', domain: 'pbx.example.jp' });
    expect(splitAor('agent1')).toBeNull();
  });
});
