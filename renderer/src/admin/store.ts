import { create } from 'zustand';
import type { AdminUser } from '../../../shared/admin.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';

export const ADMIN_SECTIONS = ['users', 'customers', 'templates', 'mailSettings', 'telephony', 'tenant'] as const;
export type AdminSection = (typeof ADMIN_SECTIONS)[number];

/** Supervisors manage agents' rights and customers' visibility; the rest of the console is for admins (the backend enforces both). */
export const SUPERVISOR_SECTIONS: readonly AdminSection[] = ['users', 'customers'];

export function sectionsFor(role: string | undefined): AdminSection[] {
  if (role === 'admin') return [...ADMIN_SECTIONS];
  if (role === 'supervisor') return [...SUPERVISOR_SECTIONS];
  return [];
}

interface AdminState {
  section: AdminSection;
  users: AdminUser[];
  usersLoaded: boolean;
  loading: boolean;
  error: AppError | null;
  show(section: AdminSection): void;
  loadUsers(): Promise<void>;
  /** Puts a user as the backend answered it into the list (after a create or a change). */
  putUser(user: AdminUser): void;
}

const initial = { section: 'users' as AdminSection, users: [], usersLoaded: false, loading: false, error: null };

export const useAdminStore = create<AdminState>()((set, get) => ({
  ...initial,
  show(section) {
    set({ section });
  },
  async loadUsers() {
    set({ loading: true, error: null });
    const result = await invoke('admin:users', undefined);
    if (result.ok) set({ users: result.value, usersLoaded: true, loading: false });
    else set({ error: result.error, loading: false });
  },
  putUser(user) {
    const others = get().users.filter((u) => u.id !== user.id);
    set({ users: [...others, user].sort((a, b) => a.login.localeCompare(b.login)) });
  },
}));

export function resetAdminStore(): void {
  useAdminStore.setState(initial);
}
