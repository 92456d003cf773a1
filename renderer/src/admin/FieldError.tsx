import type { FieldErrors } from './field-errors.js';

/** The error under a field; its id is what the field's aria-describedby names. */
export function FieldError({ id, errors, field }: { id: string; errors: FieldErrors; field: string }) {
  const message = errors[field];
  if (message === undefined) return null;
  return (
    <span className="error field-error" id={id} data-testid="field-error" data-field={field}>
      {message}
    </span>
  );
}

/** aria props of a field: invalid when it has an error, described by that error (and by its hint, when it has one). */
export function fieldAria(id: string, errors: FieldErrors, field: string, hintId?: string) {
  if (errors[field] === undefined) return hintId === undefined ? {} : { 'aria-describedby': hintId };
  return { 'aria-invalid': true as const, 'aria-describedby': hintId === undefined ? id : `${id} ${hintId}` };
}
