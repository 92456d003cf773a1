import { useTranslation } from 'react-i18next';
import type { SyncStatus } from '../../../shared/ipc.js';
import { useSyncStore } from '../stores/sync.js';

/**
 * One sentence across the window when the local cache itself is in trouble: damaged and being
 * rebuilt from the server, its folder read-only, or its disk full. It says what still works
 * and what to do; the status carries it for as long as it holds.
 */
export function CacheProblemBanner() {
  const { t } = useTranslation();
  const problem = useSyncStore((s) => s.status?.cacheProblem ?? null);
  const lostOutbox = useSyncStore((s) => s.status?.lostOutbox ?? 0);
  if (!problem) return null;
  return (
    <section className="offline-banner cache-problem" role="alert" data-testid="cache-problem" data-problem={problem}>
      <span>{t(messageKey(problem, lostOutbox), { count: lostOutbox })}</span>
    </section>
  );
}

type CacheProblem = NonNullable<SyncStatus['cacheProblem']>;

function messageKey(problem: CacheProblem, lostOutbox: number): `sync.cacheProblem.${CacheProblem | 'rebuilt_corrupt_lost'}` {
  if (problem === 'rebuilt_corrupt' && lostOutbox > 0) return 'sync.cacheProblem.rebuilt_corrupt_lost';
  return `sync.cacheProblem.${problem}`;
}
