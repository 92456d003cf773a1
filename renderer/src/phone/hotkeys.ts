import { z } from 'zod';
import { create } from 'zustand';
import { PHONE_HOTKEY_ACTIONS } from '../../../shared/ipc.js';

/**
 * In-window hotkeys for the phone: answer, hang up, hold/resume and mute. A binding is a
 * physical key (`KeyboardEvent.code`, so it does not move with the keyboard layout or an
 * IME) plus modifiers, written like "Ctrl+Alt+KeyA". Bindings are remembered per machine
 * in localStorage; a stored value that does not parse falls back to the defaults.
 */

export const HOTKEY_ACTIONS = PHONE_HOTKEY_ACTIONS;
export type HotkeyAction = (typeof HOTKEY_ACTIONS)[number];
export type HotkeyBindings = Record<HotkeyAction, string>;

export const DEFAULT_HOTKEYS: HotkeyBindings = {
  answer: 'Ctrl+Alt+KeyA',
  hangup: 'Ctrl+Alt+KeyE',
  hold: 'Ctrl+Alt+KeyH',
  mute: 'Ctrl+Alt+KeyM',
};

export const HOTKEY_STORAGE_KEY = 'tsunagu.hotkeys';

const MODIFIERS = ['Ctrl', 'Alt', 'Shift', 'Meta'] as const;
type Modifier = (typeof MODIFIERS)[number];

/** Keys that a binding may use: letters, digits, function keys and a few named keys. */
const BINDABLE_CODE = /^(Key[A-Z]|Digit[0-9]|F([1-9]|1[0-9]|2[0-4])|Numpad[0-9]|Space|Enter|Backspace|Insert|Delete|Home|End|PageUp|PageDown|Pause|Arrow(Up|Down|Left|Right))$/;
const FUNCTION_KEY = /^F([1-9]|1[0-9]|2[0-4])$/;

export interface KeyLike {
  code: string;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
}

/** The binding a key press stands for, or null for a lone modifier or a key we do not bind. */
export function comboFromEvent(event: KeyLike): string | null {
  if (!BINDABLE_CODE.test(event.code)) return null;
  const parts: string[] = [];
  if (event.ctrlKey) parts.push('Ctrl');
  if (event.altKey) parts.push('Alt');
  if (event.shiftKey) parts.push('Shift');
  if (event.metaKey) parts.push('Meta');
  parts.push(event.code);
  return parts.join('+');
}

/** Parses "Ctrl+Alt+KeyA" into its canonical form (modifiers in a fixed order), or null. */
export function normaliseCombo(text: string): string | null {
  const parts = text.split('+');
  const code = parts.pop();
  if (!code || !BINDABLE_CODE.test(code)) return null;
  const modifiers = new Set<Modifier>();
  for (const part of parts) {
    if (!(MODIFIERS as readonly string[]).includes(part) || modifiers.has(part as Modifier)) return null;
    modifiers.add(part as Modifier);
  }
  return [...MODIFIERS.filter((m) => modifiers.has(m)), code].join('+');
}

export type BindingProblem = 'invalid' | 'needs_modifier' | 'in_use';

/**
 * Whether `combo` may be bound to `action`. Without Ctrl, Alt or Meta a key would fire while
 * the operator types a note, so only function keys go bare; one combo serves one action.
 */
export function checkBinding(bindings: HotkeyBindings, action: HotkeyAction, combo: string): { ok: true; combo: string } | { ok: false; problem: BindingProblem; conflictsWith?: HotkeyAction } {
  const normalised = normaliseCombo(combo);
  if (!normalised) return { ok: false, problem: 'invalid' };
  const parts = normalised.split('+');
  const code = parts[parts.length - 1] as string;
  const hasCommandModifier = parts.some((part) => part === 'Ctrl' || part === 'Alt' || part === 'Meta');
  if (!hasCommandModifier && !FUNCTION_KEY.test(code)) return { ok: false, problem: 'needs_modifier' };
  const conflictsWith = HOTKEY_ACTIONS.find((other) => other !== action && bindings[other] === normalised);
  if (conflictsWith) return { ok: false, problem: 'in_use', conflictsWith };
  return { ok: true, combo: normalised };
}

/** "Ctrl+Alt+KeyA" → "Ctrl+Alt+A", for people. */
export function formatCombo(combo: string): string {
  return combo
    .split('+')
    .map((part) => part.replace(/^Key/, '').replace(/^Digit/, '').replace(/^Arrow/, ''))
    .join('+');
}

export function actionForEvent(bindings: HotkeyBindings, event: KeyLike): HotkeyAction | null {
  const combo = comboFromEvent(event);
  if (!combo) return null;
  return HOTKEY_ACTIONS.find((action) => bindings[action] === combo) ?? null;
}

const StoredBindings = z.object(
  Object.fromEntries(HOTKEY_ACTIONS.map((action) => [action, z.string().max(60)])) as Record<HotkeyAction, z.ZodString>,
);

export function loadBindings(): HotkeyBindings {
  let raw: string | null = null;
  try {
    raw = localStorage.getItem(HOTKEY_STORAGE_KEY);
  } catch {
    return { ...DEFAULT_HOTKEYS };
  }
  if (raw === null) return { ...DEFAULT_HOTKEYS };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ...DEFAULT_HOTKEYS };
  }
  const result = StoredBindings.safeParse(parsed);
  if (!result.success) return { ...DEFAULT_HOTKEYS };
  const bindings = { ...DEFAULT_HOTKEYS };
  // Each stored combo must still be valid and unique, else the whole set is suspect.
  for (const action of HOTKEY_ACTIONS) {
    const normalised = normaliseCombo(result.data[action]);
    if (!normalised) return { ...DEFAULT_HOTKEYS };
    bindings[action] = normalised;
  }
  if (new Set(Object.values(bindings)).size !== HOTKEY_ACTIONS.length) return { ...DEFAULT_HOTKEYS };
  return bindings;
}

function saveBindings(bindings: HotkeyBindings): void {
  try {
    localStorage.setItem(HOTKEY_STORAGE_KEY, JSON.stringify(bindings));
  } catch {
    // Without storage the bindings last for this window only.
  }
}

interface HotkeyState {
  bindings: HotkeyBindings;
  rebind(action: HotkeyAction, combo: string): ReturnType<typeof checkBinding>;
  resetDefaults(): void;
}

export const useHotkeyStore = create<HotkeyState>()((set, get) => ({
  bindings: loadBindings(),
  rebind(action, combo) {
    const check = checkBinding(get().bindings, action, combo);
    if (!check.ok) return check;
    const bindings = { ...get().bindings, [action]: check.combo };
    saveBindings(bindings);
    set({ bindings });
    return check;
  },
  resetDefaults() {
    saveBindings(DEFAULT_HOTKEYS);
    set({ bindings: { ...DEFAULT_HOTKEYS } });
  },
}));

export function resetHotkeyStore(): void {
  useHotkeyStore.setState({ bindings: loadBindings() });
}
