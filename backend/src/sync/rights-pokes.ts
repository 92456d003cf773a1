import type { ChangeFeed } from './feed.js';

type RightsListener = (seq: number) => void;

/**
 * The rights pokes of one backend instance's event streams, by user. One feed subscription per
 * tenant dispatches them, rather than one per stream: every note of a tenant with a thousand
 * streams open called a thousand listeners that each found the poke was not a rights poke of
 * their user (bench:agents: about 100,000 calls a second for nothing).
 */
export class RightsPokes {
  readonly #tenants = new Map<string, { byUser: Map<string, Set<RightsListener>>; unsubscribe: () => void }>();

  constructor(private readonly feed: ChangeFeed) {}

  /**
   * Calls `listener` with the change-log position whenever `userId`'s rights change, until the
   * returned function is called. Listening starts before this returns.
   */
  subscribe(tenantId: string, userId: string, listener: RightsListener): () => void {
    let tenant = this.#tenants.get(tenantId);
    if (!tenant) {
      const byUser = new Map<string, Set<RightsListener>>();
      const unsubscribe = this.feed.subscribe(tenantId, (seq, rightsOf) => {
        if (rightsOf === undefined) return;
        for (const each of [...(byUser.get(rightsOf) ?? [])]) each(seq);
      });
      tenant = { byUser, unsubscribe };
      this.#tenants.set(tenantId, tenant);
    }
    const joined = tenant;
    let listeners = joined.byUser.get(userId);
    if (!listeners) {
      listeners = new Set();
      joined.byUser.set(userId, listeners);
    }
    const mine = listeners;
    mine.add(listener);
    return () => {
      mine.delete(listener);
      if (mine.size === 0 && joined.byUser.get(userId) === mine) joined.byUser.delete(userId);
      if (joined.byUser.size === 0 && this.#tenants.get(tenantId) === joined) {
        joined.unsubscribe();
        this.#tenants.delete(tenantId);
      }
    };
  }
}
