import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { ExchangeExports, ExchangeStatus } from './ExchangeExports.js';
import { useExchangeStore } from './store.js';

/** A partner user's whole app: the exports shared with its organisation, to download. */
export function PartnerExchange() {
  const { t } = useTranslation();
  useEffect(() => {
    void useExchangeStore.getState().load();
  }, []);
  return (
    <div className="exchange" data-testid="partner-exchange">
      <p className="exchange-intro">{t('exchange.partner.intro')}</p>
      <ExchangeStatus />
      <ExchangeExports mode="partner" />
    </div>
  );
}
