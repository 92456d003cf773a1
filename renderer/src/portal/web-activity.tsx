import { useTranslation } from 'react-i18next';
import { readWebActivity, type WebActivityBody } from '../../../shared/portal.js';
import type { CachedContact } from '../../../shared/ipc.js';
import type { Language } from '../i18n/index.js';
import { useUiStore } from '../stores/ui.js';

/** How many of a customer's latest web actions the panel and the pop show. */
export const RECENT_WEB_ACTIONS = 5;

/** A web contact's action in the operator's language ("Viewed 投資信託 A"), or null for another contact. */
export function useDescribeWebActivity(): (contact: CachedContact) => string | null {
  const { t } = useTranslation();
  return (contact) => {
    if (contact.kind !== 'web') return null;
    const activity = readWebActivity(contact.body);
    return activity ? describe(t, activity) : null;
  };
}

/** A plain key → text function: the typed `t` over every resource key is too deep for tsc here. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

function describe(typedT: ReturnType<typeof useTranslation>['t'], activity: WebActivityBody): string {
  const t = typedT as unknown as Translate;
  const position = activity.positionSeconds != null ? formatPosition(activity.positionSeconds) : '';
  switch (activity.webActivity) {
    case 'page_view':
      return t('webActivity.page_view', { title: activity.title });
    case 'link_click':
      return t('webActivity.link_click', { title: activity.title, target: activity.target ?? '' });
    case 'video_play':
      return t('webActivity.video_play', { title: activity.title, position });
    case 'hotspot_click':
      return t('webActivity.hotspot_click', { title: activity.title, target: activity.target ?? '', position });
    case 'order':
      return t('webActivity.order', { title: activity.title, quantity: activity.quantity ?? 1 });
    default: {
      const never: never = activity.webActivity;
      return String(never);
    }
  }
}

function formatPosition(seconds: number): string {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

const relativeFormats = new Map<Language, Intl.RelativeTimeFormat>();

/** "3 minutes ago" / "3 分前", from the largest unit that fits. */
export function formatAgo(iso: string, language: Language, now = Date.now()): string {
  let format = relativeFormats.get(language);
  if (!format) {
    format = new Intl.RelativeTimeFormat(language, { numeric: 'auto' });
    relativeFormats.set(language, format);
  }
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(0, 'minute');
}

/** The customer's latest web actions, newest first: in the customer panel and in the screen pop. */
export function RecentWebActivity({ contacts, compact = false }: { contacts: CachedContact[]; compact?: boolean }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const describeContact = useDescribeWebActivity();
  const recent = contacts
    .filter((contact) => contact.kind === 'web')
    .sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt))
    .slice(0, RECENT_WEB_ACTIONS);
  if (recent.length === 0) return null;
  const Heading = compact ? 'h4' : 'h3';
  return (
    <section className={compact ? 'pop-block web-activity' : 'web-activity'} aria-label={t('webActivity.heading')} data-testid="web-activity">
      <Heading className={compact ? 'pop-heading' : undefined}>{t('webActivity.heading')}</Heading>
      <ul className="plain-list">
        {recent.map((contact) => (
          <li key={contact.id} data-testid="web-activity-item">
            {describeContact(contact) ?? contact.summary}{' '}
            <time className="muted" dateTime={contact.occurredAt}>
              {formatAgo(contact.occurredAt, language)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  );
}
