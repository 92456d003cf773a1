import type { Kysely } from 'kysely';
import type { LoginThrottleConfig, ThrottlePolicy } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';

/** The keys one login attempt is counted under: the account tried and the address it came from. */
export interface ThrottleKeys {
  account: string;
  address: string;
}

/**
 * Keys are built from what the client sent, whether or not the tenant or login exists, so the
 * throttle behaves the same for real and made-up accounts and tells no one which exist.
 */
export function throttleKeys(tenantSlug: string, login: string, address: string): ThrottleKeys {
  return {
    account: `account:${JSON.stringify([tenantSlug.trim().toLowerCase(), login.trim().toLowerCase()])}`,
    address: `address:${address}`,
  };
}

export type Admission = { admitted: true } | { admitted: false; retryAfterSeconds: number; lockedKey: 'account' | 'address' };

/**
 * The wait after the `failures`-th failure of a window: nothing for the free ones, then 1 s,
 * 2 s, 4 s… up to `maxDelaySeconds`, and the whole lock from `lockAfterFailures` on.
 */
export function delayAfterFailures(policy: ThrottlePolicy, failures: number): number {
  if (failures >= policy.lockAfterFailures) return policy.lockSeconds;
  if (failures <= policy.freeFailures) return 0;
  return Math.min(2 ** (failures - policy.freeFailures - 1), policy.maxDelaySeconds);
}

const CLEANUP_INTERVAL_MS = 60_000;

/**
 * The login throttle. Its state lives in the database (`login_throttle`), not in process
 * memory, because several backend instances on PostgreSQL serve one login page: a guesser
 * spreading attempts over instances meets one count.
 *
 * Important: an attempt is counted BEFORE its password is checked, as if it were going to
 * fail, and the delay it would earn is set at once; a correct password then undoes that. So
 * a burst of parallel guesses cannot all slip past the check before the first one has failed:
 * each one reserves its place in the count under the row lock, and those past the free
 * attempts are refused without any argon2 work.
 */
export class LoginThrottle {
  #lastCleanup = 0;

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly config: LoginThrottleConfig,
    private readonly now: () => Date = () => new Date(),
  ) {}

  #policy(kind: keyof ThrottleKeys): ThrottlePolicy {
    return this.config[kind];
  }

  /**
   * Lets the attempt through (and counts it) unless a key is locked; then nothing is counted
   * and the answer says how long to wait.
   */
  async admit(keys: ThrottleKeys): Promise<Admission> {
    const now = this.now();
    const nowIso = now.toISOString();
    return this.handle.db.transaction().execute(async (trx) => {
      // Sorted, so two attempts lock the rows in the same order and never deadlock.
      const kinds = (['account', 'address'] as const).slice().sort((a, b) => keys[a].localeCompare(keys[b]));
      const rows = new Map<keyof ThrottleKeys, { failures: number; window_started_at: string; locked_until: string | null }>();
      for (const kind of kinds) {
        await trx
          .insertInto('login_throttle')
          .values({ key: keys[kind], failures: 0, window_started_at: nowIso, locked_until: null })
          .onConflict((oc) => oc.column('key').doNothing())
          .execute();
        const query = trx.selectFrom('login_throttle').select(['failures', 'window_started_at', 'locked_until']).where('key', '=', keys[kind]);
        rows.set(kind, await (this.handle.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirstOrThrow());
      }
      let refusal: Admission | null = null;
      for (const kind of kinds) {
        const lockedUntil = rows.get(kind)?.locked_until;
        if (lockedUntil && lockedUntil > nowIso) {
          const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(lockedUntil) - now.getTime()) / 1000));
          if (!refusal || (!refusal.admitted && retryAfterSeconds > refusal.retryAfterSeconds)) {
            refusal = { admitted: false, retryAfterSeconds, lockedKey: kind };
          }
        }
      }
      if (refusal) return refusal;
      for (const kind of kinds) {
        const row = rows.get(kind);
        if (!row) continue;
        const policy = this.#policy(kind);
        const windowOver = Date.parse(row.window_started_at) + policy.windowSeconds * 1000 <= now.getTime();
        const failures = (windowOver ? 0 : row.failures) + 1;
        const delay = delayAfterFailures(policy, failures);
        await trx
          .updateTable('login_throttle')
          .set({
            failures,
            window_started_at: windowOver ? nowIso : row.window_started_at,
            locked_until: delay > 0 ? new Date(now.getTime() + delay * 1000).toISOString() : null,
          })
          .where('key', '=', keys[kind])
          .execute();
      }
      return { admitted: true } as const;
    });
  }

  /** The password was right: the account starts afresh; the address takes back this attempt. */
  async succeeded(keys: ThrottleKeys): Promise<void> {
    await this.handle.db.deleteFrom('login_throttle').where('key', '=', keys.account).execute();
    await this.#takeBack(this.handle.db, keys.address, this.#policy('address'));
    await this.#cleanUp();
  }

  /** The attempt was never judged (the server was too busy): it counts for neither key. */
  async withdrawn(keys: ThrottleKeys): Promise<void> {
    await this.#takeBack(this.handle.db, keys.account, this.#policy('account'));
    await this.#takeBack(this.handle.db, keys.address, this.#policy('address'));
  }

  async #takeBack(db: Kysely<Database>, key: string, policy: ThrottlePolicy): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const query = trx.selectFrom('login_throttle').select(['failures']).where('key', '=', key);
      const row = await (this.handle.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      if (!row) return;
      const failures = Math.max(0, row.failures - 1);
      // The lock this attempt set in advance goes; one earned by earlier failures stays.
      const update = failures <= policy.freeFailures ? { failures, locked_until: null } : { failures };
      await trx.updateTable('login_throttle').set(update).where('key', '=', key).execute();
    });
  }

  /** Rows of made-up accounts would pile up: drop those whose window and lock are both over. */
  async #cleanUp(): Promise<void> {
    const now = this.now();
    if (now.getTime() - this.#lastCleanup < CLEANUP_INTERVAL_MS) return;
    this.#lastCleanup = now.getTime();
    const longestWindow = Math.max(this.config.account.windowSeconds, this.config.address.windowSeconds);
    const nowIso = now.toISOString();
    await this.handle.db
      .deleteFrom('login_throttle')
      .where('window_started_at', '<', new Date(now.getTime() - longestWindow * 1000).toISOString())
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowIso)]))
      .execute();
  }
}
