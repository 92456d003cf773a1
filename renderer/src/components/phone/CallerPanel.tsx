import { useTranslation } from 'react-i18next';
import { seesEveryCustomer } from '../../../../shared/permissions.js';
import { formatPhone } from '../../format.js';
import { mayCreateCustomer, usePhoneStore } from '../../stores/phone.js';
import { useScreenPopStore } from '../../stores/screen-pop.js';
import { useSessionStore } from '../../stores/session.js';
import { useCustomerStore } from '../../stores/customer.js';
import { CreateCustomerForm } from './CreateCustomerForm.js';

/**
 * Above the customer panel while the focused call's caller is not a known customer: the
 * "unregistered caller" panel. Users who may handle unregistered callers get a form to create
 * the customer, prefilled with the number; everyone else sees the number and nothing more.
 */
export function CallerPanel() {
  const { t } = useTranslation();
  const call = usePhoneStore((s) => s.calls.find((c) => c.id === s.focusedCallId) ?? null);
  const pop = useScreenPopStore((s) => (call ? s.pops[call.id] : undefined));
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);
  const session = useSessionStore((s) => s.session);
  if (!call || call.consultFor !== null || !pop || (pop.phase !== 'unknown' && pop.phase !== 'error')) return null;
  const number = call.identity.e164 ? formatPhone(call.identity.e164, region) : (call.identity.user ?? '');
  const mayCreate = session !== null && mayCreateCustomer();

  return (
    <section className="caller-panel" data-testid="unknown-caller" aria-labelledby="unknown-caller-heading">
      <h2 id="unknown-caller-heading">{session && !seesEveryCustomer(session.user) ? t('phone.pop.notYours') : t('phone.pop.unregistered')}</h2>
      <p className="caller-number" data-testid="unknown-caller-number">
        {number || t('phone.anonymous')}
      </p>
      {mayCreate ? (
        <CreateCustomerForm callId={call.id} e164={call.identity.e164} onCreated={(detail) => useCustomerStore.getState().show(detail)} />
      ) : (
        <p className="muted">{t('phone.create.notAllowed')}</p>
      )}
    </section>
  );
}
