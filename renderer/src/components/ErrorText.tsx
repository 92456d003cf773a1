import { useTranslation } from 'react-i18next';
import type { AppError } from '../../../shared/result.js';

/** The translated meaning of the error code; the core's own wording (English, technical) follows for support. */
export function ErrorText({ error }: { error: AppError }) {
  const { t } = useTranslation();
  return (
    <>
      {t(`errors.${error.code}`)}
      {error.code !== 'offline' && error.code !== 'unauthenticated' && error.message && (
        <span className="error-detail"> ({error.message})</span>
      )}
    </>
  );
}
