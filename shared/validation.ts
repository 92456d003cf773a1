import type { z } from 'zod';

/**
 * Turns a zod failure into one sentence that names every offending field, e.g.
 * `body.phones.0.e164: Invalid phone number; body.name: Required`.
 */
export function describeZodError(error: z.ZodError, root = ''): string {
  return error.issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, root = ''): Parsed<z.infer<S>> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, message: describeZodError(parsed.error, root) };
}
