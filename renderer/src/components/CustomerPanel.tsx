import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CustomerDetail } from '../../../shared/ipc.js';
import { formatPhone } from '../format.js';
import { useCustomerStore } from '../stores/customer.js';
import { usePhoneStore } from '../stores/phone.js';
import { useSessionStore } from '../stores/session.js';
import { AddNote } from './AddNote.js';
import { DerivedAttributesSection } from '../derived/DerivedAttributes.js';
import { PortalAccount } from '../portal/PortalAccount.js';
import { RecentWebActivity } from '../portal/web-activity.js';
import { ClassificationBadge } from './ClassificationBadge.js';
import { CustomerEditForm } from './CustomerEditForm.js';
import { ErrorText } from './ErrorText.js';
import { IncidentActions } from './IncidentActions.js';
import { ContactDocument } from '../mail/components/ContactDocument.js';
import { buildBranches, contactKey, IncidentTree } from './IncidentTree.js';
import { ContactRecordings } from '../recordings/ContactRecordings.js';

export function CustomerPanel() {
  const { t } = useTranslation();
  const phase = useCustomerStore((s) => s.phase);
  const detail = useCustomerStore((s) => s.detail);
  const error = useCustomerStore((s) => s.error);

  return (
    <section className="customer-panel" data-testid="customer-panel" data-phase={phase} aria-labelledby="customer-heading">
      {phase === 'empty' && (
        <div className="empty-state">
          <h2 id="customer-heading">{t('customer.noneTitle')}</h2>
          <p className="muted">{t('customer.noneHint')}</p>
        </div>
      )}
      {phase === 'loading' && (
        <div className="empty-state">
          <h2 id="customer-heading">{t('customer.loadingTitle')}</h2>
          <p role="status">{t('customer.loading')}</p>
        </div>
      )}
      {phase === 'error' && error && (
        <div className="empty-state">
          <h2 id="customer-heading">{t('customer.errorTitle')}</h2>
          <p className="error" role="alert">
            <ErrorText error={error} />
          </p>
        </div>
      )}
      {/* Keyed by customer so tree state starts fresh per customer but survives refreshes. */}
      {phase === 'ready' && detail && <CustomerView key={detail.customer.id} detail={detail} />}
    </section>
  );
}

function CustomerView({ detail }: { detail: CustomerDetail }) {
  const { t } = useTranslation();
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);
  const { customer } = detail;
  const branches = buildBranches(detail.incidents, detail.contacts);
  const newest = branches[0]?.incident.id;
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set(newest ? [newest] : []));
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const [chosenIncidentId, setChosenIncidentId] = useState<string | null>(null);
  const noteIncident = branches.find((b) => b.incident.id === chosenIncidentId)?.incident ?? branches[0]?.incident;
  const chosenContact = activeKey?.startsWith('contact:') ? detail.contacts.find((c) => contactKey(c.id) === activeKey) : undefined;
  const [editing, setEditing] = useState(false);
  const [edited, setEdited] = useState(false);

  function toggle(incidentId: string, expand: boolean) {
    setExpanded((previous) => {
      const next = new Set(previous);
      if (expand) next.add(incidentId);
      else next.delete(incidentId);
      return next;
    });
  }

  return (
    <article className="customer-view" aria-labelledby="customer-heading">
      <header className="customer-head">
        <div>
          <h2 id="customer-heading" className="customer-name">
            {customer.name}
          </h2>
          {customer.nameKana && (
            <p className="customer-kana" lang="ja">
              {customer.nameKana}
            </p>
          )}
        </div>
        <div className="customer-tags">
          <ClassificationBadge level={customer.classification} />
          <span className="badge type-badge">{t(`customer.type.${customer.type}`)}</span>
        </div>
      </header>
      {detail.source === 'online' && <p className="source-note">{t('customer.fromServer')}</p>}
      {editing ? (
        <CustomerEditForm
          customer={customer}
          onDone={(saved) => {
            setEditing(false);
            setEdited(saved);
          }}
        />
      ) : (
        <p className="customer-edit-open">
          <button type="button" className="quiet" onClick={() => setEditing(true)}>
            {t('customerEdit.edit')}
          </button>
          {edited && (
            <span role="status" className="hint">
              {' '}
              {t('customerEdit.saved')}
            </span>
          )}
        </p>
      )}
      <dl className="attributes">
        <div>
          <dt>{t('customer.code')}</dt>
          <dd data-testid="customer-code">{customer.code}</dd>
        </div>
        <div>
          <dt>{t('customer.typeLabel')}</dt>
          <dd>{t(`customer.type.${customer.type}`)}</dd>
        </div>
        <div>
          <dt>{t('customer.phones')}</dt>
          <dd>
            {customer.phones.length === 0 ? (
              t('customer.none')
            ) : (
              <ul className="plain-list">
                {customer.phones.map((phone) => (
                  <li key={phone.e164}>
                    <span className="phone-kind">{t(`customer.phoneKind.${phone.kind}`)}</span>{' '}
                    <PhoneNumber e164={phone.e164} customerId={customer.id} text={formatPhone(phone.e164, region)} />
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('customer.emails')}</dt>
          <dd>
            {customer.emails.length === 0 ? (
              t('customer.none')
            ) : (
              <ul className="plain-list">
                {customer.emails.map((email) => (
                  <li key={email}>{email}</li>
                ))}
              </ul>
            )}
          </dd>
        </div>
        <div className="wide">
          <dt>{t('customer.address')}</dt>
          <dd>
            {customer.postalCode && <span className="postal-code">{t('customer.postalCode', { code: customer.postalCode })} </span>}
            {customer.address || (!customer.postalCode && t('customer.none'))}
          </dd>
        </div>
        <div>
          <dt>{t('customer.branch')}</dt>
          <dd>{customer.branch ?? t('customer.noBranch')}</dd>
        </div>
        <div>
          <dt>{t('customer.assignedRep')}</dt>
          <dd>{customer.assignedRepName ?? t('customer.noRep')}</dd>
        </div>
      </dl>

      <DerivedAttributesSection derived={customer.derived} />
      <RecentWebActivity contacts={detail.contacts} />
      <PortalAccount customerId={customer.id} />

      <section className="incidents" aria-labelledby="incidents-heading">
        <h3 id="incidents-heading">{t('tree.heading')}</h3>
        {branches.length === 0 ? (
          <p className="muted">{t('tree.empty')}</p>
        ) : (
          <IncidentTree
            branches={branches}
            expanded={expanded}
            onToggle={toggle}
            activeKey={activeKey}
            onActivate={(key, incidentId) => {
              setActiveKey(key);
              setChosenIncidentId(incidentId);
            }}
          />
        )}
      </section>

      {chosenContact?.kind === 'call' && !chosenContact.pending && <ContactRecordings key={chosenContact.id} contact={chosenContact} />}
      {chosenContact && (chosenContact.kind === 'email' || chosenContact.kind === 'fax') && !chosenContact.pending && (
        <ContactDocument key={chosenContact.id} contact={chosenContact} />
      )}

      <IncidentActions
        customer={customer}
        incidents={detail.incidents}
        incident={noteIncident}
        contact={chosenContact}
        onCreated={(incidentId) => {
          setChosenIncidentId(incidentId);
          setActiveKey(null);
        }}
      />

      {noteIncident && (
        <AddNote
          incident={noteIncident}
          onSaved={(incidentId, contactId) => {
            toggle(incidentId, true);
            setActiveKey(contactKey(contactId));
          }}
        />
      )}
    </article>
  );
}

/** Click-to-call: a number in the panel is a button while the phone is up. */
function PhoneNumber({ e164, customerId, text }: { e164: string; customerId: string; text: string }) {
  const { t } = useTranslation();
  const phoneOn = usePhoneStore((s) => s.phase === 'on');
  const dial = usePhoneStore((s) => s.dial);
  if (!phoneOn) return <span className="phone-number">{text}</span>;
  return (
    <button type="button" className="link-button phone-number" onClick={() => void dial(e164, customerId)} aria-label={t('phone.callNumber', { number: text })}>
      {text}
    </button>
  );
}
