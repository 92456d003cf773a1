import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode } from '../../../shared/result.js';
import { describeZodError } from '../../../shared/validation.js';

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  internal: 500,
};

/** An error a route throws on purpose; it becomes `{ error: { code, message } }` with its status. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Sent as Retry-After (and in the body) with `rate_limited`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = STATUS_OF[code] ?? 500;
  }
}

/** Parses one part of a request (body, query, params); a failure is a 400 naming the field. */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, part: 'body' | 'query' | 'params'): z.infer<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw new HttpError('invalid_input', describeZodError(parsed.error, part));
  return parsed.data;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.retryAfterSeconds === undefined) {
        return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message } });
      }
      return reply
        .status(error.statusCode)
        .header('retry-after', String(error.retryAfterSeconds))
        .send({ error: { code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds } });
    }
    // Fastify's own 4xx errors (malformed JSON, unsupported content type, body too large)
    // keep their status and get the same body shape as ours.
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: 'invalid_input', message: `body: ${error.message}` } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
}
