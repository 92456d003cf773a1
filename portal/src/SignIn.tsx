import { useState, type FormEvent } from 'react';
import type { PortalSession } from '../../shared/portal.js';
import { portalApi, PortalApiError } from './api.js';
import { useT } from './language.js';

function messageOf(error: unknown): string {
  return error instanceof PortalApiError ? error.message : String(error);
}

export function SignIn({ onSignedIn }: { onSignedIn: (session: PortalSession) => void }) {
  const t = useT();
  const [mode, setMode] = useState<'password' | 'code'>('password');
  const [customerCode, setCustomerCode] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [codeSent, setCodeSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  const submitPassword = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => onSignedIn(await portalApi.login(customerCode, password)));
  };
  const submitCode = (event: FormEvent) => {
    event.preventDefault();
    if (!codeSent) {
      void run(async () => {
        await portalApi.requestCode(customerCode, email);
        setCodeSent(true);
      });
    } else {
      void run(async () => onSignedIn(await portalApi.verifyCode(customerCode, code)));
    }
  };

  return (
    <section className="card sign-in" aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">{t('signIn')}</h2>
      <div role="tablist" className="tabs">
        <button type="button" role="tab" aria-selected={mode === 'password'} onClick={() => setMode('password')}>
          {t('withPassword')}
        </button>
        <button type="button" role="tab" aria-selected={mode === 'code'} onClick={() => setMode('code')}>
          {t('withCode')}
        </button>
      </div>
      <form onSubmit={mode === 'password' ? submitPassword : submitCode}>
        <label>
          {t('customerCode')}
          <input name="customerCode" autoComplete="username" required value={customerCode} onChange={(event) => setCustomerCode(event.target.value)} />
        </label>
        {mode === 'password' ? (
          <label>
            {t('password')}
            <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
          </label>
        ) : (
          <>
            <label>
              {t('email')}
              <input name="email" type="email" autoComplete="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
            </label>
            {codeSent && (
              <>
                <p role="status">{t('codeSent')}</p>
                <label>
                  {t('code')}
                  <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="\d{6}" required value={code} onChange={(event) => setCode(event.target.value)} />
                </label>
              </>
            )}
          </>
        )}
        {error && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {mode === 'code' && !codeSent ? t('sendCode') : t('signIn')}
        </button>
      </form>
    </section>
  );
}

export function InvitationForm({ token, onSignedIn }: { token: string; onSignedIn: (session: PortalSession) => void }) {
  const t = useT();
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== repeat) {
      setError(t('passwordsDiffer'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await portalApi.acceptInvitation(token, password));
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="invitation-title">
      <h2 id="invitation-title">{t('invitationTitle')}</h2>
      <form onSubmit={(event) => void submit(event)}>
        <label>
          {t('newPassword')}
          <input name="newPassword" type="password" autoComplete="new-password" minLength={10} required value={password} onChange={(event) => setPassword(event.target.value)} />
        </label>
        <label>
          {t('repeatPassword')}
          <input name="repeatPassword" type="password" autoComplete="new-password" minLength={10} required value={repeat} onChange={(event) => setRepeat(event.target.value)} />
        </label>
        {error && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {t('setPassword')}
        </button>
      </form>
    </section>
  );
}
