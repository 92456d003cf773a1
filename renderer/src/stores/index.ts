import { resetCallbackWorklistStore } from '../callbacks/store.js';
import { resetCallsForYouStore } from '../calls-for-you/store.js';
import { resetCallHistoryStore } from '../history/store.js';
import { resetAudioStore } from '../phone/audio-devices.js';
import { resetHotkeyStore } from '../phone/hotkeys.js';
import { resetCustomerStore } from './customer.js';
import { resetDeliveryStore } from './delivery.js';
import { resetPhoneStore } from './phone.js';
import { resetScreenPopStore } from './screen-pop.js';
import { resetSearchStore } from './search.js';
import { resetSessionStore } from './session.js';
import { resetSyncStore } from './sync.js';
import { resetUiStore } from './ui.js';
import { resetWrapUpStore } from './wrap-up.js';
import { resetOfflineStore } from '../offline/store.js';
import { resetExchangeStore } from '../exchange/store.js';
import { resetAuditStore } from '../audit/store.js';
import { resetCallMeStore } from '../callme/store.js';
import { resetAdminStore } from '../admin/store.js';

/** A fresh window's state, for tests. */
export function resetAllStores(): void {
  resetSessionStore();
  resetSyncStore();
  resetSearchStore();
  resetCustomerStore();
  resetUiStore();
  resetPhoneStore();
  resetScreenPopStore();
  resetWrapUpStore();
  resetDeliveryStore();
  resetHotkeyStore();
  resetAudioStore();
  resetCallHistoryStore();
  resetCallbackWorklistStore();
  resetCallsForYouStore();
  resetOfflineStore();
  resetExchangeStore();
  resetAuditStore();
  resetCallMeStore();
  resetAdminStore();
}
