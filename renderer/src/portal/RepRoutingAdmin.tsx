import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { CoverageRow, JpRegion, RepRoutingSettings } from '../../../shared/rep-requests.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';

interface DraftRow {
  region: JpRegion | '';
  productId: string;
  repId: string;
}

/**
 * Admins: where "contact my rep" requests go. The coverage table (region × product → rep), the
 * fallback user, the customer-information manager's address, each rep's e-mail address and the
 * rep's e-mail template. Saved as a whole; the backend names the row it refuses.
 */
export function RepRoutingAdmin() {
  const { t } = useTranslation();
  const id = useId();
  const [settings, setSettings] = useState<RepRoutingSettings | null>(null);
  const [rows, setRows] = useState<DraftRow[]>([]);
  const [fallbackUserId, setFallbackUserId] = useState('');
  const [infoManagerEmail, setInfoManagerEmail] = useState('');
  const [repEmails, setRepEmails] = useState<Record<string, string>>({});
  const [mailSubject, setMailSubject] = useState('');
  const [mailBody, setMailBody] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  const load = (value: RepRoutingSettings) => {
    setSettings(value);
    setRows(value.coverage.map((row) => ({ ...row })));
    setFallbackUserId(value.fallbackUserId ?? '');
    setInfoManagerEmail(value.infoManagerEmail ?? '');
    setRepEmails(Object.fromEntries(value.repEmails.map((row) => [row.userId, row.email])));
    setMailSubject(value.mailSubject);
    setMailBody(value.mailBody);
  };

  useEffect(() => {
    void invoke('repRouting:get', null).then((result) => (result.ok ? load(result.value) : setError(result.error)));
  }, []);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const coverage: CoverageRow[] = rows.flatMap((row) => (row.region && row.productId && row.repId ? [{ region: row.region, productId: row.productId, repId: row.repId }] : []));
    const result = await invoke('repRouting:save', {
      coverage,
      fallbackUserId: fallbackUserId || null,
      infoManagerEmail: infoManagerEmail.trim() || null,
      mailSubject,
      mailBody,
      repEmails: Object.entries(repEmails).flatMap(([userId, email]) => (email.trim() ? [{ userId, email: email.trim() }] : [])),
    });
    if (result.ok) {
      load(result.value);
      setError(null);
      setSaved(true);
    } else {
      setError(result.error);
    }
  };

  if (!settings) {
    return error ? (
      <p className="error" role="alert">
        <ErrorText error={error} />
      </p>
    ) : (
      <p role="status">{t('repRequests.admin.loading')}</p>
    );
  }
  const setRow = (index: number, patch: Partial<DraftRow>) => setRows(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));

  return (
    <section className="rep-routing-admin" data-testid="rep-routing-admin" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>{t('repRequests.admin.heading')}</h2>
      <p>{t('repRequests.admin.intro')}</p>
      <form onSubmit={(event) => void save(event)}>
        <table>
          <caption>{t('repRequests.admin.coverage')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('repRequests.admin.region')}</th>
              <th scope="col">{t('repRequests.admin.product')}</th>
              <th scope="col">{t('repRequests.admin.rep')}</th>
              <th scope="col">{t('repRequests.admin.remove')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, index) => (
              <tr key={index} data-testid="coverage-row">
                <td>
                  <select aria-label={t('repRequests.admin.region')} value={row.region} onChange={(e) => setRow(index, { region: e.target.value as JpRegion })}>
                    <option value="">{t('repRequests.admin.choose')}</option>
                    {settings.regions.map((region) => (
                      <option key={region} value={region}>
                        {t(`repRequests.region.${region}`)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <select aria-label={t('repRequests.admin.product')} value={row.productId} onChange={(e) => setRow(index, { productId: e.target.value })}>
                    <option value="">{t('repRequests.admin.choose')}</option>
                    {settings.products.map((product) => (
                      <option key={product.id} value={product.id}>
                        {product.title}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <select aria-label={t('repRequests.admin.rep')} value={row.repId} onChange={(e) => setRow(index, { repId: e.target.value })}>
                    <option value="">{t('repRequests.admin.choose')}</option>
                    {settings.users.map((user) => (
                      <option key={user.id} value={user.id}>
                        {user.branch ? `${user.name}（${user.branch}）` : user.name}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button type="button" className="quiet" onClick={() => setRows(rows.filter((_, i) => i !== index))}>
                    {t('repRequests.admin.remove')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => setRows([...rows, { region: '', productId: '', repId: '' }])}>
          {t('repRequests.admin.addRow')}
        </button>

        <label htmlFor={`${id}-fallback`}>{t('repRequests.admin.fallback')}</label>
        <select id={`${id}-fallback`} value={fallbackUserId} onChange={(e) => setFallbackUserId(e.target.value)}>
          <option value="">{t('repRequests.admin.noFallback')}</option>
          {settings.users.map((user) => (
            <option key={user.id} value={user.id}>
              {user.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-manager`}>{t('repRequests.admin.infoManager')}</label>
        <input id={`${id}-manager`} type="email" maxLength={320} value={infoManagerEmail} onChange={(e) => setInfoManagerEmail(e.target.value)} />

        <fieldset>
          <legend>{t('repRequests.admin.repEmails')}</legend>
          {settings.users.map((user) => (
            <label key={user.id} className="rep-email">
              <span>{user.name}</span>
              <input
                type="email"
                maxLength={320}
                aria-label={`${user.name} ${t('repRequests.admin.email')}`}
                value={repEmails[user.id] ?? ''}
                onChange={(e) => setRepEmails({ ...repEmails, [user.id]: e.target.value })}
              />
            </label>
          ))}
        </fieldset>

        <label htmlFor={`${id}-subject`}>{t('repRequests.admin.mailSubject')}</label>
        <input id={`${id}-subject`} required maxLength={300} value={mailSubject} onChange={(e) => setMailSubject(e.target.value)} />
        <label htmlFor={`${id}-body`}>{t('repRequests.admin.mailBody')}</label>
        <textarea id={`${id}-body`} required rows={8} maxLength={10_000} value={mailBody} onChange={(e) => setMailBody(e.target.value)} />
        <p className="hint">{t('repRequests.admin.placeholders', { list: settings.placeholders.map((name) => `{{${name}}}`).join(' ') })}</p>
        <div className="form-actions">
          <button type="submit" className="primary">
            {t('repRequests.admin.save')}
          </button>
          {saved && <span role="status">{t('repRequests.admin.saved')}</span>}
        </div>
        {error && (
          <p className="error" role="alert">
            <ErrorText error={error} />
          </p>
        )}
      </form>
    </section>
  );
}
