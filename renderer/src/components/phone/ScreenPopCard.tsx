import { useLayoutEffect } from 'react';
import { useTranslation } from 'react-i18next';
import type { CachedContact } from '../../../../shared/ipc.js';
import { seesEveryCustomer } from '../../../../shared/permissions.js';
import { formatDateTime, formatPhone } from '../../format.js';
import type { Call } from '../../phone/call-machine.js';
import { markPaintedOnce } from '../../phone/screen-pop-marks.js';
import { useScreenPopStore } from '../../stores/screen-pop.js';
import { useSessionStore } from '../../stores/session.js';
import { useUiStore } from '../../stores/ui.js';
import { RecentWebActivity } from '../../portal/web-activity.js';
import { ClassificationBadge } from '../ClassificationBadge.js';

const LAST_CONTACTS = 3;

/**
 * Who is calling, inside the call's card: the customer with their open incidents and the
 * last contacts (and who handled them), or "unregistered caller". Rendered while the call
 * rings; the frame after its first render is the screen pop's `painted` mark.
 */
export function ScreenPopCard({ call }: { call: Call }) {
  const { t } = useTranslation();
  const pop = useScreenPopStore((s) => s.pops[call.id]);
  const language = useUiStore((s) => s.language);
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);
  const user = useSessionStore((s) => s.session?.user ?? null);
  const phase = pop?.phase ?? 'unknown';

  const poppedCustomerId = pop?.detail?.customer.id ?? null;
  useLayoutEffect(() => {
    if (call.direction === 'inbound' && phase !== 'loading') markPaintedOnce(call.sipCallId, phase, poppedCustomerId);
  }, [call.direction, call.sipCallId, phase, poppedCustomerId]);

  const number = call.identity.e164 ? formatPhone(call.identity.e164, region) : call.identity.user;
  const detail = pop?.detail ?? null;

  return (
    <section className={`screen-pop is-${phase}`} data-testid="screen-pop" data-call-id={call.sipCallId} data-phase={phase} aria-label={t('phone.pop.label')}>
      {phase === 'loading' && <p className="muted">{t('phone.pop.loading')}</p>}
      {phase === 'found' && detail && (
        <>
          <p className="pop-customer">
            <strong className="pop-name">{detail.customer.name}</strong>{' '}
            <span className="pop-code" data-testid="screen-pop-customer-code">
              {detail.customer.code}
            </span>{' '}
            <ClassificationBadge level={detail.customer.classification} />
          </p>
          {detail.customer.nameKana && (
            <p className="pop-kana" lang="ja">
              {detail.customer.nameKana}
            </p>
          )}
          <OpenIncidents incidents={detail.incidents.filter((incident) => incident.status === 'open')} />
          <LastContacts contacts={lastContacts(detail.contacts)} language={language} />
          <RecentWebActivity contacts={detail.contacts} compact />
        </>
      )}
      {(phase === 'unknown' || phase === 'error') && (
        <p className="pop-unknown" data-testid="screen-pop-unknown">
          <strong>{user && !seesEveryCustomer(user) ? t('phone.pop.notYours') : t('phone.pop.unregistered')}</strong> {number && <span className="pop-number">{number}</span>}
          {phase === 'error' && pop?.error && <span className="muted"> · {t(`errors.${pop.error.code}`)}</span>}
        </p>
      )}
    </section>
  );
}

function lastContacts(contacts: CachedContact[]): CachedContact[] {
  return [...contacts].sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt)).slice(0, LAST_CONTACTS);
}

function OpenIncidents({ incidents }: { incidents: { id: string; title: string; assigneeName: string | null }[] }) {
  const { t } = useTranslation();
  return (
    <div className="pop-block">
      <h4 className="pop-heading">{t('phone.pop.openIncidents', { count: incidents.length })}</h4>
      {incidents.length > 0 && (
        <ul className="plain-list pop-list">
          {incidents.map((incident) => (
            <li key={incident.id} data-testid="pop-incident">
              {incident.title}
              {incident.assigneeName && <span className="muted"> · {incident.assigneeName}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function LastContacts({ contacts, language }: { contacts: CachedContact[]; language: 'ja' | 'en' }) {
  const { t } = useTranslation();
  if (contacts.length === 0) return null;
  return (
    <div className="pop-block">
      <h4 className="pop-heading">{t('phone.pop.lastContacts')}</h4>
      <ul className="plain-list pop-list">
        {contacts.map((contact) => (
          <li key={contact.id} data-testid="pop-contact">
            <time dateTime={contact.occurredAt}>{formatDateTime(contact.occurredAt, language)}</time> {t(`contact.kind.${contact.kind}`)} ·{' '}
            <span className="pop-agent">{contact.agentName ?? t('contact.noAgent')}</span>
            {contact.summary && <span className="pop-summary"> — {contact.summary}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}
