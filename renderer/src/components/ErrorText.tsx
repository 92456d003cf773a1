import { useTranslation } from 'react-i18next';
import type { AppError } from '../../../shared/result.js';

/** Codes whose translation says everything: the core's English wording would only mix languages. */
const SELF_EXPLAINING = new Set<AppError['code']>(['offline', 'unauthenticated', 'not_configured']);

/** The translated meaning of the error code; the core's own wording (English, technical) follows for support. */
export function ErrorText({ error }: { error: AppError }) {
  const { t } = useTranslation();
  return (
    <>
      {t(`errors.${error.code}`)}
      {!SELF_EXPLAINING.has(error.code) && error.message && (
        <span className="error-detail"> ({error.message})</span>
      )}
    </>
  );
}
