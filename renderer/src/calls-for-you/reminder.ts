/**
 * The daily reminder of unhandled calls: an OS notification once a day at a time the user
 * chooses (kept in this window's localStorage, like the language), and once at login. The
 * clock is checked every minute; a day whose reminder was shown is remembered, so a reload
 * does not show it twice.
 */

const TIME_KEY = 'tsunagu.callsForYou.reminderTime';
const SHOWN_KEY = 'tsunagu.callsForYou.reminderShownOn';
export const DEFAULT_REMINDER_TIME = '09:00';
const TIME_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;

export function reminderTime(): string {
  const stored = globalThis.localStorage?.getItem(TIME_KEY) ?? null;
  return stored !== null && TIME_PATTERN.test(stored) ? stored : DEFAULT_REMINDER_TIME;
}

export function setReminderTime(time: string): boolean {
  if (!TIME_PATTERN.test(time)) return false;
  globalThis.localStorage?.setItem(TIME_KEY, time);
  return true;
}

function localDate(now: Date): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

/** Whether the daily reminder is due now: past today's time and not yet shown today. */
export function reminderDue(now: Date, time = reminderTime()): boolean {
  const [hours, minutes] = time.split(':').map(Number);
  const dueAt = new Date(now);
  dueAt.setHours(hours ?? 9, minutes ?? 0, 0, 0);
  return now >= dueAt && globalThis.localStorage?.getItem(SHOWN_KEY) !== localDate(now);
}

export function markReminderShown(now: Date): void {
  globalThis.localStorage?.setItem(SHOWN_KEY, localDate(now));
}

/**
 * Shows the OS notification (whether or not the window is in front: it is a reminder, not a
 * call). Swallows every failure, like the phone's notifications.
 */
export function notifyUnhandledCalls(title: string, body: string, onOpen: () => void): boolean {
  if (typeof window === 'undefined' || typeof window.Notification !== 'function' || Notification.permission !== 'granted') return false;
  try {
    const notification = new Notification(title, { body, tag: 'calls-for-you-reminder' });
    notification.onclick = () => {
      window.focus();
      notification.close();
      onOpen();
    };
    return true;
  } catch (error) {
    console.warn('could not show the unhandled calls reminder', error);
    return false;
  }
}

/**
 * Runs the reminder for the signed-in window: at login (the first count known) when there are
 * unhandled calls, then daily at the chosen time. `unhandled` reads the current count (null:
 * not loaded yet); call `check` when it changes. Stop it at sign-out.
 */
export function startReminder(options: { unhandled: () => number | null; notify: (count: number) => void; now?: () => Date; everyMs?: number }): { check(): void; stop(): void } {
  const now = options.now ?? (() => new Date());
  let loginShown = false;
  const check = () => {
    const count = options.unhandled();
    if (count === null) return;
    if (!loginShown) {
      loginShown = true;
      if (count > 0) options.notify(count);
      return;
    }
    if (count > 0 && reminderDue(now())) {
      markReminderShown(now());
      options.notify(count);
    }
  };
  const timer = setInterval(check, options.everyMs ?? 60_000);
  return { check, stop: () => clearInterval(timer) };
}
