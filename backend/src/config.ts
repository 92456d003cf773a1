import path from 'node:path';
import { z } from 'zod';
import { emptyIsUnset, integerVar } from './config-vars.js';
import { CtiPbxList, type CtiPbx } from './telephony/cti-access.js';

/**
 * Backend settings, read from environment variables. The defaults work on loopback with an
 * embedded SQLite file, so `npm run backend` needs no configuration at all.
 */
export interface BackendConfig {
  host: string;
  port: number;
  database: DatabaseConfig;
  sessionTtlHours: number;
  /** A session unused for this long ends, whatever its lifetime left. */
  sessionIdleMinutes: number;
  argon2: Argon2Config;
  login: LoginThrottleConfig;
  logLevel: LogLevel;
  telephony: TelephonyConfig;
  /** Demos only: the mail catcher's folder, listed on /dev/mail-out; null: no such page. */
  devMailOutDir: string | null;
  /** Call recordings (backend/src/recordings). */
  recordings: RecordingsConfig;
}

export interface RecordingsConfig {
  /** Where recording files are stored (TSUNAGU_RECORDINGS_DIR; next to the SQLite file, else ./recordings). */
  dir: string;
  /** How often the retention job deletes expired recordings (TSUNAGU_RECORDING_RETENTION_SWEEP_MINUTES; 0: never). */
  retentionSweepMinutes: number;
}

/** The softphone's PBX and the PBX's CTI access (backend/src/telephony). */
export interface TelephonyConfig {
  /**
   * Shared with the PBX's autheph module; null: this backend issues no SIP credentials.
   * Important: never logged, never sent to clients.
   */
  sipSecret: string | null;
  /** The PBX's SIP WebSocket, as the app must reach it. */
  sipWsUrl: string;
  /** Domain of the agents' SIP addresses of record (sip:user@domain). */
  sipDomain: string;
  credentialTtlSeconds: number;
  /**
   * The PBXes allowed on the CTI routes, each with its token's SHA-256 and the tenants it
   * serves; empty: CTI is off.
   */
  ctiPbxes: readonly CtiPbx[];
}

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; poolSize: number };

export interface Argon2Config {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/** How one kind of key (an account, a source address) is throttled after failed logins. */
export interface ThrottlePolicy {
  /** Failures in a window that cost nothing. */
  freeFailures: number;
  /** After this many failures in a window, the key is locked for `lockSeconds`. */
  lockAfterFailures: number;
  lockSeconds: number;
  /** Between the free failures and the lock, the wait doubles from 1 s up to this. */
  maxDelaySeconds: number;
  /** Failures older than this are forgotten. */
  windowSeconds: number;
}

export interface LoginThrottleConfig {
  account: ThrottlePolicy;
  address: ThrottlePolicy;
  /** Coarse per-address limit of login requests, counted per instance before anything is parsed. */
  requestsPerMinute: number;
  /**
   * Password checks running at once in this instance; more wait in line, and past `maxQueued`
   * a login is turned away: argon2 runs on libuv's small thread pool, which file and DNS work
   * share, so a flood of logins must not take all of it.
   */
  maxConcurrentChecks: number;
  maxQueuedChecks: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const EnvSchema = z.object({
  TSUNAGU_BACKEND_HOST: z.preprocess(emptyIsUnset, z.string().min(1).default('127.0.0.1')),
  TSUNAGU_BACKEND_PORT: integerVar(0, 65_535, 8740),
  // Important: the URL carries the database password, so no message ever echoes its value.
  DATABASE_URL: z.preprocess(
    emptyIsUnset,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, {
        error: 'must be a postgres:// or postgresql:// URL (unset it to use the SQLite file TSUNAGU_DB_PATH)',
      })
      .optional(),
  ),
  TSUNAGU_DB_PATH: z.preprocess(emptyIsUnset, z.string().default('./.data/backend.db')),
  TSUNAGU_PG_POOL_SIZE: integerVar(1, 200, 10),
  TSUNAGU_SESSION_TTL_HOURS: z.preprocess(
    emptyIsUnset,
    z.coerce
      .number({ error: 'must be a number of hours' })
      .positive('must be a positive number of hours')
      .max(24 * 90, 'must be at most 2160 hours (90 days)')
      .default(12),
  ),
  TSUNAGU_SESSION_IDLE_MINUTES: integerVar(1, 24 * 60 * 90, 60),
  TSUNAGU_LOGIN_LOCK_AFTER_FAILURES: integerVar(3, 1000, 10),
  TSUNAGU_LOGIN_ADDRESS_LOCK_AFTER_FAILURES: integerVar(3, 100_000, 100),
  TSUNAGU_LOGIN_LOCK_MINUTES: integerVar(1, 24 * 60, 15),
  TSUNAGU_LOGIN_REQUESTS_PER_MINUTE: integerVar(1, 1_000_000, 300),
  TSUNAGU_ARGON2_MAX_CONCURRENT: integerVar(1, 64, 2),
  // OWASP's argon2id baseline (19 MiB, 2 passes); tests lower it to keep suites fast.
  TSUNAGU_ARGON2_MEMORY_KIB: integerVar(64, 4 * 1024 * 1024, 19_456),
  TSUNAGU_ARGON2_TIME_COST: integerVar(1, 20, 2),
  TSUNAGU_ARGON2_PARALLELISM: integerVar(1, 16, 1),
  TSUNAGU_LOG_LEVEL: z.preprocess(
    emptyIsUnset,
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
  // Important: secrets. Messages say what is wrong with them, never what they are.
  TSUNAGU_SIP_SECRET: z.preprocess(
    emptyIsUnset,
    z
      .string()
      .regex(/^[\x21-\x7e]{16,}$/, { error: 'must be at least 16 printable ASCII characters without spaces' })
      .refine((value) => !/["\\]/.test(value), { error: 'must not contain " or \\ (the PBX config quotes it)' })
      .optional(),
  ),
  TSUNAGU_SIP_WS_URL: z.preprocess(
    emptyIsUnset,
    z.string().regex(/^wss?:\/\/[^\s/]+(\/\S*)?$/, { error: 'must be a ws:// or wss:// URL' }).default('ws://127.0.0.1:5066'),
  ),
  TSUNAGU_SIP_DOMAIN: z.preprocess(
    emptyIsUnset,
    z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, { error: 'must be a host name or IPv4 address' }).default('127.0.0.1'),
  ),
  // Long enough to survive a short outage of the backend; the app refreshes well before expiry.
  TSUNAGU_SIP_CREDENTIAL_TTL_SECONDS: integerVar(60, 7 * 24 * 3600, 600),
  TSUNAGU_DEV_MAIL_OUT_DIR: z.preprocess(emptyIsUnset, z.string().optional()),
  TSUNAGU_RECORDINGS_DIR: z.preprocess(emptyIsUnset, z.string().optional()),
  TSUNAGU_RECORDING_RETENTION_SWEEP_MINUTES: integerVar(0, 10_080, 60),
  // A JSON list; the config file may hold it as a JSON value (config-file.ts writes it back as text).
  TSUNAGU_CTI_PBXES: z.preprocess(
    emptyIsUnset,
    z
      .string()
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          // JSON.parse's message quotes the text; this one does not.
          ctx.addIssue({ code: 'custom', message: 'must be a JSON list of {"id", "tenants", "tokenSha256"}' });
          return z.NEVER;
        }
      })
      .pipe(CtiPbxList)
      .default([]),
  ),
  // One token for every tenant was the old way; refuse it rather than ignore it silently.
  TSUNAGU_CTI_TOKEN: z.preprocess(
    emptyIsUnset,
    z
      .undefined({
        error: 'is no longer read: give each PBX its own token, bound to its tenants, in TSUNAGU_CTI_PBXES (see README, Configuration)',
      })
      .optional(),
  ),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BackendConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid backend configuration: ${problems.join('; ')}`);
  }
  const vars = parsed.data;
  const database: DatabaseConfig = vars.DATABASE_URL
    ? { kind: 'postgres', url: vars.DATABASE_URL, poolSize: vars.TSUNAGU_PG_POOL_SIZE }
    : { kind: 'sqlite', path: path.resolve(vars.TSUNAGU_DB_PATH) };
  return {
    host: vars.TSUNAGU_BACKEND_HOST,
    port: vars.TSUNAGU_BACKEND_PORT,
    database,
    sessionTtlHours: vars.TSUNAGU_SESSION_TTL_HOURS,
    sessionIdleMinutes: vars.TSUNAGU_SESSION_IDLE_MINUTES,
    argon2: {
      memoryKib: vars.TSUNAGU_ARGON2_MEMORY_KIB,
      timeCost: vars.TSUNAGU_ARGON2_TIME_COST,
      parallelism: vars.TSUNAGU_ARGON2_PARALLELISM,
    },
    login: loginThrottleConfig(vars),
    logLevel: vars.TSUNAGU_LOG_LEVEL,
    telephony: {
      sipSecret: vars.TSUNAGU_SIP_SECRET ?? null,
      sipWsUrl: vars.TSUNAGU_SIP_WS_URL,
      sipDomain: vars.TSUNAGU_SIP_DOMAIN,
      credentialTtlSeconds: vars.TSUNAGU_SIP_CREDENTIAL_TTL_SECONDS,
      ctiPbxes: vars.TSUNAGU_CTI_PBXES,
    },
    devMailOutDir: vars.TSUNAGU_DEV_MAIL_OUT_DIR ? path.resolve(vars.TSUNAGU_DEV_MAIL_OUT_DIR) : null,
    recordings: {
      dir: path.resolve(
        vars.TSUNAGU_RECORDINGS_DIR ?? (database.kind === 'sqlite' ? path.join(path.dirname(database.path), 'recordings') : 'recordings'),
      ),
      retentionSweepMinutes: vars.TSUNAGU_RECORDING_RETENTION_SWEEP_MINUTES,
    },
  };
}

function loginThrottleConfig(vars: z.infer<typeof EnvSchema>): LoginThrottleConfig {
  const lockSeconds = vars.TSUNAGU_LOGIN_LOCK_MINUTES * 60;
  const accountLockAfter = vars.TSUNAGU_LOGIN_LOCK_AFTER_FAILURES;
  const addressLockAfter = vars.TSUNAGU_LOGIN_ADDRESS_LOCK_AFTER_FAILURES;
  return {
    account: { freeFailures: Math.min(3, accountLockAfter - 1), lockAfterFailures: accountLockAfter, lockSeconds, maxDelaySeconds: 30, windowSeconds: lockSeconds },
    // One office behind NAT is one address: it gets many free failures before any delay.
    address: {
      freeFailures: Math.min(20, addressLockAfter - 1),
      lockAfterFailures: addressLockAfter,
      lockSeconds,
      maxDelaySeconds: 30,
      windowSeconds: lockSeconds,
    },
    requestsPerMinute: vars.TSUNAGU_LOGIN_REQUESTS_PER_MINUTE,
    maxConcurrentChecks: vars.TSUNAGU_ARGON2_MAX_CONCURRENT,
    // A few seconds of waiting at most; a longer line only helps a flood.
    maxQueuedChecks: vars.TSUNAGU_ARGON2_MAX_CONCURRENT * 16,
  };
}

/** Where the data lives, in words safe to print: never the credentials of a database URL. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.kind === 'sqlite') return `SQLite ${database.path}`;
  try {
    const url = new URL(database.url);
    return `PostgreSQL ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
