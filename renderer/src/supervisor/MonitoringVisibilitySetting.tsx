import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';

/**
 * The tenant's setting whether operators see that a supervisor monitors their call; admins
 * change it here (the app has no admin console yet), the backend enforces who may.
 */
export function MonitoringVisibilitySetting() {
  const { t } = useTranslation();
  const id = useId();
  const [visible, setVisible] = useState<boolean | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    let current = true;
    void invoke('monitor:settings', undefined).then((result) => {
      if (!current) return;
      if (result.ok) setVisible(result.value.visibleToOperator);
      else setError(result.error);
    });
    return () => {
      current = false;
    };
  }, []);

  const change = async (next: boolean) => {
    setSaving(true);
    const result = await invoke('monitor:setSettings', { visibleToOperator: next });
    setSaving(false);
    if (result.ok) {
      setVisible(result.value.visibleToOperator);
      setError(null);
    } else setError(result.error);
  };

  return (
    <div className="monitoring-setting" data-testid="monitoring-visibility">
      <input
        id={id}
        type="checkbox"
        checked={visible ?? false}
        disabled={visible === null || saving}
        onChange={(event) => void change(event.target.checked)}
      />
      <label htmlFor={id}>{t('monitor.visibleToOperator')}</label>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </div>
  );
}
