import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from './App.js';
import { LANGUAGE_STORAGE_KEY } from './i18n/index.js';
import { useUiStore } from './stores/ui.js';
import { installMemoryBridge, registerRendererCleanup } from './test/harness.js';

registerRendererCleanup();

function fillLogin(tenant: string, login: string, password: string) {
  fireEvent.change(screen.getByLabelText('Tenant'), { target: { value: tenant } });
  fireEvent.change(screen.getByLabelText('Login ID'), { target: { value: login } });
  fireEvent.change(screen.getByLabelText('Password'), { target: { value: password } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('login', () => {
  it('signs in and shows the workspace with the sync status and the user', async () => {
    const bridge = installMemoryBridge();
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });

    fillLogin('demo', 'sato', 'correct horse');

    expect(await screen.findByRole('combobox', { name: 'Search customers' })).toBeTruthy();
    expect(screen.getByTestId('user-name').textContent).toContain('佐藤 花子');
    expect(screen.getByRole('banner')).toBeTruthy();
    expect(screen.getByRole('navigation', { name: 'Customer search' })).toBeTruthy();
    expect(screen.getByRole('main')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('sync-status').dataset.online).toBe('true'));
    expect(bridge.callsTo('session:login')).toEqual([{ tenant: 'demo', login: 'sato', password: 'correct horse' }]);
  });

  it('says the credentials are wrong, and clears the password', async () => {
    installMemoryBridge();
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });

    fillLogin('demo', 'sato', 'wrong');

    const error = await screen.findByTestId('login-error');
    expect(error.dataset.code).toBe('unauthenticated');
    expect(error.textContent).toBe('The tenant, login ID or password is wrong.');
    expect((screen.getByLabelText('Password') as HTMLInputElement).value).toBe('');
  });

  it('says the server cannot be reached when offline', async () => {
    const bridge = installMemoryBridge();
    bridge.online = false;
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });

    fillLogin('demo', 'sato', 'correct horse');

    const error = await screen.findByTestId('login-error');
    expect(error.dataset.code).toBe('offline');
    expect(error.textContent).toContain('The server cannot be reached');
  });

  it('says how long to wait when sign-in is throttled, and holds the button until then', async () => {
    const bridge = installMemoryBridge();
    bridge.loginRetryAfterSeconds = 42;
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });

    fillLogin('demo', 'sato', 'correct horse');

    const error = await screen.findByTestId('login-error');
    expect(error.dataset.code).toBe('rate_limited');
    expect(error.textContent).toContain('Too many sign-in attempts');
    expect(screen.getByTestId('login-retry-after').textContent).toMatch(/^Try again in (42|41) seconds\.$/);
    expect((screen.getByRole('button', { name: 'Sign in' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('asks for every field without calling the core', async () => {
    const bridge = installMemoryBridge();
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });

    fillLogin('demo', '', '');

    expect((await screen.findByTestId('login-error')).dataset.code).toBe('invalid_input');
    expect(screen.getByLabelText('Login ID').getAttribute('aria-invalid')).toBe('true');
    expect(bridge.callsTo('session:login')).toEqual([]);
  });

  it('returns to the login screen with a notice when the core says the session expired', async () => {
    const bridge = installMemoryBridge();
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });
    fillLogin('demo', 'sato', 'correct horse');
    await screen.findByRole('combobox', { name: 'Search customers' });

    bridge.session = null;
    bridge.emit('session:expired', { reason: 'token expired' });

    expect(await screen.findByText('Your session has ended. Please sign in again.')).toBeTruthy();
  });
});

describe('language', () => {
  it('follows the system language when nothing was chosen', () => {
    installMemoryBridge();
    // jsdom reports en-US.
    expect(useUiStore.getState().language).toBe('en');
    expect(document.documentElement.lang).toBe('en');
  });

  it('switches the whole UI, the document language, and remembers the choice', async () => {
    installMemoryBridge();
    render(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Tsunagu' });

    const switcher = screen.getByRole('group', { name: 'Language' });
    fireEvent.click(within(switcher).getByRole('button', { name: '日本語' }));

    expect(await screen.findByRole('heading', { name: 'Tsunagu にログイン' })).toBeTruthy();
    expect(screen.getByLabelText('パスワード')).toBeTruthy();
    expect(screen.getByRole('button', { name: '日本語' }).getAttribute('aria-pressed')).toBe('true');
    expect(document.documentElement.lang).toBe('ja');
    expect(localStorage.getItem(LANGUAGE_STORAGE_KEY)).toBe('ja');

    fireEvent.click(screen.getByRole('button', { name: 'English' }));
    expect(await screen.findByRole('heading', { name: 'Sign in to Tsunagu' })).toBeTruthy();
    expect(localStorage.getItem(LANGUAGE_STORAGE_KEY)).toBe('en');
  });
});
