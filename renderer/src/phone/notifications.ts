/**
 * Desktop notifications for an operator whose window is not in front: "who is calling"
 * (clicking it brings the window up and answers) and "missed call" (clicking it opens the call
 * history). Every failure is swallowed: a missing permission or an unsupported platform must
 * never cost a call.
 */

const open = new Map<string, Notification>();
/**
 * The missed-call notification on screen, one at a time like the in-app notice (the latest missed
 * call). Important: each stays until clicked or closed, and the page keeps a shown notification
 * and its click handler alive until then: one per missed call piled up, in the OS's notification
 * centre and in the renderer, for as long as the operator was away from the window.
 */
let missedShown: Notification | null = null;

function supported(): boolean {
  return typeof window !== 'undefined' && typeof window.Notification === 'function';
}

/** Asks once, at phone start; the browser remembers the answer. */
export function askNotificationPermission(): void {
  if (!supported() || Notification.permission !== 'default') return;
  try {
    void Notification.requestPermission().catch(() => undefined);
  } catch {
    // Older signature or refused in this context: no notifications then.
  }
}

function show(tag: string, title: string, body: string, requireInteraction: boolean, onClick: () => void): Notification | null {
  // Focus first: reading the permission is a synchronous round trip to the browser process.
  if (!supported() || document.hasFocus() || Notification.permission !== 'granted') return null;
  try {
    const notification = new Notification(title, { body, tag, requireInteraction });
    notification.onclick = () => {
      window.focus();
      notification.close();
      onClick();
    };
    return notification;
  } catch (error) {
    console.warn('could not show a desktop notification', error);
    return null;
  }
}

export function notifyIncomingCall(callId: string, title: string, body: string, onAnswer: () => void): void {
  const notification = show(`call-${callId}`, title, body, true, onAnswer);
  if (notification) open.set(callId, notification);
}

/** Stays until clicked or closed, like the in-app notice: a missed call wants a callback. */
export function notifyMissedCall(callId: string, title: string, body: string, onOpenHistory: () => void): void {
  closeMissedCallNotification();
  missedShown = show(`missed-${callId}`, title, body, true, onOpenHistory);
}

/** The operator saw the missed calls (a newer one, or the history opened): the notification goes. */
export function closeMissedCallNotification(): void {
  missedShown?.close();
  missedShown = null;
}

export function closeCallNotification(callId: string): void {
  open.get(callId)?.close();
  open.delete(callId);
}
