/**
 * The waveform of a recording, computed in the renderer from the audio itself: the file is
 * fetched from the backend (with the player's ticket; it is kept in memory only, never
 * stored), decoded with WebAudio and reduced to one peak per bar.
 */

/** Bars across the timeline. */
export const WAVEFORM_BARS = 240;
/** Above this size the waveform is not drawn (a day-long call): the player still plays. */
export const MAX_WAVEFORM_BYTES = 40 * 1024 * 1024;

/** The largest absolute sample of each of `bars` equal stretches, over every channel, scaled so the loudest bar is 1. */
export function computePeaks(channels: readonly Float32Array[], bars: number): number[] {
  const length = Math.max(0, ...channels.map((channel) => channel.length));
  const peaks = new Array<number>(bars).fill(0);
  if (length === 0 || bars <= 0) return peaks;
  for (const channel of channels) {
    for (let bar = 0; bar < bars; bar++) {
      const from = Math.floor((bar * length) / bars);
      const to = Math.max(from + 1, Math.floor(((bar + 1) * length) / bars));
      let peak = peaks[bar]!;
      for (let i = from; i < to && i < channel.length; i++) {
        const value = Math.abs(channel[i]!);
        if (value > peak) peak = value;
      }
      peaks[bar] = peak;
    }
  }
  const loudest = Math.max(...peaks);
  return loudest > 0 ? peaks.map((peak) => peak / loudest) : peaks;
}

export type PeaksLoader = (url: string, bars: number) => Promise<number[]>;

/** Fetches and decodes the audio at `url` (no cookies, not cached) and returns its peaks. */
export const loadWaveformPeaks: PeaksLoader = async (url, bars) => {
  const response = await fetch(url, { credentials: 'omit', cache: 'no-store' });
  if (!response.ok) throw new Error(`the backend answered ${response.status}`);
  const size = Number(response.headers.get('content-length') ?? '0');
  if (size > MAX_WAVEFORM_BYTES) throw new Error('the recording is too large to draw');
  const bytes = await response.arrayBuffer();
  // An offline context decodes without opening an audio output.
  const context = new OfflineAudioContext(1, 1, 8000);
  const audio = await context.decodeAudioData(bytes);
  const channels: Float32Array[] = [];
  for (let c = 0; c < audio.numberOfChannels; c++) channels.push(audio.getChannelData(c));
  return computePeaks(channels, bars);
};
