import { useTranslation } from 'react-i18next';
import { UnhandledCallsBadge } from '../calls-for-you/UnhandledCallsBadge.js';
import { NewWindowButton } from '../shell/NewWindowButton.js';
import { isPartnerUser } from '../../../shared/permissions.js';
import { useSessionStore } from '../stores/session.js';
import { LanguageSwitch } from './LanguageSwitch.js';
import { SyncStatusView } from './SyncStatusView.js';

export function TopBar() {
  const { t } = useTranslation();
  const session = useSessionStore((s) => s.session);
  const logout = useSessionStore((s) => s.logout);
  const partner = session !== null && isPartnerUser(session.user);
  return (
    <header className="topbar">
      <h1 className="brand">
        <span className="brand-mark" aria-hidden="true">
          {t('app.mark')}
        </span>
        {t('app.name')}
      </h1>
      {/* A partner user has no cache to sync and no calls. */}
      {!partner && <SyncStatusView />}
      {!partner && <UnhandledCallsBadge />}
      <div className="topbar-user">
        {session && (
          <span className="user-name" data-testid="user-name">
            {session.user.displayName}
            <span className="tenant-name"> · {session.tenant.name}</span>
          </span>
        )}
        <LanguageSwitch />
        <NewWindowButton />
        <button type="button" className="quiet" onClick={() => void logout()}>
          {t('session.logout')}
        </button>
      </div>
    </header>
  );
}
