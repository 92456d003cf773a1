import { EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';

/** What the capture relay does with the next message, decided by the test. */
export type RelayAnswer =
  | { kind: 'accept' }
  | { kind: 'reply'; code: number; message: string }
  /** Read the whole message, announce `held`, and answer only when the test calls `release`. */
  | { kind: 'hold' };

export interface CapturedMessage {
  raw: Buffer;
  parsed: ParsedMail;
  envelopeFrom: string | null;
  envelopeTo: string[];
  user: string | null;
  /** Whether the session was encrypted (STARTTLS) when it authenticated. */
  authenticatedOverTls: boolean | null;
}

export interface HeldMessage {
  raw: Buffer;
  release(answer: { kind: 'accept' } | { kind: 'reply'; code: number; message: string }): void;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** A self-signed certificate for 127.0.0.1 (valid until 2126), made for these tests only. */
export const RELAY_TEST_CERT_FILE = path.join(HERE, 'relay-test-cert.pem');
const RELAY_TEST_KEY_FILE = path.join(HERE, 'relay-test-key.pem');

/**
 * A real SMTP relay on 127.0.0.1 for tests: it records the messages it accepted (after its 250,
 * never before) and answers each DATA as the test scripted. `holdConnections` keeps new
 * connections waiting before the greeting, so a test can act while a client has connected but
 * sent nothing.
 */
export class CaptureRelay extends EventEmitter {
  readonly accepted: CapturedMessage[] = [];
  readonly answers: RelayAnswer[] = [];
  connections = 0;
  dataStarted = 0;
  holdConnections = false;
  readonly #server: SMTPServer;
  readonly #pendingGreetings: (() => void)[] = [];
  #port = 0;
  readonly #authOverTls = new Map<string, boolean>();

  /** With `options.starttls` the relay offers STARTTLS with the test certificate (RELAY_TEST_CERT_FILE). */
  constructor(
    readonly credentials: { user: string; pass: string } | null = null,
    readonly options: { starttls?: boolean } = {},
  ) {
    super();
    const starttls = options.starttls === true;
    const disabled = [...(starttls ? [] : ['STARTTLS']), ...(credentials === null ? ['AUTH'] : [])];
    this.#server = new SMTPServer({
      authOptional: credentials === null,
      allowInsecureAuth: true,
      disabledCommands: disabled,
      ...(starttls ? { key: readFileSync(RELAY_TEST_KEY_FILE), cert: readFileSync(RELAY_TEST_CERT_FILE) } : {}),
      logger: false,
      disableReverseLookup: true,
      onConnect: (_session, callback) => {
        this.connections += 1;
        if (!this.holdConnections) {
          callback();
          return;
        }
        this.#pendingGreetings.push(() => callback());
        this.emit('connection-held');
      },
      onAuth: (auth: SMTPServerAuthentication, session, callback) => {
        this.#authOverTls.set(session.id, session.secure);
        if (credentials && auth.username === credentials.user && auth.password === credentials.pass) {
          callback(null, { user: auth.username });
        } else {
          callback(Object.assign(new Error('5.7.8 authentication failed'), { responseCode: 535 }));
        }
      },
      onData: (stream, session, callback) => {
        this.dataStarted += 1;
        this.emit('data-started');
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const answer = this.answers.shift() ?? { kind: 'accept' };
          const finish = (final: { kind: 'accept' } | { kind: 'reply'; code: number; message: string }) => {
            if (final.kind === 'reply') {
              callback(Object.assign(new Error(final.message), { responseCode: final.code }));
              return;
            }
            this.#record(raw, session)
              .then(() => {
                callback(null, 'queued');
                this.emit('accepted');
              })
              .catch((error: unknown) => callback(error as Error));
          };
          if (answer.kind === 'hold') {
            const held: HeldMessage = { raw, release: finish };
            this.emit('held', held);
            return;
          }
          finish(answer);
        });
      },
    });
    this.#server.on('error', () => undefined);
  }

  async #record(raw: Buffer, session: SMTPServerSession): Promise<void> {
    this.accepted.push({
      raw,
      parsed: await simpleParser(raw),
      envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
      envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
      user: typeof session.user === 'string' ? session.user : null,
      authenticatedOverTls: this.#authOverTls.get(session.id) ?? null,
    });
  }

  get port(): number {
    return this.#port;
  }

  /** smtp://[user:pass@]127.0.0.1:port[?starttls=required] */
  get url(): string {
    const auth = this.credentials ? `${encodeURIComponent(this.credentials.user)}:${encodeURIComponent(this.credentials.pass)}@` : '';
    return `smtp://${auth}127.0.0.1:${this.#port}${this.options.starttls ? '?starttls=required' : ''}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.#server.server.address();
    if (!address || typeof address === 'string') throw new Error('capture relay has no TCP address');
    this.#port = address.port;
  }

  /** Lets every held connection have its greeting. */
  releaseConnections(): void {
    this.holdConnections = false;
    for (const greet of this.#pendingGreetings.splice(0)) greet();
  }

  async next(event: 'connection-held' | 'data-started' | 'accepted'): Promise<void> {
    await once(this, event);
  }

  async nextHeld(): Promise<HeldMessage> {
    const [held] = (await once(this, 'held')) as [HeldMessage];
    return held;
  }

  async stop(): Promise<void> {
    this.releaseConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
