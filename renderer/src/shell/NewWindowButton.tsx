import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { currentBridge } from '../api.js';
import { isShellBridge } from '../bridge.js';

/**
 * The browser shell serves many windows, each with its own session: this opens another one
 * (e.g. a supervisor beside an operator on one demo machine). Electron has no such button:
 * there the app is one user per OS account.
 */
export function NewWindowButton() {
  const { t } = useTranslation();
  const [failed, setFailed] = useState<string | null>(null);
  const bridge = currentBridge();
  if (!isShellBridge(bridge)) return null;

  async function open() {
    if (!isShellBridge(bridge)) return;
    const result = await bridge.newWindowUrl();
    if (!result.ok) {
      setFailed(result.error.message);
      return;
    }
    setFailed(null);
    // noopener: the new window must not share this one's sessionStorage (its window secret).
    window.open(result.value, '_blank', 'noopener');
  }

  return (
    <>
      <button type="button" className="quiet" title={t('shell.newWindowHint')} data-testid="new-window" onClick={() => void open()}>
        {t('shell.newWindow')}
      </button>
      {failed && (
        <span className="error" role="alert">
          {t('shell.newWindowFailed')} {failed}
        </span>
      )}
    </>
  );
}
