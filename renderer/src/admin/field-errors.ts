import type { z } from 'zod';
import type { AppError } from '../../../shared/result.js';

/** Messages per form field (`login`, `dispositions.2.code`); `''` holds what names no field. */
export type FieldErrors = Record<string, string>;

/** The issues of a failed parse by field: the form checks with the same shared schema the backend enforces. */
export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.map(String).join('.');
    errors[field] ??= issue.message;
  }
  return errors;
}

/**
 * A refusal from the core or the backend by field: their messages name fields as
 * `body.login: …; body.password: …` (or `login: …` from the core's own check).
 */
export function fieldErrorsFromError(error: AppError): FieldErrors {
  const errors: FieldErrors = {};
  for (const part of error.message.split('; ')) {
    const match = /^(?:body\.|changes\.|rights\.|template\.)?([A-Za-z][\w.]*): (.+)$/.exec(part);
    if (match && (error.code === 'invalid_input' || error.code === 'conflict' || error.code === 'forbidden')) errors[match[1]!] ??= match[2]!;
  }
  return errors;
}

/** Parses `input` with `schema`: the value, or the errors to show beside the fields. */
export function checkForm<S extends z.ZodType>(schema: S, input: unknown): { ok: true; value: z.infer<S> } | { ok: false; errors: FieldErrors } {
  const parsed = schema.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: fieldErrorsOf(parsed.error) };
}
