import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { NewWindowButton } from '../shell/NewWindowButton.js';
import { useSessionStore } from '../stores/session.js';
import { ErrorText } from './ErrorText.js';
import { LanguageSwitch } from './LanguageSwitch.js';

/** Seconds left until `retryAt` (epoch ms), ticking each second; 0 when there is nothing to wait for. */
function useRetryCountdown(retryAt: number | null, waitSeconds: number): number {
  const [now, setNow] = useState(() => Date.now());
  const [countingFor, setCountingFor] = useState(retryAt);
  // A new refusal restarts the clock at once, not at the next tick (React's "adjust state on a prop change").
  if (countingFor !== retryAt) {
    setCountingFor(retryAt);
    // The refusal arrived `waitSeconds` before `retryAt`: the count starts there.
    setNow(retryAt === null ? 0 : retryAt - waitSeconds * 1000);
  }
  useEffect(() => {
    if (retryAt === null) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= retryAt) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [retryAt]);
  return retryAt === null ? 0 : Math.max(0, Math.ceil((retryAt - now) / 1000));
}

function RetryAfter({ seconds }: { seconds: number }) {
  const { t } = useTranslation();
  if (seconds <= 0) return <>{t('login.retryNow')}</>;
  // Past a minute, a ticking second count only makes the wait look longer.
  if (seconds > 90) return <>{t('login.retryInMinutes', { count: Math.ceil(seconds / 60) })}</>;
  return <>{t('login.retryInSeconds', { count: seconds })}</>;
}

export function Login() {
  const { t } = useTranslation();
  const signingIn = useSessionStore((s) => s.signingIn);
  const loginError = useSessionStore((s) => s.loginError);
  const coreError = useSessionStore((s) => s.coreError);
  const notice = useSessionStore((s) => s.notice);
  const login = useSessionStore((s) => s.login);
  const [tenant, setTenant] = useState('');
  const [loginId, setLoginId] = useState('');
  const [password, setPassword] = useState('');
  const throttled = loginError?.code === 'rate_limited';
  const loginRetryAt = useSessionStore((s) => s.loginRetryAt);
  const waitSeconds = useRetryCountdown(loginRetryAt, throttled ? (loginError.retryAfterSeconds ?? 0) : 0);

  function submit(event: FormEvent) {
    event.preventDefault();
    void login({ tenant, login: loginId, password }).then((signedIn) => {
      if (!signedIn) setPassword('');
    });
  }

  const invalid = loginError?.code === 'invalid_input' || loginError?.code === 'unauthenticated';
  return (
    <div className="login-page">
      <header className="login-header">
        <span className="login-brand">
          <span className="brand-mark" aria-hidden="true">
            {t('app.mark')}
          </span>
          {t('app.name')}
        </span>
        <div className="login-header-actions">
          <NewWindowButton />
          <LanguageSwitch />
        </div>
      </header>
      <main className="login-main">
        <form className="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
          <h1 id="login-title">{t('login.title')}</h1>
          <p className="muted">{t('login.subtitle')}</p>
          {notice === 'expired' && (
            <p className="notice" role="status">
              {t('login.expired')}
            </p>
          )}
          {coreError && (
            <p className="error" role="alert" data-code={coreError.code}>
              {t('login.coreUnavailable')} <span className="error-detail">{coreError.message}</span>
            </p>
          )}
          <div className="field">
            <label htmlFor="login-tenant">{t('login.tenant')}</label>
            <input
              id="login-tenant"
              name="tenant"
              autoComplete="organization"
              required
              aria-invalid={invalid && !tenant.trim() ? true : undefined}
              value={tenant}
              onChange={(e) => setTenant(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="login-id">{t('login.loginId')}</label>
            <input
              id="login-id"
              name="login"
              autoComplete="username"
              required
              aria-invalid={invalid && !loginId.trim() ? true : undefined}
              value={loginId}
              onChange={(e) => setLoginId(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="login-password">{t('login.password')}</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              aria-invalid={invalid && !password ? true : undefined}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {loginError && (
            <p className="error" role="alert" data-testid="login-error" data-code={loginError.code}>
              {loginError.code === 'unauthenticated' ? (
                t('login.wrongCredentials')
              ) : throttled ? (
                <>
                  {t('login.tooManyAttempts')}{' '}
                  <span data-testid="login-retry-after" data-seconds={waitSeconds}>
                    <RetryAfter seconds={waitSeconds} />
                  </span>
                </>
              ) : loginError.code === 'invalid_input' ? (
                t('login.missingFields')
              ) : (
                <ErrorText error={loginError} />
              )}
            </p>
          )}
          <button type="submit" className="primary" disabled={signingIn || waitSeconds > 0}>
            {signingIn ? t('login.signingIn') : t('login.submit')}
          </button>
        </form>
      </main>
    </div>
  );
}
