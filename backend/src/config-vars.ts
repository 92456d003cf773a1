import { z } from 'zod';

/**
 * Schemas of single environment variables, shared by every part of the backend's
 * configuration. An empty variable counts as unset (so `FOO= npm run backend` takes the
 * default), and each message says what the value must be without echoing it.
 */
export const emptyIsUnset = (value: unknown) => (value === '' ? undefined : value);

export function integerVar(min: number, max: number, fallback: number) {
  return z.preprocess(
    emptyIsUnset,
    z.coerce
      .number({ error: `must be an integer between ${min} and ${max}` })
      .int(`must be an integer between ${min} and ${max}`)
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );
}

export function numberVar(min: number, max: number, fallback: number) {
  return z.preprocess(
    emptyIsUnset,
    z.coerce
      .number({ error: `must be a number between ${min} and ${max}` })
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );
}

export function booleanVar(fallback: boolean) {
  return z.preprocess(
    emptyIsUnset,
    z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default(fallback ? 'true' : 'false'),
  );
}
