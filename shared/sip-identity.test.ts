import { describe, expect, it } from 'vitest';
import { UserCreate, UserUpdate } from './admin.js';
import { mayAssignSipUser, tenantSipUser } from './sip-identity.js';

describe('SIP users an admin may assign', () => {
  it("takes extensions and the tenant's own namespace, never another tenant's", () => {
    expect(mayAssignSipUser('2001', 'demo')).toBe(true);
    expect(mayAssignSipUser('desk-2001', 'demo')).toBe(true);
    expect(mayAssignSipUser('front.desk.demo', 'demo')).toBe(true);
    expect(mayAssignSipUser('Front.DEMO', 'demo')).toBe(true);
    expect(mayAssignSipUser('agent1.other', 'demo')).toBe(false);
    // A slug that merely ends like ours is another tenant's.
    expect(mayAssignSipUser('agent1.xdemo', 'demo')).toBe(false);
    expect(mayAssignSipUser('.demo', 'demo')).toBe(false);
    expect(mayAssignSipUser('a b', 'demo')).toBe(false);
    // Whatever a login derives to fits its own tenant.
    expect(mayAssignSipUser(tenantSipUser('agent1', 'demo')!, 'demo')).toBe(true);
  });

  it('lower-cases an assigned SIP user and keeps staff fields away from partner users', () => {
    expect(UserUpdate.parse({ sipUser: ' Desk-2001 ' })).toEqual({ sipUser: 'desk-2001' });
    const partner = { login: 'p1', displayName: 'P', password: 'partner-pass-1', role: 'partner', partnerOrg: 'Org' };
    expect(UserCreate.safeParse(partner).success).toBe(true);
    const withBranch = UserCreate.safeParse({ ...partner, branch: null });
    expect(withBranch.success).toBe(false);
    expect(withBranch.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['branch']);
    expect(UserUpdate.safeParse({ role: 'partner' }).error?.issues[0]?.path).toEqual(['role']);
    expect(UserCreate.safeParse({ ...partner, role: 'admin', partnerOrg: undefined, sipUser: '2001' }).error?.issues[0]?.path).toEqual(['sipUser']);
  });
});
