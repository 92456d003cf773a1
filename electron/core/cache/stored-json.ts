import type { z } from 'zod';

/**
 * A JSON value the core kept in the cache's key-value table, read back through its schema.
 * Anything unreadable (never written, an older shape, a damaged row) reads as null, so the caller
 * falls back to asking the backend instead of failing.
 */
export function readStoredJson<T>(raw: string | null, schema: z.ZodType<T>): T | null {
  if (raw === null) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
