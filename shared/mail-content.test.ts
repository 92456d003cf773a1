import { describe, expect, it } from 'vitest';
import { cssFetches, cssRunsCode, decodeCss, mailPartsDiffer, safeAttachmentName, sanitiserLostText } from './mail-content.js';

describe('CSS as the browser reads it', () => {
  it('decodes escapes so url(), expression() and javascript: are seen whatever their spelling', () => {
    expect(decodeCss('background: u\\72l(https://t.example/x)')).toBe('background: url(https://t.example/x)');
    expect(cssFetches(decodeCss('background: \\75 \\72 \\6c (x)'))).toBe(true);
    expect(cssRunsCode(decodeCss('width: \\65 xpression(1)'))).toBe(true);
    expect(cssRunsCode(decodeCss('x: java\\script:1'))).toBe(true);
    expect(cssRunsCode(decodeCss('color: red'))).toBe(false);
    expect(decodeCss('a/* hidden */b')).toBe('ab');
  });
});

describe('attachment names', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['C:/Windows/evil.pdf', 'evil.pdf'],
    ['C:evil.pdf', 'evil.pdf'],
    ['invoice\u202efdp.exe', 'invoicefdp.exe'],
    ['re\u2066port\u2069.pdf', 'report.pdf'],
    ['a\u0000b.pdf', 'ab.pdf'],
    ['..', 'attachment'],
    ['', 'attachment'],
    ['.hidden', 'hidden'],
    ['請求書 2024.pdf', '請求書 2024.pdf'],
  ])('%j becomes %j', (sent, safe) => {
    expect(safeAttachmentName(sent)).toBe(safe);
  });

  it('bounds the length', () => {
    expect([...safeAttachmentName(`${'あ'.repeat(400)}.pdf`)]).toHaveLength(255);
  });
});

describe('HTML and plain-text parts', () => {
  it('agree despite layout, punctuation and spelled-out links', () => {
    expect(mailPartsDiffer('Dear customer,\n\nYour order   has shipped. Track it here.', 'Dear customer, your order has shipped.\nTrack it here <https://shop.example/t/1>')).toBe(false);
    expect(mailPartsDiffer('請求書の金額が違います。ご確認ください。', '請求書の金額が違います。\nご確認ください。')).toBe(false);
  });

  it('differ when they tell different stories, or one is empty', () => {
    expect(mailPartsDiffer('Please transfer ¥5,000,000 to account 7654321 today.', 'Thank you for your help last week.')).toBe(true);
    expect(mailPartsDiffer('振込先を変更しました。新しい口座は 7654321 です。', 'いつもお世話になっております。')).toBe(true);
    expect(mailPartsDiffer('Some words here', '')).toBe(true);
  });
});

describe('text lost by sanitising', () => {
  it('ignores a few characters and reports real loss', () => {
    expect(sanitiserLostText('Hello world, this is the mail.', 'Hello world, this is the mail')).toBe(false);
    expect(sanitiserLostText(`First. ${'Important text that vanished. '.repeat(5)}`, 'First.')).toBe(true);
  });
});
