import { afterEach, describe, expect, it } from 'vitest';
import { AUDIO_STORAGE_KEY, deviceMoved, loadChoices, microphoneConstraints, resetAudioStore, resolveDevice, useAudioStore, type AudioDevice } from './audio-devices.js';

const systemDefault: AudioDevice = { deviceId: 'default', groupId: 'g-laptop', label: 'Default - Built-in Microphone' };
const laptop: AudioDevice = { deviceId: 'mic-laptop', groupId: 'g-laptop', label: 'Built-in Microphone' };
const headset: AudioDevice = { deviceId: 'mic-headset', groupId: 'g-headset', label: 'USB Headset' };

afterEach(() => {
  localStorage.clear();
  resetAudioStore();
});

describe('audio devices', () => {
  it('uses the chosen device while it is plugged in, and the system default otherwise', () => {
    expect(resolveDevice('mic-headset', [systemDefault, laptop, headset])).toEqual({ ...headset, chosen: true });
    expect(resolveDevice('mic-headset', [systemDefault, laptop])).toEqual({ ...systemDefault, chosen: false });
    expect(resolveDevice(null, [laptop, headset])).toEqual({ ...laptop, chosen: false });
    expect(resolveDevice('mic-headset', [])).toBeNull();
  });

  it('sees a move when the device changes, or when "default" now means another device', () => {
    const before = resolveDevice(null, [systemDefault, laptop]);
    expect(deviceMoved(before, resolveDevice(null, [systemDefault, laptop]))).toBe(false);
    const headsetAsDefault: AudioDevice = { deviceId: 'default', groupId: 'g-headset', label: 'Default - USB Headset' };
    expect(deviceMoved(before, resolveDevice(null, [headsetAsDefault, laptop, headset]))).toBe(true);
    expect(deviceMoved(resolveDevice('mic-headset', [headset]), resolveDevice('mic-headset', [laptop]))).toBe(true);
  });

  it('remembers the choices on this machine and ignores a stored value that does not parse', () => {
    useAudioStore.getState().choose('ring', 'speaker-laptop');
    expect(loadChoices()).toEqual({ microphone: null, speaker: null, ring: 'speaker-laptop' });
    localStorage.setItem(AUDIO_STORAGE_KEY, '{"microphone": 42}');
    expect(loadChoices()).toEqual({ microphone: null, speaker: null, ring: null });
  });

  it('asks getUserMedia for the exact chosen microphone, or any for the default', () => {
    useAudioStore.setState({ inputs: [systemDefault, laptop, headset] });
    expect(microphoneConstraints()).toBe(true);
    useAudioStore.getState().choose('microphone', 'mic-headset');
    expect(microphoneConstraints()).toEqual({ deviceId: { exact: 'mic-headset' } });
  });
});
