import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { MailConfig } from './config.js';

/**
 * One SMTP session with the configured relay, connected and logged in: the approved replies'
 * sender (sender.ts) and the portal's notices (notice.ts) both open theirs here. The caller
 * sends and then calls `close()`, which also ends a session that hangs past `timeoutMs`.
 */
export interface RelaySession {
  readonly connection: SMTPConnection;
  send(envelope: { from: string; to: string[] }, message: Buffer): Promise<void>;
  close(): void;
}

export async function openRelaySession(config: MailConfig, timeoutMs: number): Promise<RelaySession> {
  const { relay, inbound } = config;
  const connection = new SMTPConnection({
    host: relay.host,
    port: relay.port,
    secure: relay.secure,
    // Important: with credentials the config insists on TLS (config.ts); here the connection
    // fails before AUTH when the relay does not upgrade.
    requireTLS: relay.requireStartTls,
    ...(relay.ca !== null ? { tls: { ca: relay.ca } } : {}),
    name: inbound.serverName,
    connectionTimeout: Math.min(30_000, timeoutMs / 4),
    greetingTimeout: Math.min(30_000, timeoutMs / 4),
    socketTimeout: Math.min(60_000, timeoutMs / 2),
    logger: false,
  });
  const deadline = setTimeout(() => connection.close(), timeoutMs * 0.8);
  const close = (polite: boolean) => {
    clearTimeout(deadline);
    connection.removeAllListeners('error');
    connection.on('error', () => undefined);
    if (polite) connection.quit();
    connection.close();
  };
  let lastSendOk = false;
  try {
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect((error) => (error ? reject(error) : resolve()));
    });
    if (relay.user !== null) {
      if (!connection.secure) throw new Error('the relay connection is not encrypted: credentials are not sent over plain SMTP');
      const credentials = { user: relay.user, pass: relay.password ?? '' };
      await new Promise<void>((resolve, reject) => connection.login({ credentials }, (error) => (error ? reject(error) : resolve())));
    }
  } catch (error) {
    close(false);
    throw error;
  }
  return {
    connection,
    send: (envelope, message) =>
      new Promise<void>((resolve, reject) => {
        lastSendOk = false;
        connection.send({ ...envelope, size: message.length }, message, (error, info) => {
          if (error) reject(error);
          else if (!info || info.accepted.length === 0) reject(Object.assign(new Error(`recipient refused: ${info?.response ?? ''}`), { responseCode: 550 }));
          else {
            lastSendOk = true;
            resolve();
          }
        });
      }),
    // QUIT only after a message went through, as a well-behaved client; otherwise just hang up.
    close: () => close(lastSendOk),
  };
}
