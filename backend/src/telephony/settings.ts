import type { Kysely } from 'kysely';
import { TelephonySettingsUpdate } from '../../../shared/admin.js';
import { DEFAULT_DISPOSITIONS, type TelephonySettings } from '../../../shared/ipc.js';
import { recordAudit } from '../audit.js';
import type { Database } from '../db/schema.js';
import type { TelephonyDatabase } from './schema.js';

export { DEFAULT_DISPOSITIONS };

export const TELEPHONY_DEFAULTS = {
  customerIdHeader: 'X-Customer-Id',
  afterCallWorkSeconds: 120,
  dtmfMode: 'rfc4733',
  ringSeconds: 15,
} as const satisfies Partial<TelephonySettings>;

export { TelephonySettingsUpdate };

export async function loadTelephonySettings(
  db: Kysely<TelephonyDatabase>,
  tenant: { id: string; defaultRegion: string },
): Promise<TelephonySettings> {
  const [row, dispositions] = await Promise.all([
    db.selectFrom('telephony_settings').selectAll().where('tenant_id', '=', tenant.id).executeTakeFirst(),
    db.selectFrom('call_dispositions').select(['code', 'label']).where('tenant_id', '=', tenant.id).orderBy('position').execute(),
  ]);
  return {
    dispositions: dispositions.length > 0 ? dispositions : [...DEFAULT_DISPOSITIONS],
    customerIdHeader: row?.customer_id_header ?? TELEPHONY_DEFAULTS.customerIdHeader,
    afterCallWorkSeconds: row?.after_call_work_seconds ?? TELEPHONY_DEFAULTS.afterCallWorkSeconds,
    dtmfMode: row?.dtmf_mode ?? TELEPHONY_DEFAULTS.dtmfMode,
    ringSeconds: row?.ring_seconds ?? TELEPHONY_DEFAULTS.ringSeconds,
    defaultRegion: tenant.defaultRegion,
  };
}

export async function updateTelephonySettings(
  db: Kysely<TelephonyDatabase>,
  tenantId: string,
  update: TelephonySettingsUpdate,
  adminId: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const now = new Date().toISOString();
    const existing = await trx.selectFrom('telephony_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    const pick = <K extends 'customer_id_header' | 'after_call_work_seconds' | 'dtmf_mode' | 'ring_seconds'>(
      column: K,
      value: TelephonyDatabase['telephony_settings'][K] | undefined,
    ) => (value === undefined ? (existing?.[column] ?? null) : value);
    const values = {
      customer_id_header: pick('customer_id_header', update.customerIdHeader),
      after_call_work_seconds: pick('after_call_work_seconds', update.afterCallWorkSeconds),
      dtmf_mode: pick('dtmf_mode', update.dtmfMode),
      ring_seconds: pick('ring_seconds', update.ringSeconds),
      updated_at: now,
    };
    await trx
      .insertInto('telephony_settings')
      .values({ tenant_id: tenantId, ...values })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
      .execute();
    if (update.dispositions !== undefined) {
      await trx.deleteFrom('call_dispositions').where('tenant_id', '=', tenantId).execute();
      if (update.dispositions !== null && update.dispositions.length > 0) {
        await trx
          .insertInto('call_dispositions')
          .values(update.dispositions.map((d, position) => ({ tenant_id: tenantId, code: d.code, label: d.label, position })))
          .execute();
      }
    }
    if (update.defaultRegion !== undefined) {
      await trx.updateTable('tenants').set({ default_region: update.defaultRegion }).where('id', '=', tenantId).execute();
    }
    // Which settings changed, not their old values: the audit viewer shows who touched what.
    await recordAudit(trx as unknown as Kysely<Database>, {
      tenantId,
      userId: adminId,
      action: 'telephony_settings_changed',
      details: { settings: Object.keys(update).filter((key) => update[key as keyof TelephonySettingsUpdate] !== undefined), ...update },
    });
  });
}
