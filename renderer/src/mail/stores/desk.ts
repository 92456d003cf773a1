import { create } from 'zustand';
import type { MailOfferResponse, MailView } from '../../../../shared/api.js';
import type { LocalReplyDraft } from '../../../../shared/ipc.js';
import type { AppError, Result } from '../../../../shared/result.js';
import { invoke } from '../../api.js';
import { useSessionStore } from '../../stores/session.js';
import { mayTakeMailNow } from '../availability.js';

export type DeskPhase = 'idle' | 'asking' | MailOfferResponse['status'] | 'error';

export interface DeskOutcome {
  kind: 'submitted' | 'closed' | 'released';
  subject: string;
}

/** The reply being written for the offered mail. */
export interface Composing {
  /** Generated once (or taken from a draft already saved), so every save of it is idempotent. */
  replyId: string;
  subject: string;
  body: string;
  /** The backend already has a draft under this id (the first save of a new one names the mail). */
  existing: boolean;
  /** The recipient the backend has for this draft; absent for a new one (the composer's default applies). */
  toAddress?: string;
}

interface DeskState {
  phase: DeskPhase;
  mail: MailView | null;
  leaseExpiresAt: string | null;
  composing: Composing | null;
  error: AppError | null;
  /** After "put back" the app stops asking on its own until the operator asks again. */
  autoOffer: boolean;
  lastOutcome: DeskOutcome | null;
  localDrafts: LocalReplyDraft[];
  /**
   * Asks the backend for the next mail when this operator may take one: on login, after a mail
   * is done, and when the queue changes. `byUser` is the "next mail" button (also for
   * supervisors, who are never offered mail unasked).
   */
  askNext(options?: { byUser?: boolean }): Promise<void>;
  /** The mail is answered (submitted for review) or closed: on to the next one. */
  finish(outcome: DeskOutcome): void;
  release(): Promise<Result<null>>;
  close(note: string): Promise<Result<MailView>>;
  loadLocalDrafts(): Promise<void>;
  applyLocalDrafts(drafts: LocalReplyDraft[]): void;
}

const initialState = {
  phase: 'idle',
  mail: null,
  leaseExpiresAt: null,
  composing: null,
  error: null,
  autoOffer: true,
  lastOutcome: null,
  localDrafts: [],
} satisfies Partial<DeskState>;

/** Answers that arrive after a sign-out (the store was reset) are dropped. */
let generation = 0;
let asking = false;
let askAgain = false;

/** `Re: ` once and the incident's `[#INC-n]` token once, as the backend writes a reply's subject. */
export function defaultReplySubject(mail: Pick<MailView, 'subject' | 'incidentRef'>): string {
  const subject = mail.subject.trim() || '(no subject)';
  const re = /^re\s*:/i.test(subject) ? subject : `Re: ${subject}`;
  return mail.incidentRef && !re.includes(`[#${mail.incidentRef}]`) ? `${re} [#${mail.incidentRef}]` : re;
}

/**
 * What the composer starts from: a draft for this mail still waiting on this computer, else
 * one the backend already has (the app restarted mid-reply), else a new one.
 */
async function composingFor(mail: MailView, localDrafts: LocalReplyDraft[]): Promise<Composing> {
  const local = localDrafts.find((draft) => draft.mailId === mail.id && draft.error === null);
  const saved = await invoke('reply:myReplies', { state: 'draft' });
  const server = saved.ok ? saved.value.find((reply) => reply.mailId === mail.id) : undefined;
  if (local) {
    return {
      replyId: local.replyId,
      subject: local.subject ?? server?.subject ?? defaultReplySubject(mail),
      body: local.body ?? server?.body ?? '',
      existing: server?.id === local.replyId,
      ...(server ? { toAddress: server.toAddress } : {}),
    };
  }
  if (server) return { replyId: server.id, subject: server.subject, body: server.body, existing: true, toAddress: server.toAddress };
  return { replyId: crypto.randomUUID(), subject: defaultReplySubject(mail), body: '', existing: false };
}

export const useMailDeskStore = create<DeskState>()((set, get) => ({
  ...initialState,
  async askNext(options = {}) {
    const user = useSessionStore.getState().session?.user;
    if (!user || get().mail) return;
    if (!options.byUser && (!get().autoOffer || user.role !== 'agent' || !mayTakeMailNow())) return;
    if (asking) {
      askAgain = true;
      return;
    }
    asking = true;
    const mine = generation;
    if (options.byUser) set({ autoOffer: true });
    try {
      do {
        askAgain = false;
        set({ phase: 'asking', error: null });
        const result = await invoke('mail:offerNext', undefined);
        if (mine !== generation) return;
        if (!result.ok) {
          set({ phase: 'error', error: result.error });
          return;
        }
        const { status, mail, leaseExpiresAt } = result.value;
        if (status === 'offered' && mail) {
          const composing = await composingFor(mail, get().localDrafts);
          if (mine !== generation) return;
          set({ phase: 'offered', mail, leaseExpiresAt, composing });
          return;
        }
        set({ phase: status, mail: null, leaseExpiresAt: null, composing: null });
      } while (askAgain);
    } finally {
      if (mine === generation) asking = false;
    }
  },
  finish(outcome) {
    set({ mail: null, leaseExpiresAt: null, composing: null, phase: 'idle', lastOutcome: outcome });
    void get().askNext();
  },
  async release() {
    const mail = get().mail;
    if (!mail) return { ok: true, value: null };
    const result = await invoke('mail:release', { mailId: mail.id });
    if (result.ok) {
      set({ mail: null, leaseExpiresAt: null, composing: null, phase: 'idle', autoOffer: false, lastOutcome: { kind: 'released', subject: mail.subject } });
    }
    return result;
  },
  async close(note) {
    const mail = get().mail;
    if (!mail) return { ok: false, error: { code: 'not_found', message: 'no mail is open' } };
    const result = await invoke('mail:close', { mailId: mail.id, note });
    if (result.ok) get().finish({ kind: 'closed', subject: mail.subject });
    return result;
  },
  async loadLocalDrafts() {
    const mine = generation;
    const result = await invoke('reply:localDrafts', undefined);
    if (result.ok && mine === generation) set({ localDrafts: result.value });
  },
  applyLocalDrafts(drafts) {
    set({ localDrafts: drafts });
  },
}));

export function resetMailDeskStore(): void {
  generation += 1;
  asking = false;
  askAgain = false;
  useMailDeskStore.setState(initialState);
}
