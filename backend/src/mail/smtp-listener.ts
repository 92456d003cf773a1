import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { DatabaseHandle } from '../db/database.js';
import type { MailConfig } from './config.js';
import { ingestInbound, InboundRejected, parseInbound, type InboundRecipient, type IngestResult } from './inbound.js';
import type { MailNotifier } from './notify.js';
import { mailDb } from './schema.js';

export interface MailLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface SmtpListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * The backend's inbound SMTP listener: it accepts mail only for the tenants' own addresses
 * (550 at RCPT otherwise), refuses messages above the size limit (552 during DATA), stores
 * each message for each tenant it is addressed to, and answers 250 only after the mail has
 * committed. A storage failure answers 451, so the sending server retries, and the retry is
 * stored once (Message-ID).
 *
 * It speaks plain SMTP with neither AUTH nor STARTTLS: it is an MX-style receiver meant to sit
 * behind the organisation's mail gateway, which terminates TLS and filters spam.
 */
export async function startSmtpListener(
  handle: DatabaseHandle,
  notifier: MailNotifier | null,
  config: MailConfig,
  log: MailLogger,
  onStored?: (results: IngestResult[]) => void,
): Promise<SmtpListener> {
  const db = mailDb(handle.db);
  const { inbound } = config;

  const recipientsOf = async (addresses: string[]) =>
    addresses.length === 0
      ? []
      : db.selectFrom('mail_addresses').select(['address', 'tenant_id', 'kind']).where('address', 'in', addresses).execute();

  const store = async (session: SMTPServerSession, raw: Buffer): Promise<IngestResult[]> => {
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null;
    const parsed = await parseInbound(raw, envelopeFrom);
    const rows = await recipientsOf(session.envelope.rcptTo.map((rcpt) => normaliseAddress(rcpt.address)));
    const byTenant = new Map<string, InboundRecipient[]>();
    for (const row of rows) {
      const list = byTenant.get(row.tenant_id) ?? [];
      list.push({ address: row.address, kind: row.kind });
      byTenant.set(row.tenant_id, list);
    }
    const results: IngestResult[] = [];
    for (const [tenantId, recipients] of byTenant) {
      results.push(await ingestInbound(handle, notifier, config, { tenantId, recipients, raw, parsed }));
    }
    return results;
  };

  const server = new SMTPServer({
    name: inbound.serverName,
    banner: 'Tsunagu',
    size: inbound.maxMessageBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    maxClients: 200,
    socketTimeout: 60_000,
    onRcptTo(address, _session, callback) {
      recipientsOf([normaliseAddress(address.address)])
        .then((rows) => callback(rows.length > 0 ? null : smtpError(550, `5.1.1 <${address.address}>: no such mailbox here`)))
        .catch((error: unknown) => {
          log.error({ err: error }, 'smtp: recipient lookup failed');
          callback(smtpError(451, '4.3.0 temporary failure, try again later'));
        });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let received = 0;
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Past the limit the rest is read and dropped: smtp-server needs the stream drained.
        if (received <= inbound.maxMessageBytes) chunks.push(chunk);
      });
      stream.on('error', (error) => {
        log.warn({ err: error }, 'smtp: message stream failed');
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          log.warn({ bytes: received, limit: inbound.maxMessageBytes }, 'smtp: message refused, too large');
          callback(smtpError(552, `5.3.4 message exceeds the fixed maximum size of ${inbound.maxMessageBytes} bytes`));
          return;
        }
        store(session, Buffer.concat(chunks))
          .then((results) => {
            for (const result of results) {
              log.info(
                { mailId: result.mailId, duplicate: result.duplicate, kind: result.kind, threadMatch: result.threadMatch },
                result.duplicate ? 'smtp: duplicate message ignored' : 'smtp: message stored',
              );
            }
            onStored?.(results);
            callback(null, 'OK: stored');
          })
          .catch((error: unknown) => {
            if (error instanceof InboundRejected) {
              callback(smtpError(error.responseCode, `5.6.0 ${error.message}`));
              return;
            }
            log.error({ err: error }, 'smtp: storing a message failed');
            callback(smtpError(451, '4.3.0 temporary failure, try again later'));
          });
      });
    },
  });
  server.on('error', (error) => log.warn({ err: error }, 'smtp: connection error'));

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once('error', onError);
    server.listen(inbound.port, inbound.host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : inbound.port;
  return {
    host: inbound.host,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
