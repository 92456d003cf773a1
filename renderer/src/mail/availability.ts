import { isLive } from '../phone/call-machine.js';
import { usePhoneStore } from '../stores/phone.js';

/**
 * Whether the app should ask for mail on its own right now: the operator's status is
 * `available` and no call is ringing or in progress. The backend decides with the status it
 * holds as well (and answers `not_available`), so this only keeps the app from asking in vain
 * and from putting a mail in front of someone on the phone.
 */
export function mayTakeMailNow(): boolean {
  const { status, calls } = usePhoneStore.getState();
  return status === 'available' && !calls.some(isLive);
}

/** Calls `listener` each time the operator becomes free for mail (a call ended, after-call work is over). */
export function onFreeForMail(listener: () => void): () => void {
  let free = mayTakeMailNow();
  return usePhoneStore.subscribe(() => {
    const now = mayTakeMailNow();
    if (now && !free) listener();
    free = now;
  });
}
