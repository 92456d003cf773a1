import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { registerRendererCleanup } from '../test/harness.js';
import { lazyScreen } from './lazy-screen.js';

registerRendererCleanup();

function Greeting({ name }: { name: string }) {
  return <p>Hello {name}</p>;
}

describe('lazy screens', () => {
  it('say they are opening, then show the loaded screen with its props', async () => {
    let release!: () => void;
    const loaded = new Promise<void>((resolve) => (release = resolve));
    const Screen = lazyScreen(async () => {
      await loaded;
      return Greeting;
    });
    render(<Screen name="Sato" />);
    expect(screen.getByTestId('screen-loading').textContent).toBe('Opening the screen…');
    release();
    expect((await screen.findByText('Hello Sato')).tagName).toBe('P');
    expect(screen.queryByTestId('screen-loading')).toBeNull();
  });

  it('say in place that a screen could not be loaded, and load it again on Try again', async () => {
    let attempts = 0;
    const Screen = lazyScreen(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('chunk AdminConsole-x.js is missing');
      return Greeting;
    });
    render(
      <main>
        <p>Softphone</p>
        <Screen name="Ito" />
      </main>,
    );
    const failure = await screen.findByTestId('screen-failed');
    expect(failure.getAttribute('role')).toBe('alert');
    expect(failure.textContent).toContain('This screen could not be opened: chunk AdminConsole-x.js is missing');
    // The rest of the window stays.
    expect(screen.getByText('Softphone')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect((await screen.findByText('Hello Ito')).tagName).toBe('P');
    expect(attempts).toBe(2);
    expect(screen.queryByTestId('screen-failed')).toBeNull();
  });
});
