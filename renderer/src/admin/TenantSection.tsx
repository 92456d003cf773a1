import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { TenantSettingsUpdate, type TenantSettings } from '../../../shared/admin.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { FieldError, fieldAria } from './FieldError.js';
import { checkForm, fieldErrorsFromError, type FieldErrors } from './field-errors.js';

/** Every zone the browser knows, with UTC (which `supportedValuesOf` leaves out) and the one set now. */
function zoneChoices(current: string | null): string[] {
  const zones = new Set(Intl.supportedValuesOf('timeZone'));
  zones.add('UTC');
  if (current !== null) zones.add(current);
  return [...zones].sort();
}

/** The tenant's own settings: the time zone its reports count days, weeks and months in. */
export function TenantSection() {
  const { t } = useTranslation();
  const id = useId();
  const [settings, setSettings] = useState<TenantSettings | null>(null);
  const [zone, setZone] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);
  const zones = useMemo(() => zoneChoices(settings?.timeZone ?? null), [settings]);

  const show = (value: TenantSettings) => {
    setSettings(value);
    setZone(value.timeZone ?? '');
  };
  useEffect(() => {
    void invoke('admin:tenantSettings', undefined).then((result) => (result.ok ? show(result.value) : setProblem(result.error)));
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const checked = checkForm(TenantSettingsUpdate, { timeZone: zone === '' ? null : zone });
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    const result = await invoke('admin:saveTenantSettings', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    show(result.value);
    setSaved(true);
  }

  return (
    <section aria-labelledby="admin-tenant-heading" data-testid="admin-tenant">
      <h3 id="admin-tenant-heading">{t('admin.tenant.heading')}</h3>
      {settings && (
        <form className="admin-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="admin-tenant-heading">
          <label>
            {t('admin.tenant.timeZone')}
            <select value={zone} onChange={(e) => setZone(e.target.value)} {...fieldAria(`${id}-z`, errors, 'timeZone', `${id}-zh`)}>
              <option value="">{t('admin.tenant.deploymentDefault', { zone: settings.deploymentTimeZone })}</option>
              {zones.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <p className="hint" id={`${id}-zh`}>
            {t('admin.tenant.timeZoneHint')}
          </p>
          <FieldError id={`${id}-z`} errors={errors} field="timeZone" />
          <div className="form-actions">
            <button type="submit" className="primary">
              {t('admin.tenant.save')}
            </button>
            {saved && <span role="status">{t('admin.saved')}</span>}
          </div>
        </form>
      )}
      {problem && (
        <p className="error" role="alert">
          <ErrorText error={problem} />
        </p>
      )}
    </section>
  );
}
