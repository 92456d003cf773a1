import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AUDIO_ROLES, useAudioStore, type AudioRole } from '../../phone/audio-devices.js';
import { comboFromEvent, formatCombo, HOTKEY_ACTIONS, useHotkeyStore, type BindingProblem, type HotkeyAction } from '../../phone/hotkeys.js';
import { usePhoneStore } from '../../stores/phone.js';

/**
 * Audio devices and hotkeys, in a modal dialog: focus moves into it when it opens, stays in
 * it (Tab wraps), Escape closes it and focus returns to the button that opened it.
 */
export function PhoneSettingsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const dialogRef = useRef<HTMLDivElement>(null);
  const headingId = useId();
  const [recording, setRecording] = useState<HotkeyAction | null>(null);

  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    dialogRef.current?.querySelector<HTMLElement>('select, button, input')?.focus();
    return () => opener?.focus();
  }, []);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (recording) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      onClose();
      return;
    }
    if (event.key !== 'Tab') return;
    const focusable = [...(dialogRef.current?.querySelectorAll<HTMLElement>('select, button, input, [tabindex="0"]') ?? [])].filter((el) => !el.hasAttribute('disabled'));
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  }

  return (
    <div className="dialog-backdrop">
      <div className="dialog phone-settings" role="dialog" aria-modal="true" aria-labelledby={headingId} ref={dialogRef} onKeyDown={onKeyDown} data-testid="phone-settings">
        <h2 id={headingId}>{t('phone.settings.heading')}</h2>
        <DeviceChoices />
        <HotkeyBindings recording={recording} setRecording={setRecording} />
        <div className="form-actions">
          <button type="button" className="primary" onClick={onClose}>
            {t('phone.settings.close')}
          </button>
        </div>
      </div>
    </div>
  );
}

function DeviceChoices() {
  const { t } = useTranslation();
  const inputs = useAudioStore((s) => s.inputs);
  const outputs = useAudioStore((s) => s.outputs);
  const choices = useAudioStore((s) => s.choices);
  const labelsKnown = useAudioStore((s) => s.labelsKnown);
  const outputSelectionSupported = useAudioStore((s) => s.outputSelectionSupported);
  const id = useId();

  async function choose(role: AudioRole, deviceId: string) {
    useAudioStore.getState().choose(role, deviceId === '' ? null : deviceId);
    await usePhoneStore.getState().audioDevicesChanged();
  }

  async function findDevices() {
    try {
      // Device names are readable only once the page may use the microphone.
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      for (const track of stream.getTracks()) track.stop();
    } catch (error) {
      console.warn('microphone permission refused', error);
    }
    await useAudioStore.getState().refresh();
  }

  return (
    <fieldset className="settings-group">
      <legend>{t('phone.settings.devices')}</legend>
      {AUDIO_ROLES.map((role) => {
        const list = role === 'microphone' ? inputs : outputs;
        const disabled = role !== 'microphone' && !outputSelectionSupported;
        return (
          <div key={role} className="settings-row">
            <label htmlFor={`${id}-${role}`}>{t(`phone.settings.role.${role}`)}</label>
            <select id={`${id}-${role}`} value={choices[role] ?? ''} onChange={(e) => void choose(role, e.target.value)} disabled={disabled}>
              <option value="">{t('phone.settings.systemDefault')}</option>
              {list
                .filter((device) => device.deviceId !== 'default')
                .map((device, index) => (
                  <option key={device.deviceId} value={device.deviceId}>
                    {device.label || t('phone.settings.unnamedDevice', { number: index + 1 })}
                  </option>
                ))}
            </select>
          </div>
        );
      })}
      {!labelsKnown && (
        <button type="button" onClick={() => void findDevices()}>
          {t('phone.settings.findDevices')}
        </button>
      )}
      {!outputSelectionSupported && <p className="hint">{t('phone.settings.noOutputSelection')}</p>}
    </fieldset>
  );
}

function HotkeyBindings({ recording, setRecording }: { recording: HotkeyAction | null; setRecording: (action: HotkeyAction | null) => void }) {
  const { t } = useTranslation();
  const bindings = useHotkeyStore((s) => s.bindings);
  const rebind = useHotkeyStore((s) => s.rebind);
  const resetDefaults = useHotkeyStore((s) => s.resetDefaults);
  const [problem, setProblem] = useState<{ action: HotkeyAction; problem: BindingProblem; conflictsWith?: HotkeyAction } | null>(null);

  function record(action: HotkeyAction, event: KeyboardEvent<HTMLButtonElement>) {
    if (recording !== action) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.key === 'Escape') {
      setRecording(null);
      return;
    }
    const combo = comboFromEvent(event.nativeEvent);
    if (!combo) return;
    const result = rebind(action, combo);
    setProblem(result.ok ? null : { action, problem: result.problem, ...(result.conflictsWith ? { conflictsWith: result.conflictsWith } : {}) });
    setRecording(null);
  }

  return (
    <fieldset className="settings-group">
      <legend>{t('phone.settings.hotkeys')}</legend>
      <p className="hint">{t('phone.settings.hotkeysHint')}</p>
      <table className="hotkey-table">
        <tbody>
          {HOTKEY_ACTIONS.map((action) => (
            <tr key={action} data-testid="hotkey-row" data-action={action}>
              <th scope="row">{t(`phone.hotkey.${action}`)}</th>
              <td>
                <kbd data-testid="hotkey-combo">{formatCombo(bindings[action])}</kbd>
              </td>
              <td>
                <button
                  type="button"
                  aria-pressed={recording === action}
                  aria-label={recording === action ? t('phone.settings.pressKeys') : t('phone.settings.change', { action: t(`phone.hotkey.${action}`) })}
                  onClick={() => setRecording(recording === action ? null : action)}
                  onKeyDown={(e) => record(action, e)}
                >
                  {recording === action ? t('phone.settings.pressKeys') : t('phone.settings.changeShort')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {problem && (
        <p className="error" role="alert">
          {t(`phone.settings.hotkeyProblem.${problem.problem}`, { action: problem.conflictsWith ? t(`phone.hotkey.${problem.conflictsWith}`) : '' })}
        </p>
      )}
      <button type="button" className="quiet" onClick={resetDefaults}>
        {t('phone.settings.resetHotkeys')}
      </button>
    </fieldset>
  );
}
