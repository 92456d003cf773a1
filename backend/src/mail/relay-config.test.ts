import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { describeRelay, loadMailConfig } from './config.js';
import { RELAY_TEST_CERT_FILE } from './test-support/capture-smtp.js';

function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadMailConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('SMTP relay configuration', () => {
  it('refuses credentials over plain SMTP, naming the variable and never the password', () => {
    for (const url of ['smtp://mailer:s3cret-pass@relay.example.jp:587', 'smtp://mailer:s3cret-pass@127.0.0.1:2526', 'smtp://:s3cret-pass@relay.example.jp']) {
      const message = configError({ TSUNAGU_SMTP_RELAY_URL: url });
      expect(message, url).toContain('TSUNAGU_SMTP_RELAY_URL');
      expect(message, url).toMatch(/TLS/);
      expect(message, url).not.toContain('s3cret-pass');
    }
  });

  it('takes credentials with smtps:// or with STARTTLS required', () => {
    const implicit = loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'smtps://mailer:s3cret-pass@relay.example.jp' }).relay;
    expect(implicit).toMatchObject({ secure: true, requireStartTls: false, port: 465, user: 'mailer' });
    const upgraded = loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'smtp://mailer:s3cret-pass@relay.example.jp:587?starttls=required' }).relay;
    expect(upgraded).toMatchObject({ secure: false, requireStartTls: true, port: 587, user: 'mailer' });
    expect(describeRelay(upgraded)).toBe('smtp://mailer@relay.example.jp:587 (STARTTLS required)');
  });

  it('keeps the loopback catcher without credentials as it is', () => {
    expect(loadMailConfig({}).relay).toMatchObject({ host: '127.0.0.1', port: 2526, secure: false, requireStartTls: false, user: null, password: null, ca: null });
  });

  it('reads a CA file, and names one it cannot read', () => {
    const relay = loadMailConfig({ TSUNAGU_SMTP_RELAY_URL: 'smtps://relay.internal', TSUNAGU_SMTP_RELAY_CA_FILE: RELAY_TEST_CERT_FILE }).relay;
    expect(relay.ca).toContain('BEGIN CERTIFICATE');
    expect(configError({ TSUNAGU_SMTP_RELAY_CA_FILE: '/no/such/ca.pem' })).toContain('TSUNAGU_SMTP_RELAY_CA_FILE');
    expect(configError({ TSUNAGU_SMTP_RELAY_URL: 'smtp://relay.internal?starttls=maybe' })).toContain('TSUNAGU_SMTP_RELAY_URL');
  });
});
