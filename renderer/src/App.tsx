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
 * Mail (renderer/src/mail): area-<customers|mail|returned|review|failed|live> work-area buttons
 * (aria-current=page, data-count); mail-desk (data-phase), offered-mail (data-mail-id),
 * mail-frame (the sandboxed iframe), mail-link, link-confirm, remote-images-blocked,
 * reply-composer, composer-status, returned-reply, review-comment, review-queue, review-item,
 * review-detail, failed-reply, live-view, agent-row (data-status), volume-chart.
 *
 * Phone (renderer/src/components/phone, renderer/src/phone):
 *   phone               the softphone pane; data-phase="off|starting|on|unavailable", data-registration=<RegistrationState>
 *   registration-status registration state (its text is a live region); data-state=<RegistrationState|unavailable>
 *   phone-extension     the agent's own SIP user (data-extension), which colleagues dial
 *   agent-status        the operator status select (label "Status" / "ステータス")
 *   call-card           a live call; data-call-id=<SIP Call-ID>, data-state=<CallState>, data-direction, data-waiting
 *   call-timer          talk time of a connected call
 *   screen-pop          the caller inside a call card; data-call-id, data-phase="loading|found|unknown|error"
 *   screen-pop-customer-code, pop-incident, pop-contact, screen-pop-unknown
 *   unknown-caller      "unregistered caller" above the customer panel; unknown-caller-number; create-customer (the form)
 *   keypad, transfer-form, phone-problem (data-code), ringtone-blocked, audio-moved
 *   wrap-up             the wrap-up form of the oldest ended call; data-call-id
 *   phone-settings      the devices and hotkeys dialog (role=dialog); hotkey-row (data-action), hotkey-combo
 * Buttons are named by their text: Answer, Decline, Hang up, Hold / Resume, Mute / Unmute, Keypad,
 * Transfer, Blind transfer, Consult, Complete transfer, Call, Save wrap-up (ja: 応答, 拒否, 切断, 保留, …).
 * Phone numbers in the customer panel are buttons named "Call <number>" / "<number> に発信".
 *
 * Admin console (renderer/src/admin): area-admin, admin-console, admin-tab-<users|customers|templates|mailSettings|telephony>,
 * admin-users, admin-user-row (data-login), admin-user-editor, admin-create-user, admin-customers, admin-customer-hit,
 * admin-customer-form, admin-templates, template-preview, field-error (data-field) beside the field it names.
 *
 * Exchange (renderer/src/exchange): exchange-admin, exchange-preview (data-total), exchange-preview-record,
 * exchange-exports (data-phase), exchange-export (data-export-id), exchange-shared-with, exchange-status
 * (data-busy), exchange-error (data-code), exchange-form-error; a partner user's app is partner-exchange.
 *
 * Roles: the first-sync bar is role=progressbar (aria-valuenow/aria-valuemax); the search box
 * is role=combobox labelled "Search customers" / "顧客検索"; the language switch is two
 * buttons "日本語" and "English" with aria-pressed.
 */
import { CallMeOfferCard } from './callme/CallMeOfferCard.js';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { currentBridge } from './api.js';
import { CustomerPanel } from './components/CustomerPanel.js';
import { CallerPanel } from './components/phone/CallerPanel.js';
import { PhonePane } from './components/phone/PhonePane.js';
import { Login } from './components/Login.js';
import { SearchPanel } from './components/SearchPanel.js';
import { TopBar } from './components/TopBar.js';
import { connectCoreEvents } from './events.js';
import { isPartnerUser } from '../../shared/permissions.js';
import { useCallsForYouReminder } from './calls-for-you/use-reminder.js';
import { useCallsForYouStore } from './calls-for-you/store.js';
import { CallHistory, MissedCallNotice } from './history/CallHistory.js';
import { useCallHistoryStore } from './history/store.js';
import { MailWorkArea } from './mail/components/MailWorkArea.js';
import { OfflineBanner } from './offline/OfflineBanner.js';
import { CacheProblemBanner } from './offline/CacheProblemBanner.js';
import { WorkAreaNav } from './mail/components/WorkAreaNav.js';
import { useWorkAreaStore } from './mail/stores/work-area.js';
import { useSessionStore } from './stores/session.js';
import { useSyncStore } from './stores/sync.js';
import { useUiStore } from './stores/ui.js';
import { lazyScreen } from './shell/lazy-screen.js';

// Screens an operator does not open while waiting for calls: chunks of their own (lazy-screen.tsx).
const AdminConsole = lazyScreen(() => import('./admin/AdminConsole.js').then((m) => m.AdminConsole));
const ExchangeAdmin = lazyScreen(() => import('./exchange/ExchangeAdmin.js').then((m) => m.ExchangeAdmin));
const PartnerExchange = lazyScreen(() => import('./exchange/PartnerExchange.js').then((m) => m.PartnerExchange));
const CallsForYou = lazyScreen(() => import('./calls-for-you/CallsForYou.js').then((m) => m.CallsForYou));
const PortalAdmin = lazyScreen(() => import('./portal/PortalAdmin.js').then((m) => m.PortalAdmin));
const RepRoutingAdmin = lazyScreen(() => import('./portal/RepRoutingAdmin.js').then((m) => m.RepRoutingAdmin));

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
  return phase === 'signedIn' ? <SignedIn /> : <Login />;
}

/**
 * What a signed-in user works in. Important: a partner user gets the exchange alone, so none of
 * the operator's parts start for it (no softphone, no sync or cache of customers, no mail).
 */
function SignedIn() {
  const partner = useSessionStore((s) => (s.session ? isPartnerUser(s.session.user) : false));
  return partner ? <PartnerWorkspace /> : <Workspace />;
}

function PartnerWorkspace() {
  const { t } = useTranslation();
  return (
    <div className="workspace-shell">
      <a className="skip-link" href="#exchange-main">
        {t('app.skipToCustomer')}
      </a>
      <TopBar />
      <main className="history-pane" id="exchange-main" tabIndex={-1}>
        <PartnerExchange />
      </main>
    </div>
  );
}

function Workspace() {
  const { t } = useTranslation();
  const area = useWorkAreaStore((s) => s.area);
  useEffect(() => {
    void useSyncStore.getState().load();
    void useCallHistoryStore.getState().loadCounts();
    void useCallsForYouStore.getState().loadCounts();
  }, []);
  useCallsForYouReminder();
  return (
    <div className="workspace-shell">
      <a className="skip-link" href="#customer-main">
        {t('app.skipToCustomer')}
      </a>
      <TopBar />
      <OfflineBanner />
      <CacheProblemBanner />
      <div className="shell-body">
        <div className="shell-main">
          <WorkAreaNav />
          <MissedCallNotice />
          <CallMeOfferCard />
          <div className="workspace" hidden={area !== 'customers'}>
            <nav className="search-pane" aria-label={t('search.region')}>
              <SearchPanel />
            </nav>
            <main className="customer-pane" id="customer-main" tabIndex={-1}>
              <CallerPanel />
              <CustomerPanel />
            </main>
          </div>
          {area === 'callsForYou' && (
            <main className="history-pane" id="calls-for-you-main" tabIndex={-1}>
              <CallsForYou />
            </main>
          )}
          {area === 'history' && (
            <main className="history-pane" id="history-main" tabIndex={-1}>
              <CallHistory />
            </main>
          )}
          {area === 'exchange' && (
            <main className="history-pane" id="exchange-main" tabIndex={-1}>
              <ExchangeAdmin />
            </main>
          )}
          {area === 'portal' && (
            <main className="history-pane" id="portal-main" tabIndex={-1}>
              <PortalAdmin />
              <RepRoutingAdmin />
            </main>
          )}
          {area === 'admin' && (
            <main className="history-pane" id="admin-main" tabIndex={-1}>
              <AdminConsole />
            </main>
          )}
          <MailWorkArea />
        </div>
        <PhonePane />
      </div>
    </div>
  );
}
