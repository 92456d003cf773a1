import { useTranslation } from 'react-i18next';
import { useSessionStore } from '../stores/session.js';
import { CustomersSection } from './CustomersSection.js';
import { MailSettingsSection } from './MailSettingsSection.js';
import { TelephonySection } from './TelephonySection.js';
import { TemplatesSection } from './TemplatesSection.js';
import { TenantSection } from './TenantSection.js';
import { UsersSection } from './UsersSection.js';
import { sectionsFor, useAdminStore, type AdminSection } from './store.js';

function Section({ section }: { section: AdminSection }) {
  switch (section) {
    case 'users':
      return <UsersSection />;
    case 'customers':
      return <CustomersSection />;
    case 'templates':
      return <TemplatesSection />;
    case 'mailSettings':
      return <MailSettingsSection />;
    case 'telephony':
      return <TelephonySection />;
    case 'tenant':
      return <TenantSection />;
  }
}

/**
 * The admin console: admins see every section, supervisors the users (their agents' rights) and
 * customers' visibility. The backend enforces the same split; this only hides what would be refused.
 */
export function AdminConsole() {
  const { t } = useTranslation();
  const role = useSessionStore((s) => s.session?.user.role);
  const chosen = useAdminStore((s) => s.section);
  const sections = sectionsFor(role);
  const section = sections.includes(chosen) ? chosen : sections[0];
  if (section === undefined) return null;
  return (
    <div className="admin-console" data-testid="admin-console">
      <h2>{t('admin.heading')}</h2>
      <div role="tablist" aria-label={t('admin.sections')}>
        {sections.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            id={`admin-tab-${name}`}
            aria-selected={name === section}
            aria-controls="admin-panel"
            data-testid={`admin-tab-${name}`}
            onClick={() => useAdminStore.getState().show(name)}
          >
            {t(`admin.section.${name}`)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="admin-panel" aria-labelledby={`admin-tab-${section}`}>
        <Section section={section} />
      </div>
    </div>
  );
}
