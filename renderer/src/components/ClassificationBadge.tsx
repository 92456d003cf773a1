import { useTranslation } from 'react-i18next';
import type { Classification } from '../../../shared/domain.js';

/** The level is spelled out, never told by colour alone. */
export function ClassificationBadge({ level }: { level: Classification }) {
  const { t } = useTranslation();
  return (
    <span className={`badge classification-${level}`} data-classification={level}>
      {t('classification.badge', { level, name: t(`classification.name.${level}`) })}
    </span>
  );
}
