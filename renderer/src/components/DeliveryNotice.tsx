import { useEffect } from 'react';
import { useDeliveryStore } from '../stores/delivery.js';
import { useSyncStore } from '../stores/sync.js';

/** How long "sent" stays on screen before the confirmation clears itself. */
export const SENT_NOTICE_MS = 4000;

export type DeliveryPhase = 'sending' | 'waiting' | 'sent' | 'rejected';

interface DeliveryNoticeProps {
  /** Client id of the saved outbox entry. */
  clientId: string;
  message(phase: DeliveryPhase, error: string | null): string;
  /** The confirmation has said all it had to ("sent" was shown long enough). */
  onDone(): void;
}

/**
 * The confirmation after saving through the outbox, true at every moment: "sending" while
 * online and not yet answered, "waiting to send" while offline, then "sent" (which clears
 * itself) or the backend's refusal (which stays until the operator moves on).
 */
export function DeliveryNotice({ clientId, message, onDone }: DeliveryNoticeProps) {
  const delivered = useDeliveryStore((s) => s.outcomes[clientId]);
  const online = useSyncStore((s) => s.status?.online ?? false);
  const phase: DeliveryPhase = delivered ? delivered.outcome : online ? 'sending' : 'waiting';

  useEffect(() => {
    if (phase !== 'sent') return;
    const timer = setTimeout(onDone, SENT_NOTICE_MS);
    return () => clearTimeout(timer);
  }, [phase, onDone]);

  return (
    <span data-testid="delivery-notice" data-phase={phase} className={phase === 'rejected' ? 'error' : undefined}>
      {message(phase, delivered?.outcome === 'rejected' ? delivered.error : null)}
    </span>
  );
}
