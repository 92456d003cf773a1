import type { z } from 'zod';
import {
  API,
  ApiErrorBody,
  ByPhoneResponse,
  ChangesPage,
  CustomerRecord,
  LoginResponse,
  MeResponse,
  PushResponse,
  SearchResponse,
  type LoginRequest,
  type OutboxEntry,
  type SnapshotPage,
} from '../../shared/api.js';
import { CodedError, ERROR_CODES, type ErrorCode } from '../../shared/result.js';
import { decodeSnapshotPage, SnapshotPageError } from '../../shared/snapshot-wire.js';
import { describeZodError } from '../../shared/validation.js';
import { BackendEndpoints } from './backend-endpoints.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Default time limit of one request; snapshot pages get longer. */
export const REQUEST_TIMEOUT_MS = 15_000;
const SNAPSHOT_TIMEOUT_MS = 120_000;

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Filled in with where the request's time went (benchmarks). */
  timing?: RequestTiming;
  /**
   * The backend applies this request once however often it arrives (the outbox's client ids):
   * when an instance drops it midway, it may go to the next instance. GETs always may; other
   * requests only when the first instance refused the connection (it never saw them).
   */
  idempotent?: boolean;
}

/**
 * How an answer is checked: a shared zod schema, or for the snapshot's pages a hand-written
 * reader (shared/snapshot-wire.ts) that throws an error naming what is wrong.
 */
type AnswerSchema<T> = z.ZodType<T> | ((json: unknown) => T);

/** Milliseconds of one request: until the whole body arrived, then JSON.parse, then the schema check. */
export interface RequestTiming {
  responseMs: number;
  parseMs: number;
  validateMs: number;
  bytes: number;
  /** The backend's Server-Timing header, when it sent one. */
  serverTiming: string | null;
}

/** An open event stream and the instance it comes from. */
export interface OpenedEvents {
  body: ReadableStream<Uint8Array>;
  baseUrl: string;
}

/**
 * The core's client of the backend's REST API (shared/api.ts). Every response is checked
 * against its shared schema. Failures become CodedErrors: `offline` when the backend cannot be
 * reached (or answers as a gateway that cannot), otherwise the backend's own error code.
 *
 * With several backend instances (BackendEndpoints) a request goes to the active one; when that
 * one cannot be reached the next becomes active and the request goes there at once if that is
 * safe (see RequestOptions.idempotent), so one dead instance costs no retry delay.
 */
export class BackendClient {
  readonly endpoints: BackendEndpoints;
  token: string | null;
  readonly #answeredListeners = new Set<() => void>();

  constructor(endpoints: BackendEndpoints | string, token: string | null = null) {
    this.endpoints = typeof endpoints === 'string' ? new BackendEndpoints([endpoints.replace(/\/+$/, '')]) : endpoints;
    this.token = token;
  }

  /** The instance requests go to now. */
  get baseUrl(): string {
    return this.endpoints.active;
  }

  /**
   * Called whenever the backend answered a request with success: proof that it is reachable,
   * which the sync engine uses to end an outage at once instead of at its next retry.
   */
  onAnswered(listener: () => void): () => void {
    this.#answeredListeners.add(listener);
    return () => this.#answeredListeners.delete(listener);
  }

  login(request: LoginRequest, options?: RequestOptions): Promise<LoginResponse> {
    return this.#request('POST', API.login, LoginResponse, { body: request, ...options, anonymous: true });
  }

  async logout(options?: RequestOptions): Promise<void> {
    await this.#request('POST', API.logout, null, options);
  }

  me(options?: RequestOptions): Promise<MeResponse> {
    return this.#request('GET', API.me, MeResponse, options);
  }

  snapshot(
    query: { after?: string | null; highWaterSeq?: number | null; limit: number; grownFrom?: string | null },
    options?: RequestOptions,
  ): Promise<SnapshotPage> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.after != null) params.set('after', query.after);
    if (query.highWaterSeq != null) params.set('highWaterSeq', String(query.highWaterSeq));
    if (query.grownFrom != null) params.set('grownFrom', query.grownFrom);
    return this.#request('GET', `${API.syncSnapshot}?${params}`, decodeSnapshotPage, {
      timeoutMs: SNAPSHOT_TIMEOUT_MS,
      ...options,
    });
  }

  changes(after: number, limit: number, options?: RequestOptions): Promise<ChangesPage> {
    const params = new URLSearchParams({ after: String(after), limit: String(limit) });
    return this.#request('GET', `${API.syncChanges}?${params}`, ChangesPage, options);
  }

  push(entries: OutboxEntry[], options?: RequestOptions): Promise<PushResponse> {
    // Important: idempotent because the backend applies each clientId once, on every instance.
    return this.#request('POST', API.syncPush, PushResponse, { body: { entries }, idempotent: true, ...options });
  }

  search(q: string, limit: number, options?: RequestOptions): Promise<SearchResponse> {
    const params = new URLSearchParams({ q, limit: String(limit) });
    return this.#request('GET', `${API.customerSearch}?${params}`, SearchResponse, options);
  }

  byPhone(phone: string, options?: RequestOptions): Promise<ByPhoneResponse> {
    const params = new URLSearchParams({ phone });
    return this.#request('GET', `${API.customerByPhone}?${params}`, ByPhoneResponse, options);
  }

  customer(customerId: string, options?: RequestOptions): Promise<CustomerRecord> {
    return this.#request('GET', API.customer.replace(':id', encodeURIComponent(customerId)), CustomerRecord, options);
  }

  /**
   * The SSE stream. EventSource-style clients cannot set headers, so the backend takes the
   * token in the query on this one route.
   */
  async openEvents(signal: AbortSignal): Promise<OpenedEvents> {
    const token = this.#requireToken();
    for (let attempt = 1; ; attempt++) {
      const baseUrl = this.endpoints.active;
      const url = `${baseUrl}${API.events}?${new URLSearchParams({ token })}`;
      let response: Response;
      try {
        response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal });
      } catch (error) {
        if (signal.aborted) throw this.#unreachable(error, baseUrl);
        this.endpoints.unreachable(baseUrl);
        if (attempt < this.endpoints.urls.length) continue;
        throw this.#unreachable(error, baseUrl);
      }
      if (response.ok && response.body) return { body: response.body, baseUrl };
      const error = await this.#errorOf(response, API.events);
      if (error.code === 'offline') {
        this.endpoints.unreachable(baseUrl);
        if (attempt < this.endpoints.urls.length) continue;
      }
      throw error;
    }
  }

  /**
   * A route that answers a file (an attachment, a CSV export): its bytes, declared type and the
   * file name from Content-Disposition. Errors are the same coded errors as JSON routes'.
   */
  async download(pathAndQuery: string, options: RequestOptions = {}): Promise<{ bytes: Buffer; contentType: string; filename: string | null }> {
    const baseUrl = this.endpoints.active;
    const path = pathAndQuery.split('?')[0] ?? pathAndQuery;
    let response: Response;
    let bytes: Buffer;
    try {
      response = await fetch(`${baseUrl}${pathAndQuery}`, {
        headers: { authorization: `Bearer ${this.#requireToken()}` },
        signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
      });
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      this.endpoints.unreachable(baseUrl);
      throw this.#unreachable(error, baseUrl);
    }
    if (!response.ok) throw errorFromBody(response.status, bytes.toString('utf8'), path, response.headers.get('retry-after'));
    for (const listener of this.#answeredListeners) listener();
    const disposition = response.headers.get('content-disposition') ?? '';
    const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
    const plain = /filename="([^"]*)"/i.exec(disposition)?.[1];
    let filename: string | null = plain ?? null;
    if (encoded !== undefined) {
      try {
        filename = decodeURIComponent(encoded);
      } catch {
        // Keeps the plain name.
      }
    }
    return { bytes, contentType: response.headers.get('content-type') ?? 'application/octet-stream', filename };
  }

  /**
   * Any other route of the contract, its answer checked against `schema` (null: no body is
   * expected, e.g. 204). For feature modules of the core (mail) that own their routes.
   */
  request<T>(
    method: HttpMethod,
    pathAndQuery: string,
    schema: z.ZodType<T> | null,
    options: RequestOptions & { body?: unknown } = {},
  ): Promise<T> {
    return this.#request(method, pathAndQuery, schema, options);
  }

  /** A GET whose answer is a file (the exchange's CSV or JSON) rather than a contract object: its text. */
  getText(pathAndQuery: string, options: RequestOptions = {}): Promise<string> {
    return this.#request<string>('GET', pathAndQuery, null, { ...options, asText: true });
  }

  async #request<T>(
    method: HttpMethod,
    pathAndQuery: string,
    schema: AnswerSchema<T> | null,
    options: RequestOptions & { body?: unknown; anonymous?: boolean; asText?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (!options.anonymous) headers.authorization = `Bearer ${this.#requireToken()}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const path = pathAndQuery.split('?')[0] ?? pathAndQuery;
    const retrySafe = method === 'GET' || options.idempotent === true;
    const started = performance.now();
    let response: Response;
    let text: string;
    // One time budget for all instances tried: a caller's deadline (the screen pop's) holds.
    for (let attempt = 1; ; attempt++) {
      const baseUrl = this.endpoints.active;
      const more = attempt < this.endpoints.urls.length;
      try {
        response = await fetch(`${baseUrl}${pathAndQuery}`, {
          method,
          headers,
          body: options.body === undefined ? null : JSON.stringify(options.body),
          signal,
        });
        text = await response.text();
      } catch (error) {
        // The caller gave up (sign-out, stop): says nothing about the instance.
        if (options.signal?.aborted) throw this.#unreachable(error, baseUrl);
        this.endpoints.unreachable(baseUrl);
        if (more && !timeout.aborted && (retrySafe || neverReached(error))) continue;
        throw this.#unreachable(error, baseUrl);
      }
      if (GATEWAY_STATUSES.has(response.status) && !isNotConfigured(text)) {
        // A proxy in front of this instance answers for it: the instance is gone.
        this.endpoints.unreachable(baseUrl);
        if (more && retrySafe) continue;
      }
      break;
    }
    if (!response.ok) throw errorFromBody(response.status, text, path, response.headers.get('retry-after'));
    for (const listener of this.#answeredListeners) listener();
    if (options.asText) return text as T;
    if (schema === null) return undefined as T;
    const received = performance.now();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CodedError('internal', `The backend answered ${path} with something that is not JSON`);
    }
    const jsonParsed = performance.now();
    const parsed = checkAnswer(schema, json);
    if (options.timing) {
      Object.assign(options.timing, {
        responseMs: received - started,
        parseMs: jsonParsed - received,
        validateMs: performance.now() - jsonParsed,
        bytes: text.length,
        serverTiming: response.headers.get('server-timing'),
      } satisfies RequestTiming);
    }
    if (!parsed.ok) throw new CodedError('internal', `The backend's answer to ${path} does not match the contract: ${parsed.message}`);
    return parsed.value;
  }

  #requireToken(): string {
    if (this.token === null) throw new CodedError('unauthenticated', 'Not logged in');
    return this.token;
  }

  #unreachable(error: unknown, baseUrl: string): CodedError {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'did not answer in time' : 'cannot be reached';
    return new CodedError('offline', `The backend at ${baseUrl} ${reason}`);
  }

  async #errorOf(response: Response, path: string): Promise<CodedError> {
    const text = await response.text().catch(() => '');
    return errorFromBody(response.status, text, path, response.headers.get('retry-after'));
  }
}

function checkAnswer<T>(schema: AnswerSchema<T>, json: unknown): { ok: true; value: T } | { ok: false; message: string } {
  if (typeof schema === 'function') {
    try {
      return { ok: true, value: schema(json) };
    } catch (error) {
      if (error instanceof SnapshotPageError) return { ok: false, message: error.message };
      throw error;
    }
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: describeZodError(parsed.error, 'response') };
}

const GATEWAY_STATUSES = new Set([502, 503, 504]);

/** Socket errors that mean the request never reached the instance (fetch puts them in `cause`). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function neverReached(error: unknown): boolean {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' && NOT_SENT_CODES.has(cause.code);
}

/** The backend's own 503 for a feature that is not set up there: an answer, not a lost instance. */
function isNotConfigured(text: string): boolean {
  try {
    const parsed = ApiErrorBody.safeParse(JSON.parse(text));
    return parsed.success && parsed.data.error.code === 'not_configured';
  } catch {
    return false;
  }
}

/** Retry-After in whole seconds (RFC 9110 allows seconds or an HTTP date); null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function errorFromBody(status: number, text: string, path: string, retryAfterHeader: string | null = null): CodedError {
  let body: ApiErrorBody | null = null;
  try {
    const parsed = ApiErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // Not JSON: fall back to the status code below.
  }
  // A 503 from the backend itself says why (a feature not set up there); a proxy's says nothing.
  if (status === 503 && body?.error.code === 'not_configured') return new CodedError('not_configured', body.error.message);
  if (GATEWAY_STATUSES.has(status)) return new CodedError('offline', body?.error.message ?? `The backend is unavailable (HTTP ${status})`);
  const code = body && isErrorCode(body.error.code) ? body.error.code : codeOfStatus(status);
  const message = body?.error.message ?? `The backend answered ${path} with HTTP ${status}`;
  if (code === 'rate_limited') {
    // The header is what proxies and the rate-limit layer set; the body repeats it for us.
    const seconds = parseRetryAfter(retryAfterHeader) ?? body?.error.retryAfterSeconds ?? null;
    return new CodedError(code, message, seconds ?? undefined);
  }
  return new CodedError(code, message);
}

function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'invalid_input';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 429:
      return 'rate_limited';
    default:
      return 'internal';
  }
}
