import { describe, expect, it } from 'vitest';
import type { UserRights } from './domain.js';
import { mayEditCallbackTemplate, mayHandleCallsForYou, mayListCallsForYou, maySeeCallFrom } from './permissions.js';

const rep: UserRights = { role: 'agent', branch: '渋谷支店', customerLimitAuthority: 2, mayHandleUnregisteredCallers: false };

describe('the rules of calls for you', () => {
  it('lists every branch only with the right, and unregistered callers only for those who may create customers', () => {
    expect(['mine', 'branch', 'all', 'unregistered'].filter((scope) => mayListCallsForYou(rep, scope as never))).toEqual(['mine', 'branch']);
    expect(mayListCallsForYou({ ...rep, callsAllBranches: true }, 'all')).toBe(true);
    expect(mayListCallsForYou({ ...rep, mayHandleUnregisteredCallers: true }, 'unregistered')).toBe(true);
    expect(mayListCallsForYou({ ...rep, role: 'admin' }, 'all')).toBe(true);
  });

  it('never shows a call from a customer above the authority, whatever the branch right', () => {
    const cases: [UserRights, { classification: 1 | 2 | 3; branch: string | null }, boolean][] = [
      [rep, { classification: 2, branch: '渋谷支店' }, true],
      [rep, { classification: 1, branch: '渋谷支店' }, false],
      [rep, { classification: 3, branch: '池袋支店' }, false],
      [{ ...rep, callsAllBranches: true }, { classification: 3, branch: '池袋支店' }, true],
      [{ ...rep, callsAllBranches: true }, { classification: 1, branch: '池袋支店' }, false],
      [{ ...rep, role: 'admin' }, { classification: 1, branch: null }, true],
    ];
    for (const [user, customer, expected] of cases) expect(maySeeCallFrom(user, customer), JSON.stringify([user, customer])).toBe(expected);
  });

  it('keeps view-only users from handling, and the template with admins', () => {
    expect(mayHandleCallsForYou(rep)).toBe(true);
    expect(mayHandleCallsForYou({ ...rep, callsViewOnly: true })).toBe(false);
    expect(mayEditCallbackTemplate(rep)).toBe(false);
    expect(mayEditCallbackTemplate({ ...rep, role: 'supervisor' })).toBe(false);
    expect(mayEditCallbackTemplate({ ...rep, role: 'admin' })).toBe(true);
  });
});
