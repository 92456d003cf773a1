import { create } from 'zustand';
import type { SessionInfo } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { resetCustomerStore } from './customer.js';
import { resetScreenPopStore } from './screen-pop.js';
import { resetSearchStore } from './search.js';
import { resetSyncStore } from './sync.js';
import { resetWrapUpStore } from './wrap-up.js';
import { resetExchangeStore } from '../exchange/store.js';

export interface Credentials {
  tenant: string;
  login: string;
  password: string;
}

interface SessionState {
  phase: 'checking' | 'signedOut' | 'signedIn';
  session: SessionInfo | null;
  signingIn: boolean;
  loginError: AppError | null;
  /** With a `rate_limited` login error: when (epoch ms) another attempt may succeed. */
  loginRetryAt: number | null;
  /** The core could not say whether anyone is signed in (unreachable, or refused this window). */
  coreError: AppError | null;
  /** Why the user is back at the login screen without having logged out. */
  notice: 'expired' | null;
  load(): Promise<void>;
  login(credentials: Credentials): Promise<boolean>;
  logout(): Promise<void>;
  expire(): void;
}

const initialState = {
  phase: 'checking',
  session: null,
  signingIn: false,
  loginError: null,
  loginRetryAt: null,
  coreError: null,
  notice: null,
} satisfies Partial<SessionState>;

/** Nothing of one user's work may stay on screen for the next one. */
function forgetUserData(): void {
  resetSearchStore();
  resetCustomerStore();
  resetSyncStore();
  // Callers and unsaved wrap-ups belong to this user's session.
  resetScreenPopStore();
  resetWrapUpStore();
  resetExchangeStore();
}

export const useSessionStore = create<SessionState>()((set, get) => ({
  ...initialState,
  async load() {
    const result = await invoke('session:current', undefined);
    const wasSignedIn = get().phase === 'signedIn';
    if (result.ok && result.value) {
      set({ phase: 'signedIn', session: result.value, coreError: null });
      return;
    }
    if (wasSignedIn) {
      get().expire();
      return;
    }
    set({ phase: 'signedOut', session: null, coreError: result.ok ? null : result.error });
  },
  async login(credentials) {
    const missing = !credentials.tenant.trim() || !credentials.login.trim() || !credentials.password;
    if (missing) {
      set({ loginError: { code: 'invalid_input', message: 'tenant, login and password are required' } });
      return false;
    }
    set({ signingIn: true, loginError: null, loginRetryAt: null, coreError: null, notice: null });
    const result = await invoke('session:login', credentials);
    if (!result.ok) {
      const wait = result.error.code === 'rate_limited' ? result.error.retryAfterSeconds : undefined;
      set({ signingIn: false, loginError: result.error, loginRetryAt: wait !== undefined ? Date.now() + wait * 1000 : null });
      return false;
    }
    forgetUserData();
    set({ phase: 'signedIn', session: result.value, signingIn: false, loginError: null });
    return true;
  },
  async logout() {
    await invoke('session:logout', undefined);
    forgetUserData();
    set({ ...initialState, phase: 'signedOut' });
  },
  expire() {
    if (get().phase !== 'signedIn') return;
    forgetUserData();
    set({ ...initialState, phase: 'signedOut', notice: 'expired' });
  },
}));

export function resetSessionStore(): void {
  useSessionStore.setState(initialState);
}
