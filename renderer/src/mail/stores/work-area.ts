import { create } from 'zustand';
import type { User } from '../../../../shared/domain.js';

export const WORK_AREAS = ['customers', 'history', 'callsForYou', 'mail', 'returned', 'review', 'failed', 'live', 'audit'] as const;
export type WorkArea = (typeof WORK_AREAS)[number];

/** Review, failed replies, the live view and the audit log are for supervisors and admins. */
export const SUPERVISOR_AREAS: readonly WorkArea[] = ['review', 'failed', 'live', 'audit'];

export function mayReview(user: Pick<User, 'role'> | undefined): boolean {
  return user?.role === 'supervisor' || user?.role === 'admin';
}

export function areasFor(user: Pick<User, 'role'> | undefined): WorkArea[] {
  return WORK_AREAS.filter((area) => mayReview(user) || !SUPERVISOR_AREAS.includes(area));
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
