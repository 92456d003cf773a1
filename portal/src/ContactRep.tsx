import { useEffect, useState, type FormEvent } from 'react';
import type { PortalPageView } from '../../shared/portal.js';
import { PREFERRED_METHODS, REQUESTED_ACTIONS, type PortalAddress, type PortalRepRequestInput } from '../../shared/rep-requests.js';
import { portalApi } from './api.js';
import type { StringKey } from './i18n.js';
import { useT } from './language.js';

const METHOD_KEY: Record<(typeof PREFERRED_METHODS)[number], StringKey> = { phone: 'methodPhone', email: 'methodEmail', visit: 'methodVisit' };
const ACTION_KEY: Record<(typeof REQUESTED_ACTIONS)[number], StringKey> = { documents: 'actionDocuments', visit: 'actionVisit', call: 'actionCall' };

/**
 * Sends one request to the rep, keeping its clientId until it is accepted: pressing again after a
 * lost answer is the same request (the backend applies each clientId once).
 */
function useRepRequest<T extends PortalRepRequestInput>() {
  const [clientId, setClientId] = useState(() => crypto.randomUUID());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const send = async (input: Omit<T, 'clientId'>) => {
    setBusy(true);
    setError(null);
    try {
      await portalApi.repRequest({ ...input, clientId } as T);
      setClientId(crypto.randomUUID());
      setSent(true);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, sent, send, reset: () => setSent(false) };
}

/** "Contact my rep" on a product page: a prefilled form (product, message, how and when, what). */
export function ContactRep({ page }: { page: PortalPageView }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [message, setMessage] = useState('');
  const [preferredMethod, setPreferredMethod] = useState<(typeof PREFERRED_METHODS)[number]>('phone');
  const [preferredTime, setPreferredTime] = useState('');
  const [requestedAction, setRequestedAction] = useState<(typeof REQUESTED_ACTIONS)[number]>('documents');
  const request = useRepRequest<Extract<PortalRepRequestInput, { kind: 'contact_rep' }>>();
  const material = useRepRequest<Extract<PortalRepRequestInput, { kind: 'material' }>>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await request.send({ kind: 'contact_rep', productId: page.id, message, preferredMethod, preferredTime, requestedAction });
  };
  const openForm = () => {
    setMessage(t('contactRepIntro', { product: page.title }));
    request.reset();
    setOpen(true);
  };

  return (
    <section className="card" aria-labelledby="contact-rep-title">
      <h3 id="contact-rep-title">{t('contactRepTitle')}</h3>
      {!open && (
        <p className="actions">
          <button type="button" onClick={openForm}>
            {t('contactRep')}
          </button>
          {!page.owned && (
            <button type="button" disabled={material.busy || material.sent} onClick={() => void material.send({ kind: 'material', productId: page.id, message: '' })}>
              {t('requestMaterial')}
            </button>
          )}
        </p>
      )}
      {material.sent && <p role="status">{t('materialSent')}</p>}
      {material.error && <p role="alert">{material.error}</p>}
      {open && (
        <form onSubmit={(event) => void submit(event)} aria-label={t('contactRepTitle')}>
          <p>{page.title}</p>
          <label>
            {t('message')}
            <textarea name="message" required maxLength={2000} value={message} onChange={(event) => setMessage(event.target.value)} />
          </label>
          <fieldset>
            <legend>{t('preferredMethod')}</legend>
            {PREFERRED_METHODS.map((method) => (
              <label key={method} className="choice">
                <input type="radio" name="preferredMethod" value={method} checked={preferredMethod === method} onChange={() => setPreferredMethod(method)} />
                {t(METHOD_KEY[method])}
              </label>
            ))}
          </fieldset>
          <label>
            {t('preferredTime')}
            <input name="preferredTime" maxLength={200} value={preferredTime} onChange={(event) => setPreferredTime(event.target.value)} />
          </label>
          <fieldset>
            <legend>{t('requestedAction')}</legend>
            {REQUESTED_ACTIONS.map((action) => (
              <label key={action} className="choice">
                <input type="radio" name="requestedAction" value={action} checked={requestedAction === action} onChange={() => setRequestedAction(action)} />
                {t(ACTION_KEY[action])}
              </label>
            ))}
          </fieldset>
          {request.error && <p role="alert">{request.error}</p>}
          {request.sent && <p role="status">{t('contactRepSent')}</p>}
          <p className="actions">
            <button type="submit" disabled={request.busy || request.sent}>
              {t('send')}
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              {t('cancel')}
            </button>
          </p>
        </form>
      )}
    </section>
  );
}

/** The address-change page: applied to the customer record, and the rep gets a task. */
export function AddressChange() {
  const t = useT();
  const [current, setCurrent] = useState<PortalAddress | null>(null);
  const [postalCode, setPostalCode] = useState('');
  const [address, setAddress] = useState('');
  const request = useRepRequest<Extract<PortalRepRequestInput, { kind: 'address_change' }>>();
  useEffect(() => {
    portalApi.address().then(setCurrent, () => setCurrent(null));
  }, [request.sent]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await request.send({ kind: 'address_change', postalCode, address });
  };
  return (
    <section aria-labelledby="address-title">
      <h2 id="address-title">{t('addressTitle')}</h2>
      {current && <p data-testid="current-address">{t('currentAddress', { postalCode: current.postalCode, address: current.address })}</p>}
      <form onSubmit={(event) => void submit(event)} aria-labelledby="address-title">
        <label>
          {t('postalCode')}
          <input name="postalCode" required inputMode="numeric" autoComplete="postal-code" maxLength={10} value={postalCode} onChange={(event) => setPostalCode(event.target.value)} />
        </label>
        <label>
          {t('address')}
          <input name="address" required autoComplete="street-address" maxLength={300} value={address} onChange={(event) => setAddress(event.target.value)} />
        </label>
        {request.error && <p role="alert">{request.error}</p>}
        {request.sent && <p role="status">{t('addressSent')}</p>}
        <button type="submit" disabled={request.busy}>
          {t('send')}
        </button>
      </form>
    </section>
  );
}
