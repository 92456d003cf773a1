import type { DatabaseHandle } from '../db/database.js';
import { loadMailConfig, type MailConfig } from './config.js';
import { createMailNotifier, type MailNotifier } from './notify.js';
import { MailSender } from './sender.js';
import { startSmtpListener, type MailLogger, type SmtpListener } from './smtp-listener.js';

export interface MailServices {
  readonly config: MailConfig;
  readonly notifier: MailNotifier;
  /** Null when TSUNAGU_SMTP_ENABLED=false. */
  readonly smtp: SmtpListener | null;
  /** Null when TSUNAGU_MAIL_SENDER_ENABLED=false. */
  readonly sender: MailSender | null;
  close(): Promise<void>;
}

/**
 * The background half of the e-mail channel, for the backend process (main.ts): the inbound
 * SMTP listener and the sender of approved replies. Both keep all their state in the database,
 * so any number of instances may run them side by side; turn either off per instance with
 * TSUNAGU_SMTP_ENABLED / TSUNAGU_MAIL_SENDER_ENABLED.
 */
export async function startMailServices(handle: DatabaseHandle, log: MailLogger, config: MailConfig = loadMailConfig()): Promise<MailServices> {
  const notifier = createMailNotifier(handle, log);
  await notifier.start();
  let smtp: SmtpListener | null = null;
  let sender: MailSender | null = null;
  try {
    if (config.inbound.enabled) {
      smtp = await startSmtpListener(handle, notifier, config, log);
      log.info({ host: smtp.host, port: smtp.port }, 'mail: SMTP listener ready');
    }
    if (config.sender.enabled) {
      sender = new MailSender({ handle, config, log, notifier });
      sender.start();
    }
  } catch (error) {
    await smtp?.close();
    await notifier.close();
    throw error;
  }
  return {
    config,
    notifier,
    smtp,
    sender,
    async close() {
      await smtp?.close();
      await sender?.stop();
      await notifier.close();
    },
  };
}
