import { z } from 'zod';
import { create } from 'zustand';

/**
 * The operator's audio devices: microphone, speaker (the call) and ring device (the
 * ringtone, e.g. the laptop's speaker while the headset is on). Choices are remembered per
 * machine in localStorage by device id, and resolved against what is plugged in now: a
 * chosen device that is absent falls back to the system default, and comes back into use
 * when it is plugged in again.
 */

export const AUDIO_ROLES = ['microphone', 'speaker', 'ring'] as const;
export type AudioRole = (typeof AUDIO_ROLES)[number];

export interface AudioDevice {
  deviceId: string;
  groupId: string;
  label: string;
}

/** The device a role uses now; `chosen` tells whether it is the operator's choice or a fallback. */
export interface ResolvedDevice {
  deviceId: string;
  groupId: string;
  label: string;
  chosen: boolean;
}

export type AudioChoices = Record<AudioRole, string | null>;

export const AUDIO_STORAGE_KEY = 'tsunagu.audioDevices';
/** The id browsers give the system default device. */
export const DEFAULT_DEVICE_ID = 'default';

const StoredChoices = z.object({
  microphone: z.string().max(300).nullable(),
  speaker: z.string().max(300).nullable(),
  ring: z.string().max(300).nullable(),
});

export function loadChoices(): AudioChoices {
  try {
    const raw = localStorage.getItem(AUDIO_STORAGE_KEY);
    if (raw === null) return { microphone: null, speaker: null, ring: null };
    const parsed = StoredChoices.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // Unreadable or no storage: defaults.
  }
  return { microphone: null, speaker: null, ring: null };
}

function saveChoices(choices: AudioChoices): void {
  try {
    localStorage.setItem(AUDIO_STORAGE_KEY, JSON.stringify(choices));
  } catch {
    // Without storage the choice lasts for this window only.
  }
}

/** The chosen device when it is present, else the system default, else the first one. */
export function resolveDevice(choice: string | null, devices: readonly AudioDevice[]): ResolvedDevice | null {
  const chosen = choice === null ? undefined : devices.find((d) => d.deviceId === choice);
  if (chosen) return { ...chosen, chosen: true };
  const fallback = devices.find((d) => d.deviceId === DEFAULT_DEVICE_ID) ?? devices[0];
  return fallback ? { ...fallback, chosen: false } : null;
}

/**
 * Whether a call must move to another device: the resolved id changed, or it is the
 * "default" entry and the system's default moved to another physical device (a headset was
 * plugged in), which a running track does not follow by itself.
 */
export function deviceMoved(before: ResolvedDevice | null, after: ResolvedDevice | null): boolean {
  if (!before || !after) return before !== after;
  return before.deviceId !== after.deviceId || before.groupId !== after.groupId || before.label !== after.label;
}

interface AudioState {
  inputs: AudioDevice[];
  outputs: AudioDevice[];
  choices: AudioChoices;
  resolved: Record<AudioRole, ResolvedDevice | null>;
  /** Labels are empty until the page may use the microphone. */
  labelsKnown: boolean;
  /** The last automatic move, for the operator to see ("Microphone moved to Headset"). */
  moved: { role: AudioRole; label: string } | null;
  /** The browser cannot route audio to a chosen output (no setSinkId). */
  outputSelectionSupported: boolean;
  refresh(): Promise<void>;
  choose(role: AudioRole, deviceId: string | null): void;
}

function resolveAll(choices: AudioChoices, inputs: AudioDevice[], outputs: AudioDevice[]): Record<AudioRole, ResolvedDevice | null> {
  return {
    microphone: resolveDevice(choices.microphone, inputs),
    speaker: resolveDevice(choices.speaker, outputs),
    ring: resolveDevice(choices.ring, outputs),
  };
}

function toDevice(info: MediaDeviceInfo): AudioDevice {
  return { deviceId: info.deviceId, groupId: info.groupId, label: info.label };
}

export const useAudioStore = create<AudioState>()((set, get) => ({
  inputs: [],
  outputs: [],
  choices: loadChoices(),
  resolved: { microphone: null, speaker: null, ring: null },
  labelsKnown: false,
  moved: null,
  outputSelectionSupported: typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype,
  async refresh() {
    if (typeof navigator === 'undefined' || !navigator.mediaDevices?.enumerateDevices) return;
    let infos: MediaDeviceInfo[];
    try {
      infos = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    const inputs = infos.filter((d) => d.kind === 'audioinput' && d.deviceId !== '').map(toDevice);
    const outputs = infos.filter((d) => d.kind === 'audiooutput' && d.deviceId !== '').map(toDevice);
    const before = get().resolved;
    const resolved = resolveAll(get().choices, inputs, outputs);
    const movedRole = AUDIO_ROLES.find((role) => before[role] !== null && deviceMoved(before[role], resolved[role]));
    const movedTo = movedRole ? resolved[movedRole] : null;
    set({
      inputs,
      outputs,
      resolved,
      labelsKnown: infos.some((d) => d.label !== ''),
      moved: movedRole && movedTo ? { role: movedRole, label: movedTo.label } : get().moved,
    });
  },
  choose(role, deviceId) {
    const choices = { ...get().choices, [role]: deviceId };
    saveChoices(choices);
    set({ choices, resolved: resolveAll(choices, get().inputs, get().outputs), moved: null });
  },
}));

export function resetAudioStore(): void {
  useAudioStore.setState({
    inputs: [],
    outputs: [],
    choices: loadChoices(),
    resolved: { microphone: null, speaker: null, ring: null },
    labelsKnown: false,
    moved: null,
  });
}

/** Sends an element's sound to a device; false when the browser cannot (the default then plays it). */
export async function routeToDevice(element: HTMLMediaElement, deviceId: string | null): Promise<boolean> {
  const withSink = element as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (typeof withSink.setSinkId !== 'function' || deviceId === null) return false;
  try {
    await withSink.setSinkId(deviceId);
    return true;
  } catch (error) {
    console.warn('could not route audio to the chosen device', error);
    return false;
  }
}

/** Microphone constraints for the device in use. */
export function microphoneConstraints(): MediaTrackConstraints | true {
  const device = useAudioStore.getState().resolved.microphone;
  if (!device || device.deviceId === DEFAULT_DEVICE_ID) return true;
  return { deviceId: { exact: device.deviceId } };
}
