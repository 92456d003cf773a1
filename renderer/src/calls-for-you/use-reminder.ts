import { useEffect } from 'react';
import { i18n } from '../i18n/index.js';
import { useWorkAreaStore } from '../mail/stores/work-area.js';
import { askNotificationPermission } from '../phone/notifications.js';
import { notifyUnhandledCalls, startReminder } from './reminder.js';
import { useCallsForYouStore } from './store.js';

/**
 * The signed-in window's daily reminder of unhandled calls (and the one at login). Started once
 * per sign-in: texts are looked up when shown, so a language switch does not restart it.
 */
export function useCallsForYouReminder(): void {
  useEffect(() => {
    // A rep without a phone in the app never starts it, where the permission is otherwise asked.
    askNotificationPermission();
    const reminder = startReminder({
      unhandled: () => useCallsForYouStore.getState().counts?.unhandled ?? null,
      notify: (count) =>
        notifyUnhandledCalls(i18n.t('callsForYou.notification.title'), i18n.t('callsForYou.notification.body', { count }), () =>
          useWorkAreaStore.getState().show('callsForYou'),
        ),
    });
    const off = useCallsForYouStore.subscribe((state, previous) => {
      if (state.counts !== previous.counts) reminder.check();
    });
    return () => {
      off();
      reminder.stop();
    };
  }, []);
}
