import { expect, type Page } from '@playwright/test';

/**
 * A tone detector for the e2e tests' pages (the app's and the callers'): what one peer
 * connection receives, played into WebAudio and measured with a Hann-windowed Goertzel filter
 * at each test tone's frequency. Each browser's fake microphone plays its own tone, so the
 * amplitude at a frequency says whose audio a page hears.
 */

/** Above this a tone is heard (the test tones are generated at half of full scale). */
export const TONE_HEARD = 0.05;
/** Below this it is absent: codec noise and the window's leakage stay far below. */
export const TONE_ABSENT = 0.02;

/** Which of the page's peer connections (in creation order); negative counts from the end. */
export async function toneAmplitudes(page: Page, connection: number, frequencies: number[]): Promise<Record<number, number>> {
  return page.evaluate(
    async ({ connection, frequencies }) => {
      const all = ((window as unknown as { __tsunaguPeerConnections?: RTCPeerConnection[] }).__tsunaguPeerConnections ?? []).filter(
        (pc) => pc.connectionState !== 'closed',
      );
      const pc = connection < 0 ? all[all.length + connection] : all[connection];
      const result: Record<number, number> = {};
      for (const frequency of frequencies) result[frequency] = 0;
      const tracks = pc ? pc.getReceivers().map((r) => r.track).filter((t) => t.kind === 'audio') : [];
      if (tracks.length === 0) return result;
      const context = new AudioContext();
      try {
        const stream = new MediaStream(tracks);
        // Chrome feeds WebAudio silence from a remote track no element plays.
        const element = new Audio();
        element.muted = true;
        element.srcObject = stream;
        await element.play().catch(() => undefined);
        const analyser = context.createAnalyser();
        analyser.fftSize = 4096;
        context.createMediaStreamSource(stream).connect(analyser);
        await context.resume();
        const frame = new Float32Array(analyser.fftSize);
        const hann = frame.map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frame.length - 1)));
        // Twelve frames ~100 ms apart: the loudest counts (packets arrive in bursts).
        for (let round = 0; round < 12; round++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          analyser.getFloatTimeDomainData(frame);
          for (const frequency of frequencies) {
            const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / context.sampleRate);
            let previous = 0;
            let beforePrevious = 0;
            for (let i = 0; i < frame.length; i++) {
              const next = (frame[i] ?? 0) * (hann[i] ?? 0) + coefficient * previous - beforePrevious;
              beforePrevious = previous;
              previous = next;
            }
            const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
            // A Hann window halves a sine's coherent sum: amplitude = 2·√power / (N/2).
            const amplitude = (4 * Math.sqrt(Math.max(power, 0))) / frame.length;
            result[frequency] = Math.max(result[frequency] ?? 0, amplitude);
          }
        }
        element.pause();
        element.srcObject = null;
        return result;
      } finally {
        await context.close();
      }
    },
    { connection, frequencies },
  );
}

export async function expectTone(page: Page, connection: number, frequency: number, what: string): Promise<void> {
  await expect
    .poll(async () => (await toneAmplitudes(page, connection, [frequency]))[frequency] ?? 0, { message: `${what}: ${frequency} Hz heard`, timeout: 20_000 })
    .toBeGreaterThan(TONE_HEARD);
}

export async function expectNoTone(page: Page, connection: number, frequency: number, what: string): Promise<void> {
  const amplitude = (await toneAmplitudes(page, connection, [frequency]))[frequency] ?? 0;
  expect(amplitude, `${what}: ${frequency} Hz must not be heard`).toBeLessThan(TONE_ABSENT);
}

/** Waits until a tone that was heard is gone (after a mute, a mode switch, a device change). */
export async function expectToneStops(page: Page, connection: number, frequency: number, what: string): Promise<void> {
  await expect
    .poll(async () => (await toneAmplitudes(page, connection, [frequency]))[frequency] ?? 0, { message: `${what}: ${frequency} Hz no longer heard`, timeout: 20_000 })
    .toBeLessThan(TONE_ABSENT);
}
