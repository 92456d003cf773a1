import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { booleanVar, emptyIsUnset, integerVar, numberVar } from '../config-vars.js';

/**
 * Settings of the e-mail channel, read from environment variables like the rest of the
 * backend's configuration (config.ts). The defaults work on loopback.
 */
export interface MailConfig {
  inbound: {
    /** false: no SMTP listener in this process (another instance receives the mail). */
    enabled: boolean;
    host: string;
    /** 0 picks a free port (tests). */
    port: number;
    /** Largest message accepted, in bytes; larger ones get 552 during DATA. */
    maxMessageBytes: number;
    /** Largest attachment stored; a larger one keeps only its metadata. */
    maxAttachmentBytes: number;
    maxAttachments: number;
    /** The raw message is stored up to this many bytes (the .eml download is cut there). */
    maxRawBytes: number;
    /** Name announced in the SMTP greeting. */
    serverName: string;
  };
  relay: RelayConfig;
  dispatch: {
    leaseSeconds: number;
    /** An operator with no heartbeat for longer than this has disconnected: their lease ends. */
    presenceTimeoutSeconds: number;
    /** Offering pauses while ringing calls per available agent are above this (tenant may override). */
    busyCallsPerAgent: number;
    /** For this long a mail waits for the operator who last handled the customer, if they are online. */
    preferenceSeconds: number;
  };
  sender: {
    /** false: this process sends nothing (another instance runs the sender). */
    enabled: boolean;
    /** First retry delay after a temporary (4xx) failure; doubles each attempt. */
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    maxAttempts: number;
    /**
     * Upper bound of one SMTP transaction. A claim older than this belongs to a sender that
     * died, so another sender may recover it (see sender.ts for what recovery does).
     */
    sendTimeoutSeconds: number;
    /** How often the sender looks for approved replies when nothing pokes it. */
    pollSeconds: number;
  };
  /** IANA time zone of "today" in the supervisor's hour-by-hour chart. */
  timeZone: string;
}

export interface RelayConfig {
  host: string;
  port: number;
  /**
   * smtps: TLS from the first byte; smtp: plain, upgraded with STARTTLS when offered, or
   * refused without it when `requireStartTls` (`smtp://…?starttls=required`).
   */
  secure: boolean;
  requireStartTls: boolean;
  /** PEM of the CA that signed the relay's certificate (TSUNAGU_SMTP_RELAY_CA_FILE); null: the system's CAs. */
  ca: string | null;
  user: string | null;
  /** Important: never logged, never sent to clients; describeRelay() prints the rest. */
  password: string | null;
}

const MB = 1024 * 1024;

const MailEnv = z.object({
  TSUNAGU_SMTP_ENABLED: booleanVar(true),
  TSUNAGU_SMTP_HOST: z.preprocess(emptyIsUnset, z.string().min(1).default('127.0.0.1')),
  TSUNAGU_SMTP_PORT: integerVar(0, 65_535, 2525),
  TSUNAGU_SMTP_MAX_MESSAGE_BYTES: integerVar(1024, 100 * MB, 10 * MB),
  TSUNAGU_SMTP_MAX_ATTACHMENT_BYTES: integerVar(1024, 100 * MB, 5 * MB),
  TSUNAGU_SMTP_MAX_ATTACHMENTS: integerVar(0, 200, 20),
  TSUNAGU_SMTP_MAX_RAW_BYTES: integerVar(1024, 100 * MB, 10 * MB),
  TSUNAGU_SMTP_SERVER_NAME: z.preprocess(emptyIsUnset, z.string().min(1).max(253).default('tsunagu.localhost')),
  // Important: the URL may carry the relay password, so no message ever echoes its value.
  TSUNAGU_SMTP_RELAY_URL: z.preprocess(
    emptyIsUnset,
    z
      .string()
      .regex(/^smtps?:\/\/[^/?]+\/?(\?starttls=required)?$/, {
        error: 'must look like smtps://user:pass@host:port, smtp://user:pass@host:port?starttls=required or smtp://host:port',
      })
      .default('smtp://127.0.0.1:2526'),
  ),
  TSUNAGU_SMTP_RELAY_CA_FILE: z.preprocess(emptyIsUnset, z.string().optional()),
  TSUNAGU_MAIL_SENDER_ENABLED: booleanVar(true),
  TSUNAGU_MAIL_LEASE_MINUTES: numberVar(0.01, 24 * 60, 5),
  TSUNAGU_MAIL_PRESENCE_TIMEOUT_SECONDS: integerVar(1, 3600, 60),
  TSUNAGU_MAIL_PAUSE_CALLS_PER_AGENT: numberVar(0, 1000, 0.5),
  TSUNAGU_MAIL_PREFERENCE_SECONDS: integerVar(0, 24 * 3600, 120),
  TSUNAGU_MAIL_RETRY_BASE_SECONDS: numberVar(0.01, 3600, 30),
  TSUNAGU_MAIL_RETRY_MAX_SECONDS: numberVar(0.01, 24 * 3600, 3600),
  TSUNAGU_MAIL_MAX_ATTEMPTS: integerVar(1, 100, 8),
  TSUNAGU_MAIL_SEND_TIMEOUT_SECONDS: numberVar(1, 3600, 120),
  TSUNAGU_MAIL_POLL_SECONDS: numberVar(0.05, 3600, 5),
  TSUNAGU_TIME_ZONE: z.preprocess(
    emptyIsUnset,
    z
      .string()
      .refine((zone) => isTimeZone(zone), { error: 'must be an IANA time zone such as Asia/Tokyo' })
      .default('Asia/Tokyo'),
  ),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The relay of TSUNAGU_SMTP_RELAY_URL. Important: a relay that takes a user name and password
 * must be reached over TLS (smtps://, or smtp:// with ?starttls=required), or the credentials
 * would cross the network in clear text; that is a configuration error, whatever the host.
 * Only a relay without credentials (the loopback dev catcher) may be plain smtp://.
 */
export function parseRelayUrl(value: string, ca: string | null = null): RelayConfig {
  const url = new URL(value);
  const secure = url.protocol === 'smtps:';
  const requireStartTls = !secure && url.searchParams.get('starttls') === 'required';
  const relay: RelayConfig = {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 25,
    secure,
    requireStartTls,
    ca,
    user: url.username ? decodeURIComponent(url.username) : null,
    password: url.password ? decodeURIComponent(url.password) : null,
  };
  if ((relay.user !== null || relay.password !== null) && !secure && !requireStartTls) {
    throw new ConfigError(
      'TSUNAGU_SMTP_RELAY_URL: a relay with a user name or password needs TLS: use smtps://…, or smtp://…?starttls=required ' +
        '(credentials are never sent over plain SMTP)',
    );
  }
  return relay;
}

function readRelayCa(file: string | undefined): string | null {
  if (file === undefined) return null;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`TSUNAGU_SMTP_RELAY_CA_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The relay in words safe to print: never the password. */
export function describeRelay(relay: RelayConfig): string {
  const who = relay.user ? `${relay.user}@` : '';
  return `${relay.secure ? 'smtps' : 'smtp'}://${who}${relay.host}:${relay.port}${relay.requireStartTls ? ' (STARTTLS required)' : ''}`;
}

export function loadMailConfig(env: NodeJS.ProcessEnv = process.env): MailConfig {
  const parsed = MailEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid mail configuration: ${problems.join('; ')}`);
  }
  const vars = parsed.data;
  const truthy = (value: string) => value === 'true' || value === '1';
  return {
    inbound: {
      enabled: truthy(vars.TSUNAGU_SMTP_ENABLED),
      host: vars.TSUNAGU_SMTP_HOST,
      port: vars.TSUNAGU_SMTP_PORT,
      maxMessageBytes: vars.TSUNAGU_SMTP_MAX_MESSAGE_BYTES,
      maxAttachmentBytes: vars.TSUNAGU_SMTP_MAX_ATTACHMENT_BYTES,
      maxAttachments: vars.TSUNAGU_SMTP_MAX_ATTACHMENTS,
      maxRawBytes: vars.TSUNAGU_SMTP_MAX_RAW_BYTES,
      serverName: vars.TSUNAGU_SMTP_SERVER_NAME,
    },
    relay: parseRelayUrl(vars.TSUNAGU_SMTP_RELAY_URL, readRelayCa(vars.TSUNAGU_SMTP_RELAY_CA_FILE)),
    dispatch: {
      leaseSeconds: Math.round(vars.TSUNAGU_MAIL_LEASE_MINUTES * 60),
      presenceTimeoutSeconds: vars.TSUNAGU_MAIL_PRESENCE_TIMEOUT_SECONDS,
      busyCallsPerAgent: vars.TSUNAGU_MAIL_PAUSE_CALLS_PER_AGENT,
      preferenceSeconds: vars.TSUNAGU_MAIL_PREFERENCE_SECONDS,
    },
    sender: {
      enabled: truthy(vars.TSUNAGU_MAIL_SENDER_ENABLED),
      retryBaseSeconds: vars.TSUNAGU_MAIL_RETRY_BASE_SECONDS,
      retryMaxSeconds: vars.TSUNAGU_MAIL_RETRY_MAX_SECONDS,
      maxAttempts: vars.TSUNAGU_MAIL_MAX_ATTEMPTS,
      sendTimeoutSeconds: vars.TSUNAGU_MAIL_SEND_TIMEOUT_SECONDS,
      pollSeconds: vars.TSUNAGU_MAIL_POLL_SECONDS,
    },
    timeZone: vars.TSUNAGU_TIME_ZONE,
  };
}
