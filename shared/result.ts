/**
 * The envelope every IPC call and core operation returns. Only `error.message` survives
 * Electron's ipcMain.handle when a handler throws, so errors travel as values instead.
 */
export const ERROR_CODES = [
  'invalid_input',
  'unauthenticated',
  'forbidden',
  'not_found',
  'offline',
  'conflict',
  'cache_too_new',
  /** Too many attempts (sign-in): `retryAfterSeconds` says when to try again. */
  'rate_limited',
  /** An encrypted local file that this app's key does not open (or no key at all). */
  'cache_locked',
  /** A feature this backend was not set up for (the phone without TSUNAGU_SIP_SECRET). */
  'not_configured',
  /** The local cache cannot take a write: its folder is read-only or its disk is full. Nothing was stored. */
  'cache_unwritable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  code: ErrorCode;
  message: string;
  /** With `rate_limited`: whole seconds until another attempt may succeed. */
  retryAfterSeconds?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, message: string, retryAfterSeconds?: number): Result<T> {
  return { ok: false, error: retryAfterSeconds === undefined ? { code, message } : { code, message, retryAfterSeconds } };
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}

/** An error that carries a closed error code, thrown inside the core and turned into a Result at the edge. */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}
