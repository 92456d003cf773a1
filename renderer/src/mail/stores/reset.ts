import { resetMailDeskStore } from './desk.js';
import { resetMatchingStore } from './matching.js';
import { resetReturnedRepliesStore } from './returned.js';
import { resetReviewStore } from './review.js';
import { resetTemplateStore } from './templates.js';
import { resetWorkAreaStore } from './work-area.js';

/** Nothing of one user's mail stays for the next one (sign-out), and tests start fresh. */
export function resetMailStores(): void {
  resetMailDeskStore();
  resetReturnedRepliesStore();
  resetMatchingStore();
  resetReviewStore();
  resetTemplateStore();
  resetWorkAreaStore();
}
