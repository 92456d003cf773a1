import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ringer } from './ringer.js';

/**
 * jsdom has no WebAudio: this stands in for the part of AudioContext the ringer uses and
 * records every destination it hands out, so that what a ring leaves behind can be counted.
 */
class RecordingAudioContext {
  static destinations: { track: { readyState: 'live' | 'ended'; stop(): void } }[] = [];
  static sources: { playing: boolean; connected: boolean }[] = [];
  state = 'running';
  createBuffer() {
    return { copyToChannel: () => undefined };
  }
  createBufferSource() {
    const record = { playing: false, connected: false };
    RecordingAudioContext.sources.push(record);
    return {
      buffer: null,
      loop: false,
      connect: () => {
        record.connected = true;
      },
      start: () => {
        record.playing = true;
      },
      stop: () => {
        record.playing = false;
      },
      disconnect: () => {
        record.connected = false;
      },
    };
  }
  createMediaStreamDestination() {
    const record = {
      track: {
        readyState: 'live' as 'live' | 'ended',
        stop() {
          this.readyState = 'ended';
        },
      },
    };
    RecordingAudioContext.destinations.push(record);
    return { stream: { getTracks: () => [record.track] }, disconnect: () => undefined };
  }
  async resume() {}
}

describe('Ringer', () => {
  beforeEach(() => {
    RecordingAudioContext.destinations = [];
    RecordingAudioContext.sources = [];
    vi.stubGlobal('AudioContext', RecordingAudioContext);
    vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    vi.spyOn(HTMLMediaElement.prototype, 'pause').mockReturnValue(undefined);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('leaves nothing behind after the calls of a shift: one stream for all rings, every ring stopped', async () => {
    const pause = vi.spyOn(HTMLMediaElement.prototype, 'pause');
    const ringer = new Ringer();
    for (let call = 0; call < 50; call++) {
      expect(await ringer.start(call % 5 === 0 ? 'soft' : 'normal', null)).toBe('playing');
      if (call % 2 === 0) ringer.stop();
    }
    ringer.stop();
    // Chromium keeps every destination (and its MediaStream) as long as the context: one per
    // ringer, however many rings.
    expect(RecordingAudioContext.destinations).toHaveLength(1);
    const { sources } = RecordingAudioContext;
    expect(sources.length).toBeGreaterThan(25);
    expect(sources.filter((source) => source.playing || source.connected)).toEqual([]);
    expect(pause).toHaveBeenCalled();
  });

  it('keeps the ringtone of the ringing call playing', async () => {
    const ringer = new Ringer();
    await ringer.start('normal', null);
    expect(ringer.mode).toBe('normal');
    const [playing] = RecordingAudioContext.sources;
    expect(playing).toEqual({ playing: true, connected: true });
    await ringer.start('soft', null);
    expect(ringer.mode).toBe('soft');
    expect(playing).toEqual({ playing: false, connected: false });
    expect(RecordingAudioContext.sources[1]).toEqual({ playing: true, connected: true });
    ringer.stop();
    expect(ringer.mode).toBeNull();
    expect(RecordingAudioContext.sources[1]).toEqual({ playing: false, connected: false });
  });
});
