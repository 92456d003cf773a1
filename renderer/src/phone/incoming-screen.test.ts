import { Core } from 'sip.js';
import { describe, expect, it } from 'vitest';
import { responseForUnparseable, unsupportedRequireTags } from './incoming-screen.js';

function invite(from: string, extra: string[] = []): string {
  return [
    'INVITE sip:agent@abc.invalid;transport=ws SIP/2.0',
    'Via: SIP/2.0/WSS 127.0.0.1:5066;branch=z9hG4bKproxy;rport',
    'v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKtrunk',
    'Max-Forwards: 69',
    `From: ${from};tag=caller1`,
    'To: <sip:agent@tsunagu.test>',
    'Call-ID: call-1@127.0.0.1',
    'CSeq: 7 INVITE',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const silent = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined };

describe('responseForUnparseable', () => {
  it('answers an INVITE sip.js cannot parse (a tel: From) with a response that echoes its headers', () => {
    const raw = invite('"Tanaka" <tel:+81-3-1234-5678>');
    // The premise: sip.js itself refuses this message.
    expect(Core.Parser.parseMessage(raw, silent as unknown as Core.Logger)).toBeUndefined();
    const response = responseForUnparseable(raw, { status: 400, reason: 'Bad Request', toTag: 'uas9' });
    expect(response).toBe(
      [
        'SIP/2.0 400 Bad Request',
        'Via: SIP/2.0/WSS 127.0.0.1:5066;branch=z9hG4bKproxy;rport',
        'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKtrunk',
        'From: "Tanaka" <tel:+81-3-1234-5678>;tag=caller1',
        'To: <sip:agent@tsunagu.test>;tag=uas9',
        'Call-ID: call-1@127.0.0.1',
        'CSeq: 7 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  });

  it('answers a raw UTF-8 user part and keeps a To tag that is already there', () => {
    const raw = invite('<sip:山田@127.0.0.1>').replace('To: <sip:agent@tsunagu.test>', 'To: <sip:agent@tsunagu.test>;tag=dialog2');
    const response = responseForUnparseable(raw, { status: 400, reason: 'Bad Request', toTag: 'unused' }) ?? '';
    expect(response).toContain('From: <sip:山田@127.0.0.1>;tag=caller1');
    expect(response).toContain('To: <sip:agent@tsunagu.test>;tag=dialog2\r\n');
    expect(response).not.toContain('unused');
  });

  it('never answers an ACK or a response, nor text without the headers a response must echo', () => {
    const answer = { status: 400, reason: 'Bad Request', toTag: 't' };
    expect(responseForUnparseable(invite('<tel:1>').replace('INVITE sip:', 'ACK sip:'), answer)).toBeNull();
    expect(responseForUnparseable('SIP/2.0 200 OK\r\nVia: x\r\n\r\n', answer)).toBeNull();
    expect(responseForUnparseable(invite('<tel:1>').replace(/Call-ID: [^\r]*\r\n/, ''), answer)).toBeNull();
    expect(responseForUnparseable('garbage', answer)).toBeNull();
  });
});

describe('unsupportedRequireTags', () => {
  it('names the tags this phone does not honour, across several Require headers', () => {
    expect(unsupportedRequireTags(['100rel, x-teleport', 'Replaces', 'timer'])).toEqual(['x-teleport', 'timer']);
    expect(unsupportedRequireTags(['100rel', ' replaces '])).toEqual([]);
    expect(unsupportedRequireTags([])).toEqual([]);
  });
});
