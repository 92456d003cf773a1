import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAudioStore } from '../../phone/audio-devices.js';
import { invoke } from '../../api.js';
import { actionForEvent, HOTKEY_ACTIONS, useHotkeyStore, type HotkeyAction } from '../../phone/hotkeys.js';
import { OPERATOR_STATUSES, usePhoneStore, type OperatorStatus } from '../../stores/phone.js';
import { MonitoredCallNotice } from '../../supervisor/MonitoredCallNotice.js';
import { ErrorText } from '../ErrorText.js';
import { CallCard } from './CallCard.js';
import { PhoneSettingsDialog } from './PhoneSettingsDialog.js';
import { RefusedCallRecords } from './RefusedCallRecords.js';
import { WrapUpPanel } from './WrapUpPanel.js';
import './phone.css';

/**
 * The softphone, beside whatever work area is open: registration state (always visible, a
 * live region), the operator's status, the dialer, the live calls with their screen pops,
 * and the wrap-up of finished calls.
 */
export function PhonePane() {
  const { t } = useTranslation();
  const phase = usePhoneStore((s) => s.phase);
  const registration = usePhoneStore((s) => s.registration);
  const calls = usePhoneStore((s) => s.calls);
  const focusedCallId = usePhoneStore((s) => s.focusedCallId);
  const [settingsOpen, setSettingsOpen] = useState(false);

  useEffect(() => {
    void usePhoneStore.getState().start();
    return () => {
      void usePhoneStore.getState().stop();
    };
  }, []);
  usePhoneHotkeys();
  useDeviceChanges();

  return (
    <aside className="phone-pane" aria-labelledby="phone-heading" data-testid="phone" data-phase={phase} data-registration={registration.state}>
      <div className="phone-head">
        <h2 id="phone-heading">{t('phone.heading')}</h2>
        <button type="button" className="quiet" onClick={() => setSettingsOpen(true)} aria-haspopup="dialog">
          {t('phone.settings.open')}
        </button>
      </div>
      <RegistrationStatus />
      {phase === 'on' && <AgentStatusControl />}
      <Notices />
      <MonitoredCallNotice />
      {phase === 'on' && <Dialer />}
      {calls.length > 0 && (
        <ul className="call-list" aria-label={t('phone.calls')}>
          {calls.map((call) => (
            <CallCard key={call.id} call={call} focused={call.id === focusedCallId} />
          ))}
        </ul>
      )}
      <WrapUpPanel />
      {settingsOpen && <PhoneSettingsDialog onClose={() => setSettingsOpen(false)} />}
    </aside>
  );
}

function RegistrationStatus() {
  const { t } = useTranslation();
  const phase = usePhoneStore((s) => s.phase);
  const registration = usePhoneStore((s) => s.registration);
  const extension = usePhoneStore((s) => s.extension);
  const startError = usePhoneStore((s) => s.startError);
  const state = phase === 'unavailable' ? 'unavailable' : registration.state;
  const reason = registration.state === 'offline' || registration.state === 'error' ? registration.reason : null;
  return (
    <div className="registration" data-testid="registration-status" data-state={state}>
      <span className={`registration-dot is-${state}`} aria-hidden="true" />
      <span className="registration-text" role="status">
        {t(`phone.registration.${state}`)}
      </span>
      {extension && (
        <span className="phone-extension" data-testid="phone-extension" data-extension={extension}>
          {t('phone.extension', { extension })}
        </span>
      )}
      {reason && <span className="registration-reason">{reason}</span>}
      {phase === 'unavailable' && startError && (
        <span className="registration-reason">
          <ErrorText error={startError} />
        </span>
      )}
    </div>
  );
}

const AUTOMATIC_STATUSES = new Set<OperatorStatus>(['on_call', 'after_call_work']);

function AgentStatusControl() {
  const { t } = useTranslation();
  const status = usePhoneStore((s) => s.status);
  const setStatus = usePhoneStore((s) => s.setStatus);
  const endsAt = usePhoneStore((s) => s.afterCallWorkEndsAt);
  const sync = usePhoneStore((s) => s.statusSync);
  const retryStatus = usePhoneStore((s) => s.retryStatus);
  const id = useId();
  const hintId = useId();
  const waiting = sync !== null && !sync.confirmed && sync.error === null;
  return (
    <div className="agent-status">
      <label htmlFor={id}>{t('phone.status.label')}</label>
      <select
        id={id}
        data-testid="agent-status"
        data-confirmed={sync === null ? undefined : String(sync.confirmed)}
        aria-describedby={waiting ? hintId : undefined}
        value={status}
        onChange={(e) => setStatus(e.target.value as OperatorStatus)}
      >
        {OPERATOR_STATUSES.map((option) => (
          // 取込中 and 後処理中 follow the calls; they are shown when current but never picked by hand.
          <option key={option} value={option} disabled={AUTOMATIC_STATUSES.has(option)}>
            {t(`phone.status.${option}`)}
          </option>
        ))}
      </select>
      {status === 'after_call_work' && endsAt && (
        <span className="muted">{t('phone.status.endsAt', { time: new Date(endsAt).toLocaleTimeString() })}</span>
      )}
      {waiting && (
        <span className="status-unconfirmed" data-testid="agent-status-unconfirmed" title={t('phone.status.unconfirmedHint')}>
          {t('phone.status.unconfirmed')}
          <span id={hintId} className="phone-visually-hidden">
            {t('phone.status.unconfirmedHint')}
          </span>
        </span>
      )}
      {sync?.error && (
        <span className="status-refused" role="alert" data-testid="agent-status-refused" data-code={sync.error.code}>
          {t('phone.status.refused')} <span className="error-detail">({sync.error.message})</span>{' '}
          <button type="button" className="quiet" onClick={retryStatus}>
            {t('phone.retry')}
          </button>
        </span>
      )}
    </div>
  );
}

function Notices() {
  const { t } = useTranslation();
  const problem = usePhoneStore((s) => s.problem);
  const dismissProblem = usePhoneStore((s) => s.dismissProblem);
  const ringtone = usePhoneStore((s) => s.ringtone);
  const unlockSound = usePhoneStore((s) => s.unlockSound);
  const moved = useAudioStore((s) => s.moved);
  return (
    <>
      <RefusedCallRecords />
      {problem && (
        <div className="phone-problem" role="alert" data-testid="phone-problem" data-code={problem.code}>
          <span>
            {t(`phone.problem.${problem.code}`)}
            {problem.message && <span className="error-detail"> ({problem.message})</span>}
          </span>
          {problem.retry && (
            <button
              type="button"
              className="quiet"
              onClick={() => {
                dismissProblem();
                problem.retry?.();
              }}
            >
              {t('phone.retry')}
            </button>
          )}
          <button type="button" className="quiet" onClick={dismissProblem}>
            {t('phone.dismiss')}
          </button>
        </div>
      )}
      {ringtone === 'blocked' && (
        <p className="phone-notice" data-testid="ringtone-blocked">
          {t('phone.soundBlocked')}{' '}
          <button type="button" onClick={() => void unlockSound()}>
            {t('phone.enableSound')}
          </button>
        </p>
      )}
      <p className="phone-notice" role="status" data-testid="audio-moved">
        {moved && t('phone.deviceMoved', { device: moved.label || t(`phone.settings.role.${moved.role}`), role: t(`phone.settings.role.${moved.role}`) })}
      </p>
    </>
  );
}

function Dialer() {
  const { t } = useTranslation();
  const dial = usePhoneStore((s) => s.dial);
  const [target, setTarget] = useState('');
  const id = useId();
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!target.trim()) return;
    if (await dial(target)) setTarget('');
  }
  return (
    <form className="dialer" onSubmit={(e) => void submit(e)} role="search" aria-label={t('phone.dialer')}>
      <label htmlFor={id}>{t('phone.dialTarget')}</label>
      <div className="dialer-row">
        <input id={id} type="text" inputMode="tel" autoComplete="off" maxLength={100} value={target} onChange={(e) => setTarget(e.target.value)} />
        <button type="submit" className="primary" disabled={!target.trim()}>
          {t('phone.call')}
        </button>
      </div>
    </form>
  );
}

/**
 * Hotkeys for answer, hang up, hold and mute: in the window always, and system-wide where the
 * shell can register them (Electron's global shortcuts, pressed ones arrive as
 * `system:shortcut`, see events.ts). A key the system grabbed never reaches the window, so the
 * two never both fire.
 */
function usePhoneHotkeys(): void {
  const bindings = useHotkeyStore((s) => s.bindings);
  useEffect(() => {
    function onKeyDown(event: KeyboardEvent) {
      const action = actionForEvent(useHotkeyStore.getState().bindings, event);
      if (!action) return;
      if (runHotkey(action)) event.preventDefault();
    }
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);
  useEffect(() => {
    const list = HOTKEY_ACTIONS.map((action) => ({ action, combo: bindings[action] }));
    void invoke('system:globalShortcuts', { bindings: list });
  }, [bindings]);
}

export function runHotkey(action: HotkeyAction): boolean {
  const phone = usePhoneStore.getState();
  const focused = phone.calls.find((call) => call.id === phone.focusedCallId);
  const connected = phone.calls.find((call) => call.state === 'connected');
  switch (action) {
    case 'answer': {
      const ringing = phone.calls.find((call) => call.state === 'ringing');
      if (!ringing) return false;
      void phone.answer(ringing.id);
      return true;
    }
    case 'hangup': {
      const target = focused && focused.state !== 'ringing' ? focused : connected;
      if (!target) return false;
      void phone.hangup(target.id);
      return true;
    }
    case 'hold': {
      const target = focused && (focused.state === 'connected' || focused.state === 'held') ? focused : connected;
      if (!target) return false;
      void phone.toggleHold(target.id);
      return true;
    }
    case 'mute': {
      const target = focused && (focused.state === 'connected' || focused.state === 'held') ? focused : connected;
      if (!target) return false;
      phone.toggleMute(target.id);
      return true;
    }
  }
}

/** A headset plugged in or removed: the lists change, and live calls move to the device now in use. */
function useDeviceChanges(): void {
  useEffect(() => {
    const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
    if (!devices?.addEventListener) return;
    const onChange = () => {
      void useAudioStore
        .getState()
        .refresh()
        .then(() => usePhoneStore.getState().audioDevicesChanged());
    };
    devices.addEventListener('devicechange', onChange);
    return () => devices.removeEventListener('devicechange', onChange);
  }, []);
}
