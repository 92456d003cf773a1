import { useEffect, useId, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Recording } from '../../../shared/recordings.js';
import { formatDuration } from '../format.js';
import { loadWaveformPeaks, WAVEFORM_BARS, type PeaksLoader } from './waveform.js';
import './recordings.css';

export const PLAYBACK_RATES = [0.75, 1, 1.25, 1.5, 2] as const;
/** Arrow keys move this far on the timeline; Page Up/Down ten times as far. */
const STEP_SECONDS = 5;

interface RecordingPlayerProps {
  recording: Recording;
  /** The audio on the backend, with its playback ticket. */
  src: string;
  /** Tests replace the WebAudio decoding (jsdom has none). */
  loadPeaks?: PeaksLoader;
}

/**
 * One recording: play/pause, a waveform that is also the seek bar (click, or the keyboard as
 * a WAI-ARIA slider), the speed, and the stretches the operator paused the recording shown on
 * the timeline. The audio streams from the backend (range requests); nothing is stored.
 */
export function RecordingPlayer({ recording, src, loadPeaks = loadWaveformPeaks }: RecordingPlayerProps) {
  const { t } = useTranslation();
  const audioRef = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [currentSeconds, setCurrentSeconds] = useState(0);
  const [totalSeconds, setTotalSeconds] = useState(recording.durationMs / 1000);
  const [rate, setRate] = useState<number>(1);
  const [peaks, setPeaks] = useState<number[] | null>(null);
  const [waveformFailed, setWaveformFailed] = useState(false);
  const [audioFailed, setAudioFailed] = useState(false);
  const speedId = useId();
  const pausesId = useId();

  useEffect(() => {
    let current = true;
    loadPeaks(src, WAVEFORM_BARS).then(
      (loaded) => current && setPeaks(loaded),
      () => current && setWaveformFailed(true),
    );
    return () => {
      current = false;
    };
  }, [src, loadPeaks]);

  useEffect(() => {
    if (audioRef.current) audioRef.current.playbackRate = rate;
  }, [rate]);

  const totalMs = Math.max(1, totalSeconds * 1000);
  const percent = (ms: number) => `${Math.min(100, Math.max(0, (ms / totalMs) * 100))}%`;

  function seekTo(seconds: number) {
    const audio = audioRef.current;
    const target = Math.min(totalSeconds, Math.max(0, seconds));
    if (audio) audio.currentTime = target;
    setCurrentSeconds(target);
  }

  function togglePlay() {
    const audio = audioRef.current;
    if (!audio) return;
    if (audio.paused) {
      audio.play().catch(() => setAudioFailed(true));
    } else {
      audio.pause();
    }
  }

  function onTimelineClick(event: MouseEvent<HTMLDivElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    if (box.width <= 0) return;
    seekTo(((event.clientX - box.left) / box.width) * totalSeconds);
  }

  function onTimelineKey(event: KeyboardEvent<HTMLDivElement>) {
    const moves: Record<string, number> = {
      ArrowRight: STEP_SECONDS,
      ArrowUp: STEP_SECONDS,
      ArrowLeft: -STEP_SECONDS,
      ArrowDown: -STEP_SECONDS,
      PageUp: STEP_SECONDS * 10,
      PageDown: -STEP_SECONDS * 10,
    };
    let handled = true;
    if (event.key in moves) seekTo(currentSeconds + moves[event.key]!);
    else if (event.key === 'Home') seekTo(0);
    else if (event.key === 'End') seekTo(totalSeconds);
    else if (event.key === ' ' || event.key === 'Enter') togglePlay();
    else handled = false;
    if (handled) {
      event.preventDefault();
      // The incident tree around the player has arrow-key navigation of its own.
      event.stopPropagation();
    }
  }

  const positionText = t('recording.positionText', { current: formatDuration(currentSeconds), total: formatDuration(totalSeconds) });

  return (
    <div className="recording-player" role="group" aria-label={t('recording.player')} data-testid="recording-player" data-recording-id={recording.id}>
      <audio
        ref={audioRef}
        src={src}
        preload="metadata"
        data-testid="recording-audio"
        onLoadedMetadata={(e) => {
          const seconds = e.currentTarget.duration;
          if (Number.isFinite(seconds) && seconds > 0) setTotalSeconds(seconds);
          e.currentTarget.playbackRate = rate;
        }}
        onTimeUpdate={(e) => setCurrentSeconds(e.currentTarget.currentTime)}
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onEnded={() => setPlaying(false)}
        onError={() => setAudioFailed(true)}
      />
      <div className="recording-controls">
        <button type="button" className="primary" onClick={togglePlay} data-testid="recording-play" aria-pressed={playing}>
          {playing ? t('recording.pauseButton') : t('recording.playButton')}
        </button>
        <span className="recording-time" data-testid="recording-time">
          {positionText}
        </span>
        <label htmlFor={speedId}>{t('recording.speed')}</label>
        <select id={speedId} value={rate} onChange={(e) => setRate(Number(e.target.value))} data-testid="recording-speed">
          {PLAYBACK_RATES.map((value) => (
            <option key={value} value={value}>
              {`${value}×`}
            </option>
          ))}
        </select>
      </div>
      <div
        className="recording-timeline"
        role="slider"
        tabIndex={0}
        aria-label={t('recording.position')}
        aria-valuemin={0}
        aria-valuemax={Math.round(totalSeconds)}
        aria-valuenow={Math.round(currentSeconds)}
        aria-valuetext={positionText}
        aria-describedby={recording.pauses.length > 0 ? pausesId : undefined}
        data-testid="recording-timeline"
        onClick={onTimelineClick}
        onKeyDown={onTimelineKey}
      >
        {peaks ? (
          <svg className="recording-waveform" viewBox={`0 0 ${peaks.length} 100`} preserveAspectRatio="none" aria-hidden="true" data-testid="recording-waveform">
            {peaks.map((peak, index) => {
              const height = Math.max(1, peak * 96);
              return <rect key={index} x={index + 0.1} width={0.8} y={50 - height / 2} height={height} />;
            })}
          </svg>
        ) : (
          <span className="recording-waveform-note muted">{waveformFailed ? t('recording.waveformFailed') : t('recording.waveformLoading')}</span>
        )}
        {recording.pauses.map((pause) => (
          <span
            key={`${pause.fromMs}-${pause.toMs}`}
            className="recording-pause"
            style={{ left: percent(pause.fromMs), width: percent(pause.toMs - pause.fromMs) }}
            title={t('recording.pauseMark', { from: formatDuration(pause.fromMs / 1000), to: formatDuration(pause.toMs / 1000) })}
            data-testid="recording-pause"
            data-from-ms={pause.fromMs}
            data-to-ms={pause.toMs}
            aria-hidden="true"
          />
        ))}
        <span className="recording-progress" style={{ width: percent(currentSeconds * 1000) }} aria-hidden="true" />
      </div>
      {recording.pauses.length > 0 && (
        <div id={pausesId} className="recording-pauses">
          <span className="visually-hidden">{t('recording.pausesHeading')}: </span>
          {recording.pauses.map((pause) => (
            <span key={`${pause.fromMs}-${pause.toMs}`} className="recording-pause-text">
              {t('recording.pauseMark', { from: formatDuration(pause.fromMs / 1000), to: formatDuration(pause.toMs / 1000) })}
            </span>
          ))}
        </div>
      )}
      {audioFailed && (
        <p className="error" role="alert">
          {t('recording.audioFailed')}
        </p>
      )}
    </div>
  );
}
