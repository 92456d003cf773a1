/**
 * Test hooks. Prefer roles and labels; these `data-testid`s exist where a role is ambiguous:
 *
 *   sync-status      top-bar sync status; attributes data-online="true|false", data-phase=<SyncStatus.phase|unknown>
 *   pending-count    number of notes waiting in the outbox (text and data-count)
 *   search-status    live text under the search box; data-phase="idle|searching|done|error"
 *   search-result    one search result (role=option); data-customer-id
 *   customer-panel   the right-hand panel; data-phase="empty|loading|ready|error"
 *   customer-code    the open customer's code
 *   incident-tree    the incident tree (role=tree, aria-label "Incidents" / "案件")
 *   incident         an incident (role=treeitem, aria-level=1, aria-expanded); data-incident-id
 *   contact          a contact (role=treeitem, aria-level=2); data-contact-id, data-pending="true|false"
 *   pending-badge    the "Pending" / "送信待ち" mark on a contact not yet sent
 *   add-note         the add-note form; its textarea is labelled "Note" / "メモ", its button "Save note" / "メモを保存"
 *   note-target      the incident title the note will be added to (the tree's current incident)
 *   login-error      login failure message; data-code=<ErrorCode>
 *   user-name        the signed-in user's display name
 *
 * Roles: the first-sync bar is role=progressbar (aria-valuenow/aria-valuemax); the search box
 * is role=combobox labelled "Search customers" / "顧客検索"; the language switch is two
 * buttons "日本語" and "English" with aria-pressed.
 */
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { currentBridge } from './api.js';
import { CustomerPanel } from './components/CustomerPanel.js';
import { Login } from './components/Login.js';
import { SearchPanel } from './components/SearchPanel.js';
import { TopBar } from './components/TopBar.js';
import { connectCoreEvents } from './events.js';
import { useSessionStore } from './stores/session.js';
import { useSyncStore } from './stores/sync.js';
import { useUiStore } from './stores/ui.js';

export function App() {
  const { t } = useTranslation();
  const phase = useSessionStore((s) => s.phase);
  const language = useUiStore((s) => s.language);

  useEffect(() => connectCoreEvents(currentBridge()), []);
  useEffect(() => {
    void useSessionStore.getState().load();
  }, []);
  useEffect(() => {
    document.title = t('app.title');
  }, [t, language]);

  if (phase === 'checking') {
    return (
      <main className="boot">
        <p role="status">{t('app.starting')}</p>
      </main>
    );
  }
  return phase === 'signedIn' ? <Workspace /> : <Login />;
}

function Workspace() {
  const { t } = useTranslation();
  useEffect(() => {
    void useSyncStore.getState().load();
  }, []);
  return (
    <div className="workspace-shell">
      <a className="skip-link" href="#customer-main">
        {t('app.skipToCustomer')}
      </a>
      <TopBar />
      <div className="workspace">
        <nav className="search-pane" aria-label={t('search.region')}>
          <SearchPanel />
        </nav>
        <main className="customer-pane" id="customer-main" tabIndex={-1}>
          <CustomerPanel />
        </main>
      </div>
    </div>
  );
}
