import { TEMPLATE_PLACEHOLDERS, type MailTemplate } from '../../../shared/api.js';

export type TemplateValues = Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>;

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** Fills `{{name}}` placeholders whose name `values` has; every other `{{…}}` stays as written. */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.prototype.hasOwnProperty.call(values, name) ? values[name]! : whole));
}

/** The `{{…}}` names in `text` that are not in `known` (the backend refuses to save them). */
export function unknownPlaceholders(text: string, known: readonly string[]): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1]!).filter((name) => !known.includes(name));
}

/**
 * Fills {{customerName}}, {{incidentRef}} and {{operatorName}} the way the backend does when it
 * creates a draft from a template (backend/src/mail/replies.ts), so that what the operator sees
 * in the composer is what will be saved. Unknown placeholders stay as written.
 */
export function fillTemplate(text: string, values: TemplateValues): string {
  return fillPlaceholders(text, values);
}

export function applyTemplate(template: MailTemplate, values: TemplateValues): { subject: string | null; body: string } {
  return {
    subject: template.subject.trim() === '' ? null : fillTemplate(template.subject, values),
    body: fillTemplate(template.body, values),
  };
}
