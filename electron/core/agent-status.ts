import { z } from 'zod';
import { AgentStatus, AgentStatusResponse, MAIL_API } from '../../shared/api.js';
import { IsoTime } from '../../shared/domain.js';
import type { AgentStatusState } from '../../shared/ipc.js';
import { CodedError } from '../../shared/result.js';
import type { BackendClient } from './backend-client.js';
import type { CacheStore } from './cache/cache-store.js';
import type { Logger } from './logger.js';
import type { SyncEngine } from './sync/sync-engine.js';

/** Cache meta key (the cache is per user, so this is too). */
export const AGENT_STATUS_META = 'agent.status';

const STATUS_TIMEOUT_MS = 10_000;
/** Signing out tells the supervisors at once; it must not hold up the sign-out for long. */
const SIGN_OUT_TIMEOUT_MS = 3_000;

const StoredChoice = z.object({ status: AgentStatus, changedAt: IsoTime, confirmed: z.boolean() });
type StoredChoice = z.infer<typeof StoredChoice>;

export interface AgentStatusHost {
  client: BackendClient;
  store: CacheStore;
  engine: SyncEngine;
  logger: Logger;
  emit: (event: 'agent:status', payload: AgentStatusState) => void;
}

/**
 * The operator's status, owned by the core so that a choice made offline is not lost: the
 * latest choice is kept in the cache with the time it was made and sent until the backend has
 * it. Offline, it waits for the sync engine to see the backend again and goes then; the
 * backend keeps the newest by that time, so a late arrival never undoes a later choice. The
 * renderer is told (event `agent:status`) whenever the choice, its confirmation or a refusal
 * changes, so the screen can say when the server does not have the status yet.
 *
 * Only the latest choice matters ("last one wins"): a choice replaces the one still waiting.
 */
export class AgentStatusChannel {
  readonly #host: AgentStatusHost;
  #choice: StoredChoice | null;
  #error: AgentStatusState['error'] = null;
  #sending: Promise<void> | null = null;
  #stopped = false;
  readonly #unsubscribe: () => void;

  constructor(host: AgentStatusHost) {
    this.#host = host;
    this.#choice = this.#load();
    let wasOnline = host.engine.status().online;
    this.#unsubscribe = host.engine.onStatus((status) => {
      // The sync engine notices first when the backend is back: send what waited at once.
      if (status.online && !wasOnline) this.#kick();
      wasOnline = status.online;
    });
  }

  /**
   * A fresh sign-in starts available (yesterday's break is over); a session restored after a
   * restart keeps the choice it had, and sends it if the backend never got it.
   */
  start({ freshLogin }: { freshLogin: boolean }): void {
    if (freshLogin || this.#choice === null) this.choose('available');
    else this.#kick();
  }

  state(): AgentStatusState | null {
    if (!this.#choice) return null;
    return { status: this.#choice.status, changedAt: this.#choice.changedAt, confirmed: this.#choice.confirmed, error: this.#error };
  }

  choose(status: AgentStatus): AgentStatusState {
    this.#choice = { status, changedAt: new Date().toISOString(), confirmed: false };
    this.#error = null;
    this.#save();
    this.#changed();
    this.#kick();
    return this.state()!;
  }

  /** Signing out (not a shutdown or an expiry): the supervisors see the operator leave. */
  async stop({ signingOut }: { signingOut: boolean }): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe();
    await this.#sending;
    if (!signingOut) return;
    await this.#host.client
      .request('PUT', MAIL_API.agentStatus, null, { body: { status: 'offline', changedAt: new Date().toISOString() }, timeoutMs: SIGN_OUT_TIMEOUT_MS })
      .catch(() => {
        // Offline: the backend counts the operator away a minute after the last heartbeat.
      });
    this.#host.store.deleteMeta(AGENT_STATUS_META);
  }

  #kick(): void {
    if (this.#stopped || this.#sending || !this.#choice || this.#choice.confirmed || this.#error) return;
    this.#sending = this.#send().finally(() => {
      this.#sending = null;
      // Chosen again while the previous choice was on its way.
      if (this.#choice && !this.#choice.confirmed && !this.#error && this.#host.engine.status().online) this.#kick();
    });
  }

  async #send(): Promise<void> {
    const choice = this.#choice;
    if (!choice) return;
    try {
      const answer = await this.#host.client.request('PUT', MAIL_API.agentStatus, AgentStatusResponse, {
        body: { status: choice.status, changedAt: choice.changedAt },
        timeoutMs: STATUS_TIMEOUT_MS,
      });
      if (this.#choice !== choice) return;
      if (!answer.applied) {
        this.#host.logger.info('the backend holds a newer status than this choice', { chosen: choice.status, inForce: answer.status });
      }
      this.#choice = { ...choice, confirmed: true };
      this.#save();
      this.#changed();
    } catch (error) {
      if (this.#choice !== choice || this.#stopped) return;
      const coded = error instanceof CodedError ? error : new CodedError('internal', error instanceof Error ? error.message : String(error));
      // Offline and an ended session are not the operator's to fix: wait for the backend
      // (the sync engine reports it back) or the sign-in screen.
      if (coded.code === 'offline' || coded.code === 'unauthenticated') return;
      this.#host.logger.warn('the backend refused the operator status', { status: choice.status, code: coded.code, error: coded.message });
      this.#error = { code: coded.code, message: coded.message };
      this.#changed();
    }
  }

  #changed(): void {
    const state = this.state();
    if (state) this.#host.emit('agent:status', state);
  }

  #load(): StoredChoice | null {
    const stored = this.#host.store.getMeta(AGENT_STATUS_META);
    if (stored === null) return null;
    try {
      const parsed = StoredChoice.safeParse(JSON.parse(stored));
      if (parsed.success) return parsed.data;
    } catch {
      // Unreadable: treated like no choice.
    }
    return null;
  }

  #save(): void {
    if (this.#choice) this.#host.store.setMeta(AGENT_STATUS_META, JSON.stringify(this.#choice));
  }
}
