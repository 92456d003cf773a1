import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ringer } from './ringer.js';

/**
 * jsdom has no WebAudio: this stands in for the part of AudioContext the ringer uses and
 * records every destination it hands out, so that what a ring leaves behind can be counted.
 */
class RecordingAudioContext {
  static destinations: { track: { readyState: 'live' | 'ended'; stop(): void }; connected: boolean }[] = [];
  state = 'running';
  createBuffer() {
    return { copyToChannel: () => undefined };
  }
  createBufferSource() {
    return { buffer: null, loop: false, connect: () => undefined, start: () => undefined, stop: () => undefined, disconnect: () => undefined };
  }
  createMediaStreamDestination() {
    const record = {
      track: {
        readyState: 'live' as 'live' | 'ended',
        stop() {
          this.readyState = 'ended';
        },
      },
      connected: true,
    };
    RecordingAudioContext.destinations.push(record);
    return {
      stream: { getTracks: () => [record.track] },
      disconnect: () => {
        record.connected = false;
      },
    };
  }
  async resume() {}
}

describe('Ringer', () => {
  beforeEach(() => {
    RecordingAudioContext.destinations = [];
    vi.stubGlobal('AudioContext', RecordingAudioContext);
    vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    vi.spyOn(HTMLMediaElement.prototype, 'pause').mockReturnValue(undefined);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('leaves no live ringtone stream behind after the calls of a shift', async () => {
    const ringer = new Ringer();
    for (let call = 0; call < 50; call++) {
      expect(await ringer.start(call % 5 === 0 ? 'soft' : 'normal', null)).toBe('playing');
      if (call % 2 === 0) ringer.stop();
    }
    ringer.stop();
    const { destinations } = RecordingAudioContext;
    expect(destinations.length).toBeGreaterThan(25);
    expect(destinations.filter((d) => d.track.readyState === 'live' || d.connected)).toEqual([]);
  });

  it('keeps the ringtone of the ringing call playing', async () => {
    const ringer = new Ringer();
    await ringer.start('normal', null);
    expect(ringer.mode).toBe('normal');
    const [playing] = RecordingAudioContext.destinations;
    expect(playing?.track.readyState).toBe('live');
    expect(playing?.connected).toBe(true);
    ringer.stop();
    expect(ringer.mode).toBeNull();
    expect(playing?.track.readyState).toBe('ended');
  });
});
