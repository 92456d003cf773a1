import { setUnauthenticatedHandler } from './api.js';
import { isShellBridge } from './bridge.js';
import type { TsunaguBridge } from '../../shared/ipc.js';
import { runHotkey } from './components/phone/PhonePane.js';
import { useCustomerStore } from './stores/customer.js';
import { useOfflineStore } from './offline/store.js';
import { useDeliveryStore } from './stores/delivery.js';
import { refreshAfterPops } from './phone/pop-hold.js';
import { useRefusedCallsStore } from './phone/refused-calls.js';
import { usePhoneStore } from './stores/phone.js';
import { useSessionStore } from './stores/session.js';
import { bringsNewData, useSyncStore } from './stores/sync.js';
import { useCallsForYouStore } from './calls-for-you/store.js';

/**
 * Wires the core's pushes into the stores. Returns the unsubscribe for React's effect cleanup.
 */
export function connectCoreEvents(bridge: TsunaguBridge): () => void {
  // While a call's screen pop is pending, its lookup and card go first (phone/pop-hold.ts): the
  // latest status is applied after the card's first frame, and what it brings is refreshed then.
  const offStatus = bridge.on('sync:status', (status) =>
    refreshAfterPops('sync-status', () => {
      const previous = useSyncStore.getState().status;
      useSyncStore.getState().apply(status);
      if (bringsNewData(previous, status)) {
        refreshAfterPops('customer', () => void useCustomerStore.getState().refresh());
        refreshAfterPops('calls-for-you', () => void useCallsForYouStore.getState().refresh());
      }
    }),
  );
  const offDelivered = bridge.on('outbox:delivered', (delivery) => {
    useDeliveryStore.getState().record(delivery);
    useOfflineStore.getState().delivered(delivery);
  });
  const offExpired = bridge.on('session:expired', () => useSessionStore.getState().expire());
  // Electron shell only: powerMonitor's wake-up and the system-wide phone hotkeys.
  const offResumed = bridge.on('system:resumed', () => usePhoneStore.getState().recoverConnection());
  const offShortcut = bridge.on('system:shortcut', ({ action }) => runHotkey(action));
  const offAgentStatus = bridge.on('agent:status', (state) => {
    const previous = usePhoneStore.getState().statusSync;
    usePhoneStore.getState().statusSynced(state);
    useOfflineStore.getState().agentStatus(previous, state);
  });
  const offRefusedCalls = bridge.on('calls:refused', ({ refused }) => useRefusedCallsStore.getState().changed(refused));
  setUnauthenticatedHandler(() => useSessionStore.getState().expire());

  // After the browser-shell host restarts, ask again: the session may be gone (memory-only
  // token) and the sync status certainly changed while the socket was down.
  let openedBefore = isShellBridge(bridge) && bridge.connectionState === 'open';
  let connected = openedBefore;
  const offConnection = isShellBridge(bridge)
    ? bridge.onConnectionChange((state) => {
        if (state === 'open' && openedBefore && !connected) void reloadAfterReconnect();
        if (state === 'open') openedBefore = true;
        connected = state === 'open';
      })
    : () => undefined;

  return () => {
    offStatus();
    offDelivered();
    offExpired();
    offResumed();
    offShortcut();
    offAgentStatus();
    offRefusedCalls();
    offConnection();
    setUnauthenticatedHandler(null);
  };
}

async function reloadAfterReconnect(): Promise<void> {
  await useSessionStore.getState().load();
  if (useSessionStore.getState().phase === 'signedIn') await useSyncStore.getState().load();
}
