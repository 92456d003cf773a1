import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import { installBridge } from '../api.js';
import '../i18n/index.js';
import { resetAllStores } from '../stores/index.js';
import { useSessionStore } from '../stores/session.js';
import { AGENT, SMITH, YAMADA, YAMAMOTO } from './fixtures.js';
import { MemoryBridge } from './memory-bridge.js';

/** Every renderer test file calls this once: unmount, forget remembered choices, fresh stores. */
export function registerRendererCleanup(): void {
  afterEach(() => {
    cleanup();
    localStorage.clear();
    resetAllStores();
  });
}

export function installMemoryBridge(): MemoryBridge {
  const bridge = new MemoryBridge({ accounts: [AGENT], customers: [YAMADA, YAMAMOTO, SMITH] });
  installBridge(bridge);
  return bridge;
}

/** A bridge with the agent already signed in, as after a successful login. */
export function installSignedInBridge(): MemoryBridge {
  const bridge = installMemoryBridge();
  bridge.session = AGENT.session;
  bridge.status = { ...bridge.status, phase: 'idle', online: true, lastSyncedAt: '2024-05-01T00:00:00Z', cachedCustomers: 3 };
  useSessionStore.setState({ phase: 'signedIn', session: AGENT.session });
  return bridge;
}
