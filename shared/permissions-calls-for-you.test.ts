import { describe, expect, it } from 'vitest';
import type { UserRights } from './domain.js';
import { callInScope, mayEditCallbackTemplate, mayHandleCallsForYou, mayHoldBranchCall, mayListCallsForYou, maySeeCallFrom, type CallScopeFacts } from './permissions.js';

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

  it('puts a call in the scopes the server lists it in, and nowhere else', () => {
    const me = { ...rep, id: 'rep-1' };
    const other = { id: 'rep-2', branch: '渋谷支店' };
    const away = { id: 'rep-9', branch: '池袋支店' };
    const customer = (classification: 1 | 2 | 3, branch: string | null, assignedRep: string | null) => ({
      classification,
      branch,
      assignedRep: assignedRep === null ? null : { id: assignedRep },
    });
    const cases: [string, CallScopeFacts, string[]][] = [
      ['rang me, my branch', { customer: customer(2, '渋谷支店', null), receivedBy: [{ id: me.id, branch: me.branch }] }, ['mine', 'branch']],
      ['my customer, rang elsewhere', { customer: customer(3, '渋谷支店', me.id), receivedBy: [away] }, ['mine', 'branch']],
      ["a colleague's customer", { customer: customer(2, '渋谷支店', other.id), receivedBy: [other] }, ['branch']],
      ['above my authority', { customer: customer(1, '渋谷支店', me.id), receivedBy: [{ id: me.id, branch: me.branch }] }, []],
      ['another branch, rang me', { customer: customer(3, '池袋支店', null), receivedBy: [{ id: me.id, branch: me.branch }] }, []],
      ['unknown caller, rang the branch', { customer: null, receivedBy: [other] }, []],
    ];
    for (const [what, call, scopes] of cases) {
      expect(['mine', 'branch', 'all', 'unregistered'].filter((scope) => callInScope(me, scope as never, call)), what).toEqual(scopes);
      expect(mayHoldBranchCall(me, call), what).toBe(scopes.length > 0);
    }
    const wide = { ...me, callsAllBranches: true };
    expect(callInScope(wide, 'all', cases[4]![1]), 'every branch with the right').toBe(true);
    expect(callInScope(wide, 'all', cases[3]![1]), 'never above the authority').toBe(false);
    const unreg = { ...me, mayHandleUnregisteredCallers: true };
    expect(callInScope(unreg, 'unregistered', cases[5]![1])).toBe(true);
    expect(callInScope(unreg, 'unregistered', { customer: null, receivedBy: [away] }), "another branch's unknown caller").toBe(false);
    expect(callInScope({ ...unreg, branch: null }, 'unregistered', { customer: null, receivedBy: [away] }), 'whole-tenant user').toBe(true);
  });
});
