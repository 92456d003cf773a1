import { describe, expect, it } from 'vitest';
import { toElectronAccelerator } from './accelerator.js';

describe('toElectronAccelerator', () => {
  it('turns stored phone hotkeys into Electron accelerators', () => {
    expect(toElectronAccelerator('Ctrl+Alt+KeyA')).toBe('Control+Alt+A');
    expect(toElectronAccelerator('Shift+Meta+Digit5')).toBe('Shift+Super+5');
    expect(toElectronAccelerator('Ctrl+ArrowUp')).toBe('Control+Up');
    expect(toElectronAccelerator('Alt+Numpad3')).toBe('Alt+num3');
    expect(toElectronAccelerator('F9')).toBe('F9');
  });
  it('refuses keys Electron cannot bind and bare keys that would steal typing elsewhere', () => {
    for (const combo of ['Pause', 'KeyA', 'Ctrl+Ctrl+KeyA', 'Hyper+KeyA', 'Ctrl+Quote', '']) {
      expect(toElectronAccelerator(combo), combo).toBeNull();
    }
  });
});
