/**
 * Phone hotkeys are stored as physical keys with modifiers ("Ctrl+Alt+KeyA", see
 * renderer/src/phone/hotkeys.ts). Electron's global shortcuts take accelerators
 * ("Control+Alt+A"); this converts one to the other, or null for a key Electron cannot bind.
 */
const MODIFIER_ACCELERATORS: Record<string, string> = { Ctrl: 'Control', Alt: 'Alt', Shift: 'Shift', Meta: 'Super' };
const NAMED_KEYS: Record<string, string> = {
  Space: 'Space',
  Enter: 'Enter',
  Backspace: 'Backspace',
  Insert: 'Insert',
  Delete: 'Delete',
  Home: 'Home',
  End: 'End',
  PageUp: 'PageUp',
  PageDown: 'PageDown',
  ArrowUp: 'Up',
  ArrowDown: 'Down',
  ArrowLeft: 'Left',
  ArrowRight: 'Right',
};

export function toElectronAccelerator(combo: string): string | null {
  const parts = combo.split('+');
  const code = parts.pop() ?? '';
  const modifiers: string[] = [];
  for (const part of parts) {
    const modifier = MODIFIER_ACCELERATORS[part];
    if (!modifier || modifiers.includes(modifier)) return null;
    modifiers.push(modifier);
  }
  let key: string | undefined;
  if (/^Key[A-Z]$/.test(code)) key = code.slice(3);
  else if (/^Digit[0-9]$/.test(code)) key = code.slice(5);
  else if (/^Numpad[0-9]$/.test(code)) key = `num${code.slice(6)}`;
  else if (/^F([1-9]|1[0-9]|2[0-4])$/.test(code)) key = code;
  else key = NAMED_KEYS[code];
  if (!key) return null;
  // A global shortcut without a modifier would swallow that key in every other program.
  if (modifiers.length === 0 && !/^F\d+$/.test(key)) return null;
  return [...modifiers, key].join('+');
}
