import type { TsunaguBridge } from '../../../shared/ipc.js';
import { onFreeForMail } from './availability.js';
import { useMailDeskStore } from './stores/desk.js';
import { useMatchingStore } from './stores/matching.js';
import { useReturnedRepliesStore } from './stores/returned.js';
import { useReviewStore } from './stores/review.js';

/**
 * Wires the mail channel's pushes into its stores: a queue change, or the operator coming free
 * from the phone, asks for the next mail (the desk decides whether this operator may take one);
 * a supervisor summary refreshes the live view and, when its counts moved, the review queue;
 * the drafts kept on this computer are shown as they change. Returns the unsubscribe.
 */
export function connectMailEvents(bridge: TsunaguBridge): () => void {
  const offQueue = bridge.on('mail:queue', () => {
    void useMailDeskStore.getState().askNext();
    if (useReturnedRepliesStore.getState().phase !== 'idle') void useReturnedRepliesStore.getState().load();
    if (useMatchingStore.getState().phase !== 'idle') void useMatchingStore.getState().load();
  });
  const offSummary = bridge.on('supervisor:summary', (summary) => useReviewStore.getState().applySummary(summary));
  const offDrafts = bridge.on('mail:localDrafts', ({ drafts }) => useMailDeskStore.getState().applyLocalDrafts(drafts));
  // The backend is back: whatever was refused as offline may work now.
  const offStatus = bridge.on('sync:status', (status) => {
    const desk = useMailDeskStore.getState();
    if (status.online && (desk.phase === 'error' || desk.phase === 'idle')) void desk.askNext();
  });
  // A call ended or after-call work is over: the operator can take mail again.
  const offFree = onFreeForMail(() => void useMailDeskStore.getState().askNext());
  return () => {
    offFree();
    offQueue();
    offSummary();
    offDrafts();
    offStatus();
  };
}
