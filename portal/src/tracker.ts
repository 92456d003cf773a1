import { PORTAL_EVENTS_PER_BATCH, type PortalEvent, type WebEventKind } from '../../shared/portal.js';
import { portalApi, PortalApiError } from './api.js';

/**
 * Web activity, sent in batches with client ids: a batch that failed on the way is sent again
 * as it was, and the backend applies each id once. Flushed a few seconds after the first event,
 * when the page is hidden, and at sign-out.
 */
const FLUSH_AFTER_MS = 3000;
/** Kept while offline; past it the oldest are let go rather than growing without bound. */
const MAX_PENDING = 200;

let pending: PortalEvent[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;
let sending: Promise<void> | null = null;

export function track(kind: WebEventKind, pageId: string, detail: { target?: string; positionSeconds?: number } = {}): void {
  pending.push({
    clientId: crypto.randomUUID(),
    kind,
    pageId,
    occurredAt: new Date().toISOString(),
    target: detail.target?.slice(0, 500) ?? null,
    positionSeconds: detail.positionSeconds ?? null,
  });
  if (pending.length > MAX_PENDING) pending = pending.slice(-MAX_PENDING);
  timer ??= setTimeout(() => void flushActivity(), FLUSH_AFTER_MS);
}

export async function flushActivity(): Promise<void> {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (sending) await sending;
  if (pending.length === 0) return;
  const batch = pending.slice(0, PORTAL_EVENTS_PER_BATCH);
  sending = portalApi
    .sendEvents(batch)
    .then(() => {
      pending = pending.filter((event) => !batch.includes(event));
    })
    .catch((error: unknown) => {
      // Refused as malformed: sending it again would never help. Anything else is tried later.
      if (error instanceof PortalApiError && error.status === 400) pending = pending.filter((event) => !batch.includes(event));
      else timer ??= setTimeout(() => void flushActivity(), FLUSH_AFTER_MS * 5);
    })
    .finally(() => {
      sending = null;
    });
  await sending;
  if (pending.length > 0 && timer === null) timer = setTimeout(() => void flushActivity(), FLUSH_AFTER_MS);
}

export function installActivityFlush(): void {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void flushActivity();
  });
}
