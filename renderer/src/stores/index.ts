import { resetCustomerStore } from './customer.js';
import { resetSearchStore } from './search.js';
import { resetSessionStore } from './session.js';
import { resetSyncStore } from './sync.js';
import { resetUiStore } from './ui.js';

/** A fresh window's state, for tests. */
export function resetAllStores(): void {
  resetSessionStore();
  resetSyncStore();
  resetSearchStore();
  resetCustomerStore();
  resetUiStore();
}
