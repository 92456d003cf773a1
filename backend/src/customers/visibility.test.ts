import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Classification, type UserRights } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { createTenant } from '../testing/fixtures.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../testing/harness.js';
import { visibleCustomerSql } from './visibility.js';

const CLASSES: Classification[] = [1, 2, 3];
const BRANCHES = [null, 'tokyo', 'osaka'];

describe.each(DIALECTS)('visibleCustomerSql on %s', (dialect) => {
  let database: TestDatabase;
  let tenantId: string;
  const customers: { id: string; classification: Classification; branch: string | null }[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    tenantId = (await createTenant(database.handle, { slug: 'rules' })).id;
    const now = new Date().toISOString();
    for (const classification of CLASSES) {
      for (const branch of BRANCHES) {
        const id = `c-${classification}-${branch ?? 'none'}`;
        customers.push({ id, classification, branch });
        await database.handle.db
          .insertInto('customers')
          .values({ id, tenant_id: tenantId, code: id, name: id, name_kana: '', postal_code: '', address: '', branch, classification, type: 'existing', created_at: now, updated_at: now })
          .execute();
      }
    }
  });
  afterAll(() => database?.dispose());

  it('agrees with maySeeCustomer for every role, branch, authority and customer', async () => {
    let combinations = 0;
    for (const role of ROLES) {
      for (const branch of BRANCHES) {
        for (const customerLimitAuthority of CLASSES) {
          const rights: UserRights = { role, branch, customerLimitAuthority, mayHandleUnregisteredCallers: false };
          const rows = await database.handle.db
            .selectFrom('customers as c')
            .select('c.id')
            .where('c.tenant_id', '=', tenantId)
            .where(visibleCustomerSql(rights, 'c'))
            .execute();
          const expected = customers.filter((customer) => maySeeCustomer(rights, customer)).map((customer) => customer.id);
          expect(rows.map((row) => row.id).sort(), JSON.stringify(rights)).toEqual(expected.sort());
          combinations += customers.length;
        }
      }
    }
    expect(combinations).toBe(ROLES.length * BRANCHES.length * CLASSES.length * customers.length);
  });
});
