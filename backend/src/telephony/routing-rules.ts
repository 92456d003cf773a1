import type { Kysely } from 'kysely';
import type { CustomerType } from '../../../shared/domain.js';
import type { RoutingRules } from '../../../shared/routing-rules.js';
import { recordAudit } from '../audit.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { telephonyDb } from './schema.js';

/** Rows or ids per statement: SQLite caps the bound parameters of one statement. */
const MEMBER_INSERT_SLICE = 500;

/** The user ids of the group a tenant's rule names for this customer type (empty without a rule). */
export async function ruleGroupMembers(db: Kysely<Database>, tenantId: string, customerType: CustomerType): Promise<Set<string>> {
  const rows = await telephonyDb(db)
    .selectFrom('routing_rules as r')
    .innerJoin('routing_group_members as m', (join) => join.onRef('m.tenant_id', '=', 'r.tenant_id').onRef('m.group_name', '=', 'r.group_name'))
    .select('m.user_id')
    .where('r.tenant_id', '=', tenantId)
    .where('r.customer_type', '=', customerType)
    .execute();
  return new Set(rows.map((row) => row.user_id));
}

export async function loadRoutingRules(db: Kysely<Database>, tenantId: string): Promise<RoutingRules> {
  const tdb = telephonyDb(db);
  const [groups, members, rules] = await Promise.all([
    tdb.selectFrom('routing_groups').select('name').where('tenant_id', '=', tenantId).orderBy('name').execute(),
    tdb.selectFrom('routing_group_members').select(['group_name', 'user_id']).where('tenant_id', '=', tenantId).orderBy('user_id').execute(),
    tdb.selectFrom('routing_rules').select(['customer_type', 'group_name']).where('tenant_id', '=', tenantId).orderBy('customer_type').execute(),
  ]);
  return {
    groups: groups.map((group) => ({
      name: group.name,
      members: members.filter((member) => member.group_name === group.name).map((member) => member.user_id),
    })),
    rules: rules.map((rule) => ({ customerType: rule.customer_type, group: rule.group_name })),
  };
}

/**
 * Replaces the tenant's groups and rules in one transaction, audited with the old and the new
 * set. Members must be users of this tenant (a 400 names the first that is not).
 */
export async function saveRoutingRules(db: Kysely<Database>, tenantId: string, adminId: string, next: RoutingRules): Promise<RoutingRules> {
  const memberIds = [...new Set(next.groups.flatMap((group) => group.members))];
  const known = new Set<string>();
  for (let i = 0; i < memberIds.length; i += MEMBER_INSERT_SLICE) {
    const slice = memberIds.slice(i, i + MEMBER_INSERT_SLICE);
    const rows = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', 'in', slice).execute();
    for (const row of rows) known.add(row.id);
  }
  next.groups.forEach((group, g) =>
    group.members.forEach((member, m) => {
      if (!known.has(member)) throw new HttpError('invalid_input', `body.groups.${g}.members.${m}: no user of this tenant`);
    }),
  );
  const before = await loadRoutingRules(db, tenantId);
  await db.transaction().execute(async (trx) => {
    const tdb = telephonyDb(trx);
    await tdb.deleteFrom('routing_rules').where('tenant_id', '=', tenantId).execute();
    await tdb.deleteFrom('routing_group_members').where('tenant_id', '=', tenantId).execute();
    await tdb.deleteFrom('routing_groups').where('tenant_id', '=', tenantId).execute();
    if (next.groups.length > 0) {
      await tdb.insertInto('routing_groups').values(next.groups.map((group) => ({ tenant_id: tenantId, name: group.name }))).execute();
    }
    const members = next.groups.flatMap((group) => group.members.map((userId) => ({ tenant_id: tenantId, group_name: group.name, user_id: userId })));
    for (let i = 0; i < members.length; i += MEMBER_INSERT_SLICE) {
      await tdb.insertInto('routing_group_members').values(members.slice(i, i + MEMBER_INSERT_SLICE)).execute();
    }
    if (next.rules.length > 0) {
      await tdb
        .insertInto('routing_rules')
        .values(next.rules.map((rule) => ({ tenant_id: tenantId, customer_type: rule.customerType, group_name: rule.group })))
        .execute();
    }
    await recordAudit(trx, { tenantId, userId: adminId, action: 'routing_rules_changed', details: { before, after: next } });
  });
  return loadRoutingRules(db, tenantId);
}
