import { afterEach, describe, expect, it } from 'vitest';
import {
  actionForEvent,
  checkBinding,
  comboFromEvent,
  DEFAULT_HOTKEYS,
  formatCombo,
  HOTKEY_STORAGE_KEY,
  loadBindings,
  normaliseCombo,
  resetHotkeyStore,
  useHotkeyStore,
  type KeyLike,
} from './hotkeys.js';

const key = (code: string, mods: Partial<KeyLike> = {}): KeyLike => ({ code, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...mods });

afterEach(() => {
  localStorage.clear();
  resetHotkeyStore();
});

describe('key combos', () => {
  it('reads a key press as modifiers plus the physical key', () => {
    expect(comboFromEvent(key('KeyA', { ctrlKey: true, altKey: true }))).toBe('Ctrl+Alt+KeyA');
    expect(comboFromEvent(key('F9'))).toBe('F9');
    expect(comboFromEvent(key('Digit5', { shiftKey: true, metaKey: true }))).toBe('Shift+Meta+Digit5');
  });

  it('ignores a lone modifier and keys that are not bindable', () => {
    expect(comboFromEvent(key('ControlLeft', { ctrlKey: true }))).toBeNull();
    expect(comboFromEvent(key('Tab', { ctrlKey: true }))).toBeNull();
    expect(comboFromEvent(key('Escape'))).toBeNull();
  });

  it('normalises modifier order and refuses junk', () => {
    expect(normaliseCombo('Alt+Ctrl+KeyA')).toBe('Ctrl+Alt+KeyA');
    expect(normaliseCombo('Ctrl+Ctrl+KeyA')).toBeNull();
    expect(normaliseCombo('Hyper+KeyA')).toBeNull();
    expect(normaliseCombo('Ctrl+')).toBeNull();
    expect(normaliseCombo('')).toBeNull();
  });

  it('formats for people', () => {
    expect(formatCombo('Ctrl+Alt+KeyA')).toBe('Ctrl+Alt+A');
    expect(formatCombo('Shift+Digit5')).toBe('Shift+5');
    expect(formatCombo('F9')).toBe('F9');
  });

  it('finds the action a key press is bound to', () => {
    expect(actionForEvent(DEFAULT_HOTKEYS, key('KeyA', { ctrlKey: true, altKey: true }))).toBe('answer');
    expect(actionForEvent(DEFAULT_HOTKEYS, key('KeyA', { ctrlKey: true }))).toBeNull();
  });
});

describe('rebinding', () => {
  it('accepts a new combo, uses it at once and remembers it on this machine', () => {
    const result = useHotkeyStore.getState().rebind('answer', 'F9');
    expect(result).toEqual({ ok: true, combo: 'F9' });
    expect(useHotkeyStore.getState().bindings.answer).toBe('F9');
    expect(actionForEvent(useHotkeyStore.getState().bindings, key('F9'))).toBe('answer');
    expect(JSON.parse(localStorage.getItem(HOTKEY_STORAGE_KEY) ?? '{}')).toMatchObject({ answer: 'F9' });
    resetHotkeyStore();
    expect(useHotkeyStore.getState().bindings.answer).toBe('F9');
  });

  it('refuses a combo another action uses, naming it', () => {
    const result = useHotkeyStore.getState().rebind('mute', DEFAULT_HOTKEYS.hold);
    expect(result).toEqual({ ok: false, problem: 'in_use', conflictsWith: 'hold' });
    expect(useHotkeyStore.getState().bindings.mute).toBe(DEFAULT_HOTKEYS.mute);
  });

  it('allows rebinding an action to its own combo', () => {
    expect(checkBinding(DEFAULT_HOTKEYS, 'hold', DEFAULT_HOTKEYS.hold)).toMatchObject({ ok: true });
  });

  it('refuses plain keys that would fire while typing, but allows bare function keys', () => {
    expect(checkBinding(DEFAULT_HOTKEYS, 'answer', 'KeyA')).toEqual({ ok: false, problem: 'needs_modifier' });
    expect(checkBinding(DEFAULT_HOTKEYS, 'answer', 'Shift+KeyA')).toEqual({ ok: false, problem: 'needs_modifier' });
    expect(checkBinding(DEFAULT_HOTKEYS, 'answer', 'F12')).toMatchObject({ ok: true });
    expect(checkBinding(DEFAULT_HOTKEYS, 'answer', 'nonsense')).toEqual({ ok: false, problem: 'invalid' });
  });

  it('goes back to the defaults', () => {
    useHotkeyStore.getState().rebind('answer', 'F9');
    useHotkeyStore.getState().resetDefaults();
    expect(useHotkeyStore.getState().bindings).toEqual(DEFAULT_HOTKEYS);
  });
});

describe('stored bindings', () => {
  it('fall back to the defaults when missing, unparsable, incomplete, invalid or clashing', () => {
    expect(loadBindings()).toEqual(DEFAULT_HOTKEYS);
    for (const stored of [
      'not json',
      JSON.stringify({ answer: 'F9' }),
      JSON.stringify({ ...DEFAULT_HOTKEYS, answer: 'Ctrl+Nope' }),
      JSON.stringify({ ...DEFAULT_HOTKEYS, answer: DEFAULT_HOTKEYS.hold }),
      JSON.stringify([1, 2, 3]),
    ]) {
      localStorage.setItem(HOTKEY_STORAGE_KEY, stored);
      expect(loadBindings(), stored).toEqual(DEFAULT_HOTKEYS);
    }
  });

  it('are read back normalised', () => {
    localStorage.setItem(HOTKEY_STORAGE_KEY, JSON.stringify({ ...DEFAULT_HOTKEYS, mute: 'Alt+Ctrl+KeyU' }));
    expect(loadBindings().mute).toBe('Ctrl+Alt+KeyU');
  });
});
