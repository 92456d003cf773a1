import { useTranslation } from 'react-i18next';
import type { RepRequestDetails } from '../../../shared/rep-requests.js';
import { CallBackButton, openCustomer } from '../history/CallHistory.js';

/**
 * A customer's request from the portal inside its "calls for you" entry: what they asked for,
 * about which product, how and when they want to be reached, and (address changes) the old and
 * new address; with the customer one click away and a call back when the phone is up. Marking
 * it handled, the callback text and the reply mail are the entry's own.
 */
export function RepRequestDetailsView({ request, customerId, label }: { request: RepRequestDetails; customerId: string | null; label: string }) {
  const { t } = useTranslation();
  return (
    <div className="cfy-request" data-testid="cfy-request" data-kind={request.kind} data-routed-by={request.routedBy}>
      <p>
        <strong>{t(`repRequests.kind.${request.kind}`)}</strong>{' '}
        <span>{t(`repRequests.routedBy.${request.routedBy}`, { region: request.region ? t(`repRequests.region.${request.region}`) : '' })}</span>
      </p>
      {request.product && <p data-testid="cfy-request-product">{t('repRequests.product', { title: request.product.title })}</p>}
      <ul className="cfy-request-facts">
        {request.preferredMethod && <li>{t('repRequests.preferredMethod', { method: t(`repRequests.method.${request.preferredMethod}`) })}</li>}
        {request.preferredTime && <li>{t('repRequests.preferredTime', { time: request.preferredTime })}</li>}
        {request.requestedAction && <li>{t('repRequests.requestedAction', { action: t(`repRequests.action.${request.requestedAction}`) })}</li>}
        {request.address && <li>{t('repRequests.newAddress', { postalCode: request.address.postalCode, address: request.address.address })}</li>}
        {request.address && <li>{t('repRequests.oldAddress', { postalCode: request.address.previousPostalCode, address: request.address.previousAddress })}</li>}
      </ul>
      {request.message && <p className="cfy-request-message">{request.message}</p>}
      <p className="cfy-request-actions">
        {customerId && (
          <button type="button" className="quiet" onClick={() => openCustomer(customerId)}>
            {t('repRequests.openCustomer')}
          </button>
        )}
        <CallBackButton remote={request.customerPhone ?? ''} customerId={customerId} label={label} />
      </p>
    </div>
  );
}
