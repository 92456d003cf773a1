import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { availableActions, formatDuration, talkSeconds, type Call } from '../../phone/call-machine.js';
import { DTMF_DIGITS } from '../../phone/engine.js';
import { formatCombo, useHotkeyStore } from '../../phone/hotkeys.js';
import { describeCaller, usePhoneStore } from '../../stores/phone.js';
import { CallRecordingAndHelp } from '../../recordings/CallRecordingAndHelp.js';
import { ScreenSyncPanel } from '../../screen-sync/ScreenSyncPanel.js';
import { ScreenPopCard } from './ScreenPopCard.js';

/** One live call: who, its state, the timer, the controls, the keypad and transfer. */
export function CallCard({ call, focused }: { call: Call; focused: boolean }) {
  const { t } = useTranslation();
  const answer = usePhoneStore((s) => s.answer);
  const decline = usePhoneStore((s) => s.decline);
  const hangup = usePhoneStore((s) => s.hangup);
  const toggleHold = usePhoneStore((s) => s.toggleHold);
  const toggleMute = usePhoneStore((s) => s.toggleMute);
  const focus = usePhoneStore((s) => s.focus);
  const completeTransfer = usePhoneStore((s) => s.completeTransfer);
  const bindings = useHotkeyStore((s) => s.bindings);
  const [panel, setPanel] = useState<'none' | 'keypad' | 'transfer'>('none');
  const actions = availableActions(call);
  const headingId = useId();
  const party = describeCaller(call.identity) || call.target || t('phone.anonymous');

  const stateText = call.state === 'connecting' && call.remoteRinging ? t('phone.state.remoteRinging') : t(`phone.state.${call.state}`);

  return (
    <li
      className={`call-card is-${call.state}${focused ? ' is-focused' : ''}${call.waiting && call.state === 'ringing' ? ' is-waiting' : ''}`}
      data-testid="call-card"
      data-call-id={call.sipCallId}
      data-state={call.state}
      data-direction={call.direction}
      data-waiting={call.waiting}
      aria-labelledby={headingId}
    >
      <div className="call-head">
        <h3 id={headingId} className="call-party">
          <span className="visually-hidden">{t(`phone.direction.${call.direction}`)}: </span>
          {party}
        </h3>
        <span className="call-state">{stateText}</span>
        <CallTimer call={call} />
      </div>
      {call.consultFor !== null && <p className="call-note">{t('phone.consultation')}</p>}
      {call.state === 'transferring' && call.transferTarget && <p className="call-note">{t('phone.transferringTo', { target: call.transferTarget })}</p>}
      {call.consultFor === null && <ScreenPopCard call={call} />}
      <div className="call-actions" role="group" aria-label={t('phone.controls')}>
        {actions.has('answer') && (
          <button type="button" className="primary answer" onClick={() => void answer(call.id)} title={formatCombo(bindings.answer)}>
            {t('phone.answer')}
          </button>
        )}
        {actions.has('decline') && (
          <button type="button" className="danger" onClick={() => void decline(call.id)}>
            {t('phone.decline')}
          </button>
        )}
        {actions.has('hangup') && (
          <button type="button" className="danger" onClick={() => void hangup(call.id)} title={formatCombo(bindings.hangup)}>
            {t('phone.hangup')}
          </button>
        )}
        {(actions.has('hold') || actions.has('resume') || call.pending === 'hold' || call.pending === 'resume') && (
          <button type="button" onClick={() => void toggleHold(call.id)} disabled={call.pending !== null} title={formatCombo(bindings.hold)}>
            {call.state === 'held' ? t('phone.resume') : t('phone.hold')}
          </button>
        )}
        {actions.has('mute') && (
          <button type="button" onClick={() => toggleMute(call.id)} title={formatCombo(bindings.mute)}>
            {call.muted ? t('phone.unmute') : t('phone.mute')}
          </button>
        )}
        {actions.has('dtmf') && (
          <button type="button" aria-expanded={panel === 'keypad'} onClick={() => setPanel(panel === 'keypad' ? 'none' : 'keypad')}>
            {t('phone.keypad')}
          </button>
        )}
        {actions.has('transfer') && call.consultFor === null && (
          <button type="button" aria-expanded={panel === 'transfer'} onClick={() => setPanel(panel === 'transfer' ? 'none' : 'transfer')}>
            {t('phone.transfer.open')}
          </button>
        )}
        {call.consultFor !== null && call.state === 'connected' && (
          <button type="button" className="primary" onClick={() => void completeTransfer(call.id)}>
            {t('phone.transfer.complete')}
          </button>
        )}
        {!focused && call.state !== 'ringing' && (
          <button type="button" className="quiet" onClick={() => focus(call.id)}>
            {t('phone.showCustomer')}
          </button>
        )}
      </div>
      <CallRecordingAndHelp call={call} />
      <ScreenSyncPanel call={call} />
      {panel === 'keypad' && actions.has('dtmf') && <Keypad callId={call.id} />}
      {panel === 'transfer' && actions.has('transfer') && <TransferForm callId={call.id} onDone={() => setPanel('none')} />}
    </li>
  );
}

function CallTimer({ call }: { call: Call }) {
  const { t } = useTranslation();
  const [nowMs, setNowMs] = useState(() => Date.now());
  const running = call.answeredAt !== null && call.state !== 'ended';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNowMs(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  if (call.answeredAt === null) return null;
  const seconds = talkSeconds(call, nowMs);
  return (
    <span className="call-timer" data-testid="call-timer" aria-label={t('phone.timerLabel', { duration: formatDuration(seconds) })}>
      {formatDuration(seconds)}
    </span>
  );
}

function Keypad({ callId }: { callId: string }) {
  const { t } = useTranslation();
  const sendDtmf = usePhoneStore((s) => s.sendDtmf);
  const [sent, setSent] = useState('');
  function press(digit: string) {
    setSent((previous) => (previous + digit).slice(-20));
    void sendDtmf(callId, digit);
  }
  return (
    <div className="keypad" role="group" aria-label={t('phone.keypad')} data-testid="keypad">
      <div className="keypad-keys">
        {[...DTMF_DIGITS].map((digit) => (
          <button key={digit} type="button" className="keypad-key" onClick={() => press(digit)} aria-label={t('phone.sendDigit', { digit })}>
            {digit}
          </button>
        ))}
      </div>
      <p className="keypad-sent" aria-live="polite">
        {sent && t('phone.digitsSent', { digits: sent })}
      </p>
    </div>
  );
}

function TransferForm({ callId, onDone }: { callId: string; onDone: () => void }) {
  const { t } = useTranslation();
  const blindTransfer = usePhoneStore((s) => s.blindTransfer);
  const startConsultation = usePhoneStore((s) => s.startConsultation);
  const [target, setTarget] = useState('');
  const inputId = useId();

  async function submit(event: FormEvent, mode: 'blind' | 'consult') {
    event.preventDefault();
    if (!target.trim()) return;
    const ok = mode === 'blind' ? await blindTransfer(callId, target) : await startConsultation(callId, target);
    if (ok) onDone();
  }

  return (
    <form className="transfer-form" data-testid="transfer-form" onSubmit={(e) => void submit(e, 'blind')}>
      <label htmlFor={inputId}>{t('phone.transfer.target')}</label>
      <input id={inputId} type="text" autoComplete="off" value={target} onChange={(e) => setTarget(e.target.value)} maxLength={100} />
      <div className="transfer-actions">
        <button type="submit" disabled={!target.trim()}>
          {t('phone.transfer.blind')}
        </button>
        <button type="button" disabled={!target.trim()} onClick={(e) => void submit(e, 'consult')}>
          {t('phone.transfer.consult')}
        </button>
      </div>
    </form>
  );
}
