import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { buildApp } from '../../app.js';
import { openDatabase, type DatabaseHandle, type SqlDialect } from '../../db/database.js';
import { startTestBackend, type TestBackend } from '../../testing/harness.js';
import { loadMailConfig, type MailConfig } from '../config.js';
import { seedMailFixtures, type MailFixtures } from '../fixtures.js';
import { createMailNotifier, type MailNotifier } from '../notify.js';
import { mailDb, type MailDatabase } from '../schema.js';
import { startSmtpListener, type MailLogger, type SmtpListener } from '../smtp-listener.js';

export const quietLog: MailLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Mail settings for tests: a listener on a free loopback port and small limits that are quick to exceed. */
export function testMailConfig(overrides: { relayUrl?: string; relayCaFile?: string } = {}): MailConfig {
  const base = loadMailConfig({
    TSUNAGU_SMTP_PORT: '0',
    TSUNAGU_SMTP_RELAY_URL: overrides.relayUrl ?? 'smtp://127.0.0.1:1',
    ...(overrides.relayCaFile ? { TSUNAGU_SMTP_RELAY_CA_FILE: overrides.relayCaFile } : {}),
  });
  return {
    ...base,
    inbound: { ...base.inbound, maxMessageBytes: 512 * 1024, maxAttachmentBytes: 64 * 1024, maxAttachments: 5, maxRawBytes: 512 * 1024 },
    sender: { ...base.sender, retryBaseSeconds: 0.05, retryMaxSeconds: 1, maxAttempts: 4, sendTimeoutSeconds: 20, pollSeconds: 0.2 },
  };
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface MailTestBackend extends TestBackend {
  mail: MailFixtures;
  mailConfig: MailConfig;
  db: Kysely<MailDatabase>;
  notifier: MailNotifier;
  smtp: SmtpListener;
  tokens: { admin: string; supervisor: string; agent: string; osaka: string };
  /** A request to `app` (or another instance) with a bearer token. */
  call(method: Method, url: string, token: string, body?: unknown, app?: FastifyInstance): Promise<LightMyRequestResponse>;
  /** Sends a message over real SMTP to the backend's listener; resolves with nodemailer's info. */
  deliver(message: Mail.Options): Promise<{ messageId: string; response: string }>;
  /** Like deliver, but resolves with the SMTP error (or null when it was accepted). */
  deliverExpectingError(message: Mail.Options): Promise<SMTPError | null>;
  /** Another backend instance with its own connection pool on the same database. */
  otherInstance(): Promise<FastifyInstance>;
}

export async function startMailBackend(dialect: SqlDialect): Promise<MailTestBackend> {
  const backend = await startTestBackend(dialect);
  const mailConfig = testMailConfig();
  const mail = await seedMailFixtures(backend.handle, backend.demo.tenant);
  const notifier = createMailNotifier(backend.handle, quietLog);
  await notifier.start();
  const smtp = await startSmtpListener(backend.handle, notifier, mailConfig, quietLog);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
  const extraHandles: DatabaseHandle[] = [];
  const extraApps: FastifyInstance[] = [];
  const tokens = {
    admin: await backend.login('admin'),
    supervisor: await backend.login('supervisor'),
    agent: await backend.login('agent'),
    osaka: await backend.login('osaka'),
  };
  return {
    ...backend,
    mail,
    mailConfig,
    db: mailDb(backend.handle.db),
    notifier,
    smtp,
    tokens,
    call: (method, url, token, body, app = backend.app) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: body as object }),
      }),
    async deliver(message) {
      const info = await transport.sendMail(message);
      return { messageId: info.messageId, response: info.response };
    },
    async deliverExpectingError(message) {
      try {
        await transport.sendMail(message);
        return null;
      } catch (error) {
        return error as SMTPError;
      }
    },
    async otherInstance() {
      const handle = await openDatabase(backend.config);
      extraHandles.push(handle);
      const app = buildApp({ db: handle, config: backend.config });
      extraApps.push(app);
      await app.ready();
      return app;
    },
    async dispose() {
      transport.close();
      await smtp.close();
      await notifier.close();
      for (const app of extraApps) await app.close();
      for (const handle of extraHandles) await handle.close();
      await backend.dispose();
    },
  };
}
