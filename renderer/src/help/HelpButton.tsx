import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { OwnHelpState } from '../../../shared/monitoring.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import '../recordings/recordings.css';

/** While help is asked for, the card checks this often whether a supervisor took it. */
export const HELP_STATE_POLL_MS = 3_000;

/**
 * "Ask for help" in the operator's call card: asks the backend for a supervisor on this call
 * (supervisors see it in their live view, with the call and the customer). The card shows
 * "help requested" until a supervisor starts monitoring the call or the call ends.
 */
export function HelpButton({ sipCallId, pollMs = HELP_STATE_POLL_MS }: { sipCallId: string; pollMs?: number }) {
  const { t } = useTranslation();
  const [help, setHelp] = useState<OwnHelpState['state']>('none');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  // A card shown again (a reload, a second call in the list) picks up a request already made.
  // Only that: the card is shown for a connected call, so an "ended" or "none" here means the
  // backend has not yet heard the call was answered (its call event is on the way), and the
  // button must stay.
  useEffect(() => {
    let current = true;
    void invoke('help:state', { sipCallId }).then((result) => {
      if (current && result.ok && (result.value.state === 'requested' || result.value.state === 'joined')) setHelp(result.value.state);
    });
    return () => {
      current = false;
    };
  }, [sipCallId]);

  useEffect(() => {
    if (help !== 'requested') return;
    let current = true;
    const timer = setInterval(() => {
      void invoke('help:state', { sipCallId }).then((result) => {
        if (current && result.ok) setHelp(result.value.state);
      });
    }, pollMs);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [help, sipCallId, pollMs]);

  async function ask() {
    setBusy(true);
    setError(null);
    const result = await invoke('help:request', { sipCallId });
    setBusy(false);
    if (result.ok) setHelp(result.value.state);
    else setError(result.error);
  }

  return (
    <div className={`call-help is-${help}`} data-testid="call-help" data-state={help}>
      {help !== 'requested' && help !== 'ended' && (
        <button type="button" disabled={busy} onClick={() => void ask()} data-testid="help-button">
          {t('help.button')}
        </button>
      )}
      <span role="status" aria-live="polite" className="call-help-state">
        {help === 'requested' && t('help.requested')}
        {help === 'joined' && t('help.taken')}
      </span>
      {error && (
        <p className="error" role="alert">
          {t('help.failed')} <ErrorText error={error} />
        </p>
      )}
    </div>
  );
}
