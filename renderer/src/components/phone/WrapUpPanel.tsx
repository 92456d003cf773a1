import { useCallback, useId, useState, type FormEvent } from 'react';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { DEFAULT_DISPOSITIONS, type Disposition } from '../../../../shared/ipc.js';
import { formatDuration, talkSeconds } from '../../phone/call-machine.js';
import { describeCaller, mayCreateCustomer, usePhoneStore } from '../../stores/phone.js';
import { useCustomerStore } from '../../stores/customer.js';
import { useWrapUpStore, type WrapUpItem } from '../../stores/wrap-up.js';
import { DeliveryNotice, type DeliveryPhase } from '../DeliveryNotice.js';
import { callbackDueAt, DUE_PRESETS, type DuePreset } from '../../callbacks/due-time.js';
import { ErrorText } from '../ErrorText.js';
import { CreateCustomerForm } from './CreateCustomerForm.js';

/**
 * A default disposition the tenant kept as it was is shown in the operator's language; a
 * tenant's own label is its own wording and shown as written.
 */
export function dispositionLabel(disposition: Disposition, t: TFunction): string {
  const standard = DEFAULT_DISPOSITIONS.find((d) => d.code === disposition.code);
  return standard && standard.label === disposition.label ? t(`phone.disposition.${disposition.code}`, disposition.label) : disposition.label;
}

/** The wrap-up of the oldest call waiting for one, and how many more wait. */
export function WrapUpPanel() {
  const { t } = useTranslation();
  const queue = useWrapUpStore((s) => s.queue);
  const lastSaved = useWrapUpStore((s) => s.lastSaved);
  const clearSaved = useWrapUpStore((s) => s.clearSaved);
  const deliveryMessage = useCallback(
    (phase: DeliveryPhase, error: string | null) => t(`phone.wrapUp.delivery.${phase}`, { error: error ?? '' }),
    [t],
  );
  const item = queue[0];
  return (
    <div className="wrap-up-area">
      <p role="status" className="wrap-up-saved">
        {!item && lastSaved && <DeliveryNotice clientId={lastSaved.clientId} message={deliveryMessage} onDone={clearSaved} />}
      </p>
      {item && <WrapUpForm key={item.call.sipCallId} item={item} waiting={queue.length - 1} />}
    </div>
  );
}

function WrapUpForm({ item, waiting }: { item: WrapUpItem; waiting: number }) {
  const { t } = useTranslation();
  const dispositions = usePhoneStore((s) => s.settings?.dispositions ?? []);
  const save = useWrapUpStore((s) => s.save);
  const dismiss = useWrapUpStore((s) => s.dismiss);
  const attachCustomer = useWrapUpStore((s) => s.attachCustomer);
  const saving = useWrapUpStore((s) => s.saving);
  const error = useWrapUpStore((s) => s.error);
  const openIncidents = (item.customer?.incidents ?? [])
    .filter((incident) => incident.status === 'open')
    .sort((a, b) => Date.parse(b.openedAt) - Date.parse(a.openedAt));
  const [incidentChoice, setIncidentChoice] = useState<string>(() => openIncidents[0]?.id ?? 'new');
  const [newTitle, setNewTitle] = useState('');
  const [summary, setSummary] = useState('');
  const [disposition, setDisposition] = useState(() => dispositions[0]?.code ?? '');
  const [callbackNeeded, setCallbackNeeded] = useState(false);
  const [duePreset, setDuePreset] = useState<DuePreset>('1h');
  const [customDue, setCustomDue] = useState('');
  const [duePast, setDuePast] = useState(false);
  const [missing, setMissing] = useState<string[]>([]);
  const id = useId();
  const party = item.customer?.customer.name ?? describeCaller(item.call.identity);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const now = new Date();
    const dueAt = callbackNeeded ? callbackDueAt(duePreset, customDue, now) : null;
    const absent = [
      ...(incidentChoice === 'new' && !newTitle.trim() ? [t('phone.wrapUp.newTitle')] : []),
      ...(callbackNeeded && dueAt === null ? [t('phone.wrapUp.callbackAt')] : []),
      ...(!summary.trim() ? [t('phone.wrapUp.summary')] : []),
      ...(!disposition ? [t('phone.wrapUp.disposition')] : []),
    ];
    setMissing(absent);
    // A preset is always ahead of now; a typed time may not be.
    const past = dueAt !== null && Date.parse(dueAt) < now.getTime();
    setDuePast(past);
    if (absent.length > 0 || past) return;
    await save(item.call.sipCallId, {
      incident: incidentChoice === 'new' ? { kind: 'new', title: newTitle } : { kind: 'existing', incidentId: incidentChoice },
      summary,
      disposition,
      callbackNeeded,
      callbackDueAt: dueAt,
    });
  }

  if (!item.customer) {
    return (
      <section className="wrap-up" data-testid="wrap-up" data-call-id={item.call.sipCallId} aria-labelledby={`${id}-heading`}>
        <h3 id={`${id}-heading`}>{t('phone.wrapUp.heading', { party })}</h3>
        <p>{t('phone.wrapUp.noCustomer')}</p>
        {mayCreateCustomer() && (
          <CreateCustomerForm
            callId={item.call.id}
            e164={item.call.identity.e164}
            onCreated={(detail) => {
              attachCustomer(item.call.sipCallId, detail);
              useCustomerStore.getState().show(detail);
            }}
          />
        )}
        <button type="button" onClick={() => dismiss(item.call.sipCallId)}>
          {t('phone.wrapUp.discard')}
        </button>
      </section>
    );
  }

  return (
    <form className="wrap-up" data-testid="wrap-up" data-call-id={item.call.sipCallId} onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-heading`} noValidate>
      <h3 id={`${id}-heading`}>{t('phone.wrapUp.heading', { party })}</h3>
      <p className="muted">
        {t(`phone.direction.${item.call.direction}`)} · {formatDuration(talkSeconds(item.call, Date.parse(item.call.endedAt ?? item.call.startedAt)))}
        {waiting > 0 && <> · {t('phone.wrapUp.waiting', { count: waiting })}</>}
      </p>
      <fieldset className="wrap-up-incident">
        <legend>{t('phone.wrapUp.incident')}</legend>
        {openIncidents.map((incident) => (
          <label key={incident.id} className="radio">
            <input type="radio" name={`${id}-incident`} value={incident.id} checked={incidentChoice === incident.id} onChange={() => setIncidentChoice(incident.id)} />
            {incident.title}
          </label>
        ))}
        <label className="radio">
          <input type="radio" name={`${id}-incident`} value="new" checked={incidentChoice === 'new'} onChange={() => setIncidentChoice('new')} />
          {t('phone.wrapUp.newIncident')}
        </label>
        {incidentChoice === 'new' && (
          <>
            <label htmlFor={`${id}-title`}>{t('phone.wrapUp.newTitle')}</label>
            <input id={`${id}-title`} maxLength={300} value={newTitle} onChange={(e) => setNewTitle(e.target.value)} />
          </>
        )}
      </fieldset>
      <label htmlFor={`${id}-summary`}>{t('phone.wrapUp.summary')}</label>
      <textarea id={`${id}-summary`} rows={3} maxLength={500} value={summary} onChange={(e) => setSummary(e.target.value)} />
      <label htmlFor={`${id}-disposition`}>{t('phone.wrapUp.disposition')}</label>
      <select id={`${id}-disposition`} value={disposition} onChange={(e) => setDisposition(e.target.value)}>
        {dispositions.map((d) => (
          <option key={d.code} value={d.code}>
            {dispositionLabel(d, t)}
          </option>
        ))}
      </select>
      <label className="checkbox">
        <input type="checkbox" checked={callbackNeeded} onChange={(e) => setCallbackNeeded(e.target.checked)} />
        {t('phone.wrapUp.callback')}
      </label>
      {callbackNeeded && (
        <div className="wrap-up-callback-due">
          <label htmlFor={`${id}-due`}>{t('phone.wrapUp.callbackDue')}</label>
          <select id={`${id}-due`} value={duePreset} onChange={(e) => setDuePreset(e.target.value as DuePreset)}>
            {DUE_PRESETS.map((preset) => (
              <option key={preset} value={preset}>
                {t(`phone.wrapUp.duePreset.${preset}`)}
              </option>
            ))}
          </select>
          {duePreset === 'custom' && (
            <>
              <label htmlFor={`${id}-due-at`}>{t('phone.wrapUp.callbackAt')}</label>
              <input id={`${id}-due-at`} type="datetime-local" value={customDue} onChange={(e) => setCustomDue(e.target.value)} />
            </>
          )}
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? t('phone.wrapUp.saving') : t('phone.wrapUp.save')}
        </button>
      </div>
      {missing.length > 0 && (
        <p className="error" role="alert">
          {t('phone.wrapUp.missing', { fields: missing.join(', ') })}
        </p>
      )}
      {duePast && (
        <p className="error" role="alert">
          {t('phone.wrapUp.duePast')}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </form>
  );
}
