export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Capped at 5 s: after an outage the app is back within seconds of the backend (issue 13 item 5). */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 5_000 };

/**
 * Delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that many apps losing the same backend do not come back in step.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
