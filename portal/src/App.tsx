import { useCallback, useEffect, useState } from 'react';
import type { PortalSession } from '../../shared/portal.js';
import { portalApi } from './api.js';
import { CallMe } from './CallMe.js';
import { Catalogue, Orders, PageView } from './Catalogue.js';
import { AddressChange } from './ContactRep.js';
import { initialLanguage, rememberLanguage, translate, type PortalLanguage } from './i18n.js';
import { LanguageContext } from './language.js';
import { ScreenShare } from './ScreenShare.js';
import { InvitationForm, SignIn } from './SignIn.js';
import { flushActivity } from './tracker.js';

type Route = { name: 'home' } | { name: 'page'; slug: string } | { name: 'orders' } | { name: 'address' } | { name: 'invite'; token: string } | { name: 'callme' };

function readRoute(): Route {
  const hash = window.location.hash.replace(/^#/, '');
  const page = /^\/p\/([^/]+)$/.exec(hash);
  if (page) return { name: 'page', slug: decodeURIComponent(page[1]!) };
  const invite = /^\/invite\/([\w-]+)$/.exec(hash);
  if (invite) return { name: 'invite', token: invite[1]! };
  if (hash === '/orders') return { name: 'orders' };
  if (hash === '/callme') return { name: 'callme' };
  if (hash === '/address') return { name: 'address' };
  return { name: 'home' };
}

export function App() {
  const [language, setLanguage] = useState<PortalLanguage>(initialLanguage);
  const [session, setSession] = useState<PortalSession | null | undefined>(undefined);
  const [route, setRoute] = useState<Route>(readRoute);
  const [failure, setFailure] = useState<string | null>(null);
  const t = (key: Parameters<typeof translate>[1], values?: Record<string, string | number>) => translate(language, key, values);

  useEffect(() => {
    const onHash = () => setRoute(readRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    portalApi.session().then(setSession, (error: unknown) => setFailure(String(error)));
  }, []);
  useEffect(() => {
    document.documentElement.lang = language;
    document.title = translate(language, 'title');
  }, [language]);

  const switchLanguage = () => {
    const next = language === 'ja' ? 'en' : 'ja';
    rememberLanguage(next);
    setLanguage(next);
  };
  const signedIn = useCallback((next: PortalSession) => {
    setSession(next);
    if (window.location.hash.startsWith('#/invite/')) window.location.hash = '#/';
  }, []);
  const signOut = async () => {
    await flushActivity();
    await portalApi.logout();
    setSession(null);
  };

  let main;
  if (failure) main = <p role="alert">{t('error', { message: failure })}</p>;
  else if (session === undefined) main = <p>{t('loading')}</p>;
  else if (route.name === 'invite' && session === null) main = <InvitationForm token={route.token} onSignedIn={signedIn} />;
  else if (session === null) main = <SignIn onSignedIn={signedIn} />;
  else if (route.name === 'page') main = <PageView key={route.slug} slug={route.slug} />;
  else if (route.name === 'orders') main = <Orders />;
  else if (route.name === 'callme') main = <CallMe />;
  else if (route.name === 'address') main = <AddressChange />;
  else main = <Catalogue />;

  return (
    <LanguageContext.Provider value={language}>
      <header className="portal-header">
        <h1>
          <a href="#/">{session ? session.tenant.name : t('title')}</a>
        </h1>
        <nav aria-label={t('title')}>
          {session && (
            <>
              <span className="who">
                {t('welcome', { name: session.customer.name })} · {t('rank', { rank: session.customer.rank })}
              </span>
              <a href="#/orders">{t('myOrders')}</a>
              <a href="#/callme">{t('callMe')}</a>
              <a href="#/address">{t('changeAddress')}</a>
              <button type="button" onClick={() => void signOut()}>
                {t('signOut')}
              </button>
            </>
          )}
          <button type="button" lang={language === 'ja' ? 'en' : 'ja'} aria-label={t('languageLabel')} onClick={switchLanguage}>
            {t('language')}
          </button>
        </nav>
      </header>
      <main>
        {main}
        {session && <ScreenShare />}
      </main>
    </LanguageContext.Provider>
  );
}
