import type { Kysely } from 'kysely';
import { CALLBACK_PLACEHOLDERS, type CallbackTemplateInput, type CallbackTemplateResponse } from '../../../shared/calls-for-you.js';
import type { User } from '../../../shared/domain.js';
import { mayEditCallbackTemplate } from '../../../shared/permissions.js';
import { recordAudit } from '../audit.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { branchCallsDb } from './schema.js';

export type CallbackValues = Record<(typeof CALLBACK_PLACEHOLDERS)[number], string>;

/** What a tenant that never edited its template gets. */
export const DEFAULT_CALLBACK_TEMPLATE = {
  subject: '【{{branch}}】お電話ありがとうございました',
  body: [
    '{{customerName}} 様',
    '',
    '{{callDate}} {{callTime}} にお電話をいただき、ありがとうございました。',
    'あいにく対応できず失礼いたしました。{{branch}}の{{repName}}でございます。',
    'ご都合のよろしい時間をお知らせいただけましたら、折り返しご連絡いたします。',
  ].join('\n'),
};

/** The placeholders' values for one call, as the user about to call back (or write) sees them. */
export function callbackValues(
  user: Pick<User, 'displayName' | 'branch'>,
  tenantName: string,
  call: { customerName: string | null; customerBranch: string | null; fromNumber: string; startedAt: string },
  timeZone: string,
): CallbackValues {
  const at = new Date(call.startedAt);
  return {
    customerName: call.customerName ?? call.fromNumber,
    repName: user.displayName,
    branch: user.branch ?? call.customerBranch ?? tenantName,
    callDate: new Intl.DateTimeFormat('ja-JP', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at),
    callTime: new Intl.DateTimeFormat('ja-JP', { timeZone, hour: '2-digit', minute: '2-digit', hour12: false }).format(at),
    callerNumber: call.fromNumber,
  };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export function renderCallbackText(text: string, values: CallbackValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    (CALLBACK_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as keyof CallbackValues] : whole,
  );
}

function assertKnownPlaceholders(text: string, field: string): void {
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(CALLBACK_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new HttpError('invalid_input', `${field}: unknown placeholder {{${name}}}; use ${CALLBACK_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`);
    }
  }
}

export async function callbackTemplate(db: Kysely<Database>, tenantId: string): Promise<CallbackTemplateResponse> {
  const row = await branchCallsDb(db).selectFrom('callback_templates').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return {
    subject: row?.subject ?? DEFAULT_CALLBACK_TEMPLATE.subject,
    body: row?.body ?? DEFAULT_CALLBACK_TEMPLATE.body,
    placeholders: [...CALLBACK_PLACEHOLDERS],
    updatedAt: row?.updated_at ?? null,
  };
}

/** PUT /api/branch-calls/template: admins only; an unknown placeholder is refused, naming the field. */
export async function saveCallbackTemplate(handle: DatabaseHandle, user: User, input: CallbackTemplateInput): Promise<CallbackTemplateResponse> {
  if (!mayEditCallbackTemplate(user)) throw new HttpError('forbidden', 'only admins edit the callback text template');
  assertKnownPlaceholders(input.subject, 'body.subject');
  assertKnownPlaceholders(input.body, 'body.body');
  const now = new Date().toISOString();
  await handle.db.transaction().execute(async (trx) => {
    await branchCallsDb(trx)
      .insertInto('callback_templates')
      .values({ tenant_id: user.tenantId, subject: input.subject, body: input.body, updated_by: user.id, updated_at: now })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ subject: input.subject, body: input.body, updated_by: user.id, updated_at: now }))
      .execute();
    await recordAudit(trx, { tenantId: user.tenantId, userId: user.id, action: 'callback_template_changed', details: { subjectLength: input.subject.length, bodyLength: input.body.length } });
  });
  return callbackTemplate(handle.db, user.tenantId);
}
