import { useTranslation } from 'react-i18next';
import { DERIVED_CHANNELS, type DerivedAttributes } from '../../../shared/domain.js';
import { formatDateTime } from '../format.js';
import { formatAgo } from '../portal/web-activity.js';
import { useUiStore } from '../stores/ui.js';

/** A plain key → text function: the typed `t` over every resource key is too deep for tsc here. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

/**
 * What the backend's derived-attributes job learned about the customer from the logs
 * (docs/derived-attributes.md), and when: shown in the customer panel from the cached customer.
 */
export function DerivedAttributesSection({ derived }: { derived: DerivedAttributes | undefined }) {
  const { t: typedT } = useTranslation();
  const t = typedT as unknown as Translate;
  const language = useUiStore((s) => s.language);
  if (!derived) return null;
  const channels = DERIVED_CHANNELS.filter((channel) => derived.lastContactAt[channel] !== undefined);
  return (
    <section className="derived-attributes" aria-labelledby="derived-heading" data-testid="derived-attributes">
      <h3 id="derived-heading">{t('derived.heading')}</h3>
      <p className="muted" data-testid="derived-computed">
        <time dateTime={derived.computedAt} title={formatDateTime(derived.computedAt, language)}>
          {t('derived.computed', { ago: formatAgo(derived.computedAt, language) })}
        </time>
      </p>
      <dl className="attributes">
        <div>
          <dt>{t('derived.lastContact')}</dt>
          <dd>
            {channels.length === 0 ? (
              t('derived.nothing')
            ) : (
              <ul className="plain-list">
                {channels.map((channel) => (
                  <li key={channel} data-testid={`derived-last-${channel}`}>
                    {t(`derived.channel.${channel}`)}:{' '}
                    <time dateTime={derived.lastContactAt[channel]}>{formatDateTime(derived.lastContactAt[channel]!, language)}</time>{' '}
                    <span className="muted">({t('derived.count', { count: derived.contactCounts[channel] ?? 0 })})</span>
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('derived.preferredChannel')}</dt>
          <dd data-testid="derived-preferred-channel">{derived.preferredChannel ? t(`derived.channel.${derived.preferredChannel}`) : t('derived.unknown')}</dd>
        </div>
        <div>
          <dt>{t('derived.preferredDayPart')}</dt>
          <dd data-testid="derived-preferred-day-part">{derived.preferredDayPart ? t(`derived.dayPart.${derived.preferredDayPart}`) : t('derived.unknown')}</dd>
        </div>
        {derived.productsOfInterest.length > 0 && (
          <div>
            <dt>{t('derived.productsOfInterest')}</dt>
            <dd>
              <ol className="plain-list" data-testid="derived-products">
                {derived.productsOfInterest.map((product) => (
                  <li key={product.productId}>
                    {product.title} <span className="muted">({product.ordered ? `${t('derived.ordered')}, ` : ''}{t('derived.score', { score: product.score })})</span>
                  </li>
                ))}
              </ol>
            </dd>
          </div>
        )}
      </dl>
      {derived.promotion && (
        <p data-testid="derived-promotion">
          {t('derived.promotion', {
            from: t(`customer.type.${derived.promotion.from}`),
            to: t(`customer.type.${derived.promotion.to}`),
            at: formatDateTime(derived.promotion.at, language),
          })}
        </p>
      )}
    </section>
  );
}
