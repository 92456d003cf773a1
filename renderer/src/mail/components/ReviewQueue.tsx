import { useEffect, useEffectEvent, useRef, useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import type { ReviewQueueItem } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { ErrorText } from '../../components/ErrorText.js';
import { buildBranches, IncidentTree } from '../../components/IncidentTree.js';
import { formatDateTime } from '../../format.js';
import { useSyncStore } from '../../stores/sync.js';
import { useUiStore } from '../../stores/ui.js';
import { useReviewStore } from '../stores/review.js';
import { MailBody } from './MailBody.js';
import { MailHeaders } from './MailHeaders.js';

/** What is being typed for the selected reply; kept here so the keyboard shortcuts can act on it. */
interface Drafting {
  replyId: string;
  mode: 'edit' | 'return';
  text: string;
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/**
 * The supervisor's review queue, oldest first: each reply beside the customer's mail and the
 * incident's history; approve (optionally after editing) or return with a comment. Keyboard:
 * j/k next/previous, e edit, a approve, r return (shown on screen).
 */
export function ReviewQueue() {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const phase = useReviewStore((s) => s.phase);
  const items = useReviewStore((s) => s.items);
  const error = useReviewStore((s) => s.error);
  const selectedId = useReviewStore((s) => s.selectedId);
  const online = useSyncStore((s) => s.status?.online ?? true);
  const [drafting, setDrafting] = useState<Drafting | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<AppError | null>(null);
  const [done, setDone] = useState<{ kind: 'approved' | 'returned'; subject: string } | null>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const selected = items.find((item) => item.reply.id === selectedId) ?? null;
  const current = drafting && selected && drafting.replyId === selected.reply.id ? drafting : null;

  useEffect(() => {
    void useReviewStore.getState().load();
  }, []);

  const focusKey = current ? `${current.mode}:${current.replyId}` : null;
  useEffect(() => {
    if (focusKey) textRef.current?.focus();
  }, [focusKey]);

  async function approve() {
    if (!selected || busy) return;
    const edited = current?.mode === 'edit' && current.text !== selected.reply.body ? current.text : undefined;
    setBusy(true);
    setActionError(null);
    const result = await useReviewStore.getState().approve(selected.reply.id, edited);
    setBusy(false);
    if (result.ok) {
      setDone({ kind: 'approved', subject: selected.reply.subject });
      setDrafting(null);
    } else {
      setActionError(result.error);
    }
  }

  async function sendBack() {
    if (!selected || busy || current?.mode !== 'return') return;
    if (current.text.trim() === '') {
      setActionError({ code: 'invalid_input', message: t('mail.review.commentRequired') });
      return;
    }
    setBusy(true);
    setActionError(null);
    const result = await useReviewStore.getState().returnReply(selected.reply.id, current.text.trim());
    setBusy(false);
    if (result.ok) {
      setDone({ kind: 'returned', subject: selected.reply.subject });
      setDrafting(null);
    } else {
      setActionError(result.error);
    }
  }

  function startEdit() {
    if (selected) setDrafting({ replyId: selected.reply.id, mode: 'edit', text: current?.mode === 'edit' ? current.text : selected.reply.body });
  }

  function startReturn() {
    if (selected) setDrafting({ replyId: selected.reply.id, mode: 'return', text: '' });
  }

  const onShortcut = useEffectEvent((event: KeyboardEvent) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || isTyping(event.target)) return;
    if (document.querySelector('[aria-modal="true"]')) return;
    const actions: Record<string, () => void> = {
      j: () => useReviewStore.getState().move(1),
      k: () => useReviewStore.getState().move(-1),
      a: () => void approve(),
      e: startEdit,
      r: startReturn,
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => onShortcut(event);
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, []);

  return (
    <section className="review-queue" aria-labelledby="review-heading" data-testid="review-queue" data-phase={phase}>
      <div className="area-head">
        <h2 id="review-heading">{t('mail.review.heading', { count: items.length })}</h2>
        <button type="button" onClick={() => void useReviewStore.getState().load()}>
          {t('mail.review.refresh')}
        </button>
      </div>
      <p className="shortcuts" data-testid="review-shortcuts">
        {t('mail.review.shortcutsLabel')} <kbd>j</kbd>/<kbd>k</kbd> {t('mail.review.shortcutMove')} · <kbd>e</kbd> {t('mail.review.shortcutEdit')} ·{' '}
        <kbd>a</kbd> {t('mail.review.shortcutApprove')} · <kbd>r</kbd> {t('mail.review.shortcutReturn')}
      </p>
      {!online && (
        <p className="notice offline-notice" role="status" data-testid="review-offline">
          {t('mail.review.needsConnection')}
        </p>
      )}
      {done && (
        <p className="notice" role="status" data-testid="review-done">
          {t(`mail.review.done.${done.kind}`, { subject: done.subject })}
        </p>
      )}
      {phase === 'error' && error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {phase === 'ready' && items.length === 0 && <p className="muted">{t('mail.review.empty')}</p>}
      {items.length > 0 && (
        <div className="review-layout">
          <nav aria-label={t('mail.review.listLabel')}>
            <ol className="review-list">
              {items.map((item) => (
                <li key={item.reply.id}>
                  <button
                    type="button"
                    className="review-list-item"
                    aria-current={item.reply.id === selectedId ? 'true' : undefined}
                    data-testid="review-item"
                    data-reply-id={item.reply.id}
                    onClick={() => useReviewStore.getState().select(item.reply.id)}
                  >
                    <span className="review-item-subject">{item.reply.subject}</span>
                    <span className="muted">
                      {item.reply.authorName} · {item.reply.submittedAt ? formatDateTime(item.reply.submittedAt, language) : ''}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
          </nav>
          {selected && (
            <ReviewItem
              key={selected.reply.id}
              item={selected}
              drafting={current}
              textRef={textRef}
              busy={busy}
              online={online}
              error={actionError}
              onText={(text) => current && setDrafting({ ...current, text })}
              onEdit={startEdit}
              onReturn={startReturn}
              onCancel={() => setDrafting(null)}
              onApprove={() => void approve()}
              onSendBack={() => void sendBack()}
            />
          )}
        </div>
      )}
    </section>
  );
}

interface ReviewItemProps {
  item: ReviewQueueItem;
  drafting: Drafting | null;
  textRef: RefObject<HTMLTextAreaElement | null>;
  busy: boolean;
  online: boolean;
  error: AppError | null;
  onText(text: string): void;
  onEdit(): void;
  onReturn(): void;
  onCancel(): void;
  onApprove(): void;
  onSendBack(): void;
}

function ReviewItem({ item, drafting, textRef, busy, online, error, onText, onEdit, onReturn, onCancel, onApprove, onSendBack }: ReviewItemProps) {
  const { t, i18n } = useTranslation();
  const { reply, mail, call, incident, contacts } = item;
  const dateTime = new Intl.DateTimeFormat(i18n.language === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
  const branches = buildBranches([incident], contacts.map((contact) => ({ ...contact, pending: false })));
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set([incident.id]));
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const disabled = busy || !online;

  return (
    <article className="review-item" aria-label={t('mail.review.itemLabel', { subject: reply.subject })} data-testid="review-detail" data-reply-id={reply.id}>
      <div className="review-columns">
        {mail ? (
          <section className="review-mail" aria-label={t('mail.review.customerMail')}>
            <MailHeaders mail={mail} />
            <MailBody key={mail.id} mail={mail} />
          </section>
        ) : (
          call && (
            <section className="review-mail" aria-label={t('mail.review.callerHeading')} data-testid="review-call">
              <h3>{t('mail.review.callerHeading')}</h3>
              <dl className="attributes">
                <dt>{t('mail.review.callWhen')}</dt>
                <dd data-testid="review-call-when">{dateTime.format(new Date(call.startedAt))}</dd>
                <dt>{t('mail.review.callNumber')}</dt>
                <dd data-testid="review-call-number">{call.remote}</dd>
                <dt>{t('mail.review.callRang')}</dt>
                <dd data-testid="review-call-rang">{call.receivedBy.join('、')}</dd>
                <dt>{t('mail.review.callAnsweredBy')}</dt>
                <dd>{call.answeredBy ?? t('mail.review.callNobody')}</dd>
              </dl>
            </section>
          )
        )}
        <section className="review-reply" aria-labelledby={`reply-heading-${reply.id}`}>
          <h3 id={`reply-heading-${reply.id}`}>{mail ? t('mail.review.reply') : t('mail.review.newMessage')}</h3>
          <dl className="attributes">
            <dt>{t('mail.review.author')}</dt>
            <dd data-testid="review-author">{reply.authorName}</dd>
            <dt>{t('mail.composer.subject')}</dt>
            <dd data-testid="review-subject">{reply.subject}</dd>
            <dt>{t('mail.review.to')}</dt>
            <dd data-testid="review-to">{reply.toAddress}</dd>
          </dl>
          {!reply.toAddressKnown && (
            <p className="warning" role="alert" data-testid="review-recipient-warning">
              {t('mail.review.unknownRecipient', { address: reply.toAddress, customer: mail?.customerName ?? '' })}
            </p>
          )}
          {drafting?.mode === 'edit' ? (
            <div className="field">
              <label htmlFor={`review-edit-${reply.id}`}>{t('mail.review.editLabel')}</label>
              <textarea ref={textRef} id={`review-edit-${reply.id}`} rows={14} value={drafting.text} onChange={(event) => onText(event.target.value)} />
            </div>
          ) : (
            <pre className="reply-body" data-testid="review-body">
              {reply.body}
            </pre>
          )}
          {drafting?.mode === 'return' && (
            <div className="field">
              <label htmlFor={`review-comment-${reply.id}`}>{t('mail.review.commentLabel')}</label>
              <textarea ref={textRef} id={`review-comment-${reply.id}`} rows={4} value={drafting.text} onChange={(event) => onText(event.target.value)} />
            </div>
          )}
          <div className="review-actions">
            {drafting?.mode === 'return' ? (
              <button type="button" className="primary" disabled={disabled} onClick={onSendBack}>
                {t('mail.review.sendBack')}
              </button>
            ) : (
              <>
                <button type="button" className="primary" disabled={disabled} onClick={onApprove} aria-keyshortcuts="a">
                  {drafting?.mode === 'edit' ? t('mail.review.approveEdited') : t('mail.review.approve')}
                </button>
                {drafting?.mode !== 'edit' && (
                  <button type="button" disabled={busy} onClick={onEdit} aria-keyshortcuts="e">
                    {t('mail.review.edit')}
                  </button>
                )}
                <button type="button" disabled={disabled} onClick={onReturn} aria-keyshortcuts="r">
                  {t('mail.review.return')}
                </button>
              </>
            )}
            {drafting && (
              <button type="button" className="quiet" onClick={onCancel}>
                {t('mail.review.cancel')}
              </button>
            )}
          </div>
          {error && (
            <p className="error" role="alert" data-testid="review-error">
              {error.code === 'offline' ? t('mail.review.needsConnection') : <ErrorText error={error} />}
            </p>
          )}
        </section>
        <section className="review-history" aria-labelledby={`history-heading-${reply.id}`}>
          <h3 id={`history-heading-${reply.id}`}>{t('mail.review.history')}</h3>
          <IncidentTree
            branches={branches}
            expanded={expanded}
            onToggle={(incidentId, expand) =>
              setExpanded((previous) => {
                const next = new Set(previous);
                if (expand) next.add(incidentId);
                else next.delete(incidentId);
                return next;
              })
            }
            activeKey={activeKey}
            onActivate={(key) => setActiveKey(key)}
          />
        </section>
      </div>
    </article>
  );
}
