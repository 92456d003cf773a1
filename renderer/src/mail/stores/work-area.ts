import { create } from 'zustand';
import type { User } from '../../../../shared/domain.js';
import { mayManageExchange } from '../../../../shared/permissions.js';

export const WORK_AREAS = ['customers', 'history', 'callsForYou', 'mail', 'returned', 'review', 'failed', 'live', 'audit', 'reports', 'exchange', 'portal', 'admin'] as const;
export type WorkArea = (typeof WORK_AREAS)[number];

/** Review, failed replies, the live view, the audit log, reports and the admin console (its supervisor part) are for supervisors and admins. */
export const SUPERVISOR_AREAS: readonly WorkArea[] = ['review', 'failed', 'live', 'audit', 'reports', 'admin'];

export function mayReview(user: Pick<User, 'role'> | undefined): boolean {
  return user?.role === 'supervisor' || user?.role === 'admin';
}

/** Admins only: the PII-stripped exchange (mayManageExchange) and the customer portal's content (the backend enforces both). */
export const ADMIN_AREAS: readonly WorkArea[] = ['exchange', 'portal'];

export function areasFor(user: Pick<User, 'role'> | undefined): WorkArea[] {
  return WORK_AREAS.filter((area) => {
    if (ADMIN_AREAS.includes(area)) return user !== undefined && mayManageExchange(user);
    return mayReview(user) || !SUPERVISOR_AREAS.includes(area);
  });
}

interface WorkAreaState {
  area: WorkArea;
  show(area: WorkArea): void;
}

export const useWorkAreaStore = create<WorkAreaState>()((set) => ({
  area: 'customers',
  show(area) {
    set({ area });
  },
}));

export function resetWorkAreaStore(): void {
  useWorkAreaStore.setState({ area: 'customers' });
}
