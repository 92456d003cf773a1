import { TEMPLATE_PLACEHOLDERS, type MailTemplate } from '../../../shared/api.js';

export type TemplateValues = Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>;

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/**
 * Fills {{customerName}}, {{incidentRef}} and {{operatorName}} the way the backend does when it
 * creates a draft from a template (backend/src/mail/replies.ts), so that what the operator sees
 * in the composer is what will be saved. Unknown placeholders stay as written.
 */
export function fillTemplate(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as keyof TemplateValues] : whole,
  );
}

export function applyTemplate(template: MailTemplate, values: TemplateValues): { subject: string | null; body: string } {
  return {
    subject: template.subject.trim() === '' ? null : fillTemplate(template.subject, values),
    body: fillTemplate(template.body, values),
  };
}
