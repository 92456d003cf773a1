import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * For demos and development only: a mail catcher that stands in for the SMTP relay, so that
 * approved replies go somewhere a person can read them. It accepts every message on loopback
 * and writes it as an .eml file; the backend lists those files on DEV_MAIL_OUT_PATH when
 * TSUNAGU_DEV_MAIL_OUT_DIR names the folder. `npm start` runs both.
 */

export const DEV_MAIL_OUT_PATH = '/dev/mail-out';
/** Names the catcher gives its files; nothing else in the folder is ever served. */
const EML_NAME = /^\d{8}T\d{6}\d{3}Z-[0-9a-f]{8}\.eml$/;
/** The newest messages listed; older files stay in the folder. */
const LISTED = 200;

export interface MailCatcher {
  /** `smtp://127.0.0.1:PORT`, for TSUNAGU_SMTP_RELAY_URL. */
  url: string;
  port: number;
  dir: string;
  close(): Promise<void>;
}

export async function startMailCatcher(options: { dir: string; port?: number }): Promise<MailCatcher> {
  fs.mkdirSync(options.dir, { recursive: true });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      const stamp = new Date().toISOString().replace(/[-:.]/g, '');
      const name = `${stamp}-${randomBytes(4).toString('hex')}.eml`;
      // Written under a temporary name and renamed, so the page never lists half a message.
      const partial = path.join(options.dir, `.${name}.partial`);
      const file = fs.createWriteStream(partial);
      stream.pipe(file);
      file.once('error', (error) => callback(error));
      file.once('finish', () => {
        fs.rename(partial, path.join(options.dir, name), (error) => callback(error ?? null));
      });
    },
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    dir: options.dir,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface CaughtMail {
  name: string;
  date: string;
  from: string;
  to: string;
  subject: string;
}

async function readCaught(dir: string): Promise<CaughtMail[]> {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => EML_NAME.test(name)) : [];
  const newest = names.sort().reverse().slice(0, LISTED);
  return Promise.all(
    newest.map(async (name) => {
      const parsed = await simpleParser(fs.createReadStream(path.join(dir, name)), { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
      const to = Array.isArray(parsed.to) ? parsed.to.map((address) => address.text).join(', ') : (parsed.to?.text ?? '');
      return { name, date: parsed.date?.toISOString() ?? '', from: parsed.from?.text ?? '', to, subject: parsed.subject ?? '' };
    }),
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function listingPage(dir: string, mails: CaughtMail[]): string {
  const rows = mails
    .map(
      (mail) =>
        `<tr><td>${escapeHtml(mail.date)}</td><td>${escapeHtml(mail.from)}</td><td>${escapeHtml(mail.to)}</td>` +
        `<td><a href="${DEV_MAIL_OUT_PATH}/${mail.name}">${escapeHtml(mail.subject || '(no subject)')}</a></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tsunagu: mail sent (development)</title>
<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
</head><body>
<h1>Mail sent by this backend (development mail catcher)</h1>
<p>Approved replies went to the local mail catcher, not to the customers. Files: <code>${escapeHtml(dir)}</code></p>
${mails.length === 0 ? '<p>Nothing was sent yet.</p>' : `<table><thead><tr><th>Date</th><th>From</th><th>To</th><th>Subject</th></tr></thead><tbody>\n${rows}\n</tbody></table>`}
</body></html>`;
}

/** The listing of caught mail and each message as it was sent (raw), outside the API's auth. */
export function registerDevMailOutRoutes(app: FastifyInstance, dir: string): void {
  app.get(DEV_MAIL_OUT_PATH, async (_request, reply) => {
    const mails = await readCaught(dir);
    // Important: the messages are the customers' (demo) data; this page exists only where
    // TSUNAGU_DEV_MAIL_OUT_DIR is set, which npm start does and production never should.
    return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(listingPage(dir, mails));
  });
  app.get<{ Params: { name: string } }>(`${DEV_MAIL_OUT_PATH}/:name`, async (request, reply) => {
    const { name } = request.params;
    const file = path.join(dir, name);
    if (!EML_NAME.test(name) || !fs.existsSync(file)) {
      return reply.status(404).send({ error: { code: 'not_found', message: `${name}: no such caught mail` } });
    }
    // As plain text: the message is shown as it left, never rendered as HTML.
    return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').send(fs.createReadStream(file));
  });
}
