import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallRecordingState } from '../../../shared/recordings.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import './recordings.css';

/** The card asks again this often while the call runs: the recorder may go down (or come back) mid-call. */
export const RECORDING_STATE_POLL_MS = 5_000;

type Shown = { phase: 'checking' } | { phase: 'unknown' } | { phase: 'known'; state: CallRecordingState };

/**
 * The recording of the operator's call, in the call card: "Recording", "Recording paused", or
 * "Not recording" (the policy does not record this call, or the recorder is down, which the
 * operator is told), with pause/resume (e.g. while the customer reads out a card number) or,
 * under the on-demand policy, "record this call". The backend audits every change and tells
 * the PBX, which stops capturing the audio while paused.
 */
export function CallRecordingControl({ sipCallId, pollMs = RECORDING_STATE_POLL_MS }: { sipCallId: string; pollMs?: number }) {
  const { t } = useTranslation();
  const [shown, setShown] = useState<Shown>({ phase: 'checking' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  const refresh = useCallback(async () => {
    const result = await invoke('recordings:callState', { callId: sipCallId });
    return result.ok ? ({ phase: 'known', state: result.value } as const) : ({ phase: 'unknown' } as const);
  }, [sipCallId]);

  useEffect(() => {
    let current = true;
    const tick = () =>
      void refresh().then((next) => {
        if (current) setShown(next);
      });
    tick();
    const timer = setInterval(tick, pollMs);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [refresh, pollMs]);

  async function act(action: 'pause' | 'resume' | 'record') {
    setBusy(true);
    setError(null);
    const result = await invoke('recordings:control', { callId: sipCallId, action });
    setBusy(false);
    if (result.ok) setShown({ phase: 'known', state: result.value });
    else {
      setError(result.error);
      setShown(await refresh());
    }
  }

  const state = shown.phase === 'known' ? shown.state.state : null;
  const text =
    shown.phase === 'checking'
      ? t('recording.call.checking')
      : shown.phase === 'unknown'
        ? t('recording.call.unknown')
        : t(`recording.call.${shown.state.state}`);

  return (
    <div className={`call-recording is-${state ?? shown.phase}`} data-testid="call-recording" data-state={state ?? shown.phase}>
      <span className="call-recording-state" role="status" aria-live="polite">
        <span className="recording-dot" aria-hidden="true" />
        {text}
      </span>
      {state === 'recording' && (
        <button type="button" disabled={busy} onClick={() => void act('pause')} data-testid="recording-pause-button">
          {t('recording.call.pause')}
        </button>
      )}
      {state === 'paused' && (
        <button type="button" className="primary" disabled={busy} onClick={() => void act('resume')} data-testid="recording-resume-button">
          {t('recording.call.resume')}
        </button>
      )}
      {shown.phase === 'known' && shown.state.state === 'off' && shown.state.mayRecord && (
        <button type="button" disabled={busy} onClick={() => void act('record')} data-testid="recording-record-button">
          {t('recording.call.record')}
        </button>
      )}
      {error && (
        <p className="error" role="alert">
          {t('recording.call.failed')}{' '}
          <ErrorText error={error} />
        </p>
      )}
    </div>
  );
}
