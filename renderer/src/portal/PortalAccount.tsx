import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { mayChangeCustomerVisibility } from '../../../shared/permissions.js';
import { PORTAL_MAX_RANK, PORTAL_MIN_RANK, type CustomerPortalInfo, type PortalInvitation } from '../../../shared/portal.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { useSessionStore } from '../stores/session.js';

const RANKS = Array.from({ length: PORTAL_MAX_RANK - PORTAL_MIN_RANK + 1 }, (_, index) => PORTAL_MIN_RANK + index);

/**
 * The customer's portal account in the customer panel: their rank (supervisors and admins
 * change it), whether they can sign in, an invitation link to send them, and what they ordered.
 * Online only; offline it says so and the rest of the panel works as ever.
 */
export function PortalAccount({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const user = useSessionStore((s) => s.session?.user ?? null);
  const [account, setAccount] = useState<CustomerPortalInfo | null>(null);
  const [invitation, setInvitation] = useState<PortalInvitation | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let current = true;
    void invoke('portal:account', { customerId }).then((result) => {
      if (!current) return;
      if (result.ok) setAccount(result.value);
      else setError(result.error);
    });
    return () => {
      current = false;
    };
  }, [customerId]);

  const setRank = async (rank: number) => {
    setBusy(true);
    const result = await invoke('portal:setRank', { customerId, rank });
    setBusy(false);
    if (result.ok) {
      setAccount(result.value);
      setError(null);
    } else setError(result.error);
  };
  const invite = async () => {
    setBusy(true);
    const result = await invoke('portal:invite', { customerId });
    setBusy(false);
    if (result.ok) {
      setInvitation(result.value);
      setAccount((previous) => (previous ? { ...previous, invitationPending: true } : previous));
      setError(null);
    } else setError(result.error);
  };

  const mayRank = user !== null && mayChangeCustomerVisibility(user);
  return (
    <section className="portal-account" aria-labelledby="portal-account-heading" data-testid="portal-account">
      <h3 id="portal-account-heading">{t('portalStaff.heading')}</h3>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {account && (
        <>
          <dl className="attributes">
            <div>
              <dt>
                <label htmlFor="portal-rank">{t('portalStaff.rank')}</label>
              </dt>
              <dd>
                {mayRank ? (
                  <select id="portal-rank" value={account.rank} disabled={busy} onChange={(event) => void setRank(Number(event.target.value))} data-testid="portal-rank">
                    {RANKS.map((rank) => (
                      <option key={rank} value={rank}>
                        {rank}
                      </option>
                    ))}
                  </select>
                ) : (
                  <span id="portal-rank" data-testid="portal-rank">
                    {account.rank}
                  </span>
                )}
              </dd>
            </div>
            <div>
              <dt>{t('portalStaff.signIn')}</dt>
              <dd data-testid="portal-sign-in-state">
                {account.hasPassword ? t('portalStaff.hasPassword') : account.invitationPending ? t('portalStaff.invited') : t('portalStaff.noPassword')}
              </dd>
            </div>
            <div className="wide">
              <dt>{t('portalStaff.owned')}</dt>
              <dd>
                {account.ownedProducts.length === 0 ? (
                  t('customer.none')
                ) : (
                  <ul className="plain-list">
                    {account.ownedProducts.map((product) => (
                      <li key={product.productId}>{t('portalStaff.ownedItem', { title: product.title, quantity: product.quantity })}</li>
                    ))}
                  </ul>
                )}
              </dd>
            </div>
          </dl>
          <p>
            <button type="button" className="quiet" disabled={busy} onClick={() => void invite()}>
              {t('portalStaff.invite')}
            </button>
          </p>
          {invitation && (
            <p>
              <label>
                {t('portalStaff.invitationLink')}
                <input type="text" readOnly value={invitation.url} data-testid="portal-invitation-url" onFocus={(event) => event.target.select()} />
              </label>
            </p>
          )}
        </>
      )}
    </section>
  );
}
