/**
 * The "who is calling" notification for an operator whose window is not in front. Clicking
 * it brings the window up and answers. Every failure is swallowed: a missing permission or
 * an unsupported platform must never cost a call.
 */

const open = new Map<string, Notification>();

function supported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
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

export function notifyIncomingCall(callId: string, title: string, body: string, onAnswer: () => void): void {
  if (!supported() || Notification.permission !== 'granted' || document.hasFocus()) return;
  try {
    const notification = new Notification(title, { body, tag: `call-${callId}`, requireInteraction: true });
    notification.onclick = () => {
      window.focus();
      notification.close();
      onAnswer();
    };
    open.set(callId, notification);
  } catch (error) {
    console.warn('could not show the call notification', error);
  }
}

export function closeCallNotification(callId: string): void {
  open.get(callId)?.close();
  open.delete(callId);
}
