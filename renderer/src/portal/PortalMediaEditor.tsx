import { useState, type ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { PORTAL_MEDIA_MAX_BYTES, PORTAL_MEDIA_TYPES, type VideoHotspot } from '../../../shared/portal.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';

/** A plain key → text function: the typed `t` over every resource key is too deep for tsc here. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

export interface PageMedia {
  imageIds: string[];
  videoId: string | null;
  hotspots: VideoHotspot[];
}

type MediaType = (typeof PORTAL_MEDIA_TYPES)[number];
const IMAGE_TYPES = PORTAL_MEDIA_TYPES.filter((type) => type.startsWith('image/'));
const VIDEO_TYPES = PORTAL_MEDIA_TYPES.filter((type) => type.startsWith('video/'));

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('file could not be read'));
    reader.readAsDataURL(file);
  });
}

const HOTSPOT_NUMBERS = ['fromSeconds', 'toSeconds', 'x', 'y', 'width', 'height'] as const;
const NUMBER_LABEL: Record<(typeof HOTSPOT_NUMBERS)[number], string> = { fromSeconds: 'from', toSeconds: 'to', x: 'x', y: 'y', width: 'width', height: 'height' };

/**
 * Images, the video and its hotspots of a portal page: files are checked here by type and size
 * (and again by the backend, which also checks their bytes), uploaded at once, and kept in the
 * draft until the page is saved. A hotspot is a time range, a region in percent of the frame, a
 * label and an optional link; the portal plays the video with them clickable.
 */
export function PortalMediaEditor({ media, onChange }: { media: PageMedia; onChange: (media: PageMedia) => void }) {
  const { t: typedT } = useTranslation();
  const t = typedT as unknown as Translate;
  const [error, setError] = useState<AppError | string | null>(null);
  const [busy, setBusy] = useState(false);

  const upload = async (event: ChangeEvent<HTMLInputElement>, kind: 'image' | 'video') => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    const allowed: readonly string[] = kind === 'image' ? IMAGE_TYPES : VIDEO_TYPES;
    if (!allowed.includes(file.type)) {
      setError(t('portalContent.badType', { name: file.name }));
      return;
    }
    if (file.size > PORTAL_MEDIA_MAX_BYTES) {
      setError(t('portalContent.tooLarge', { name: file.name, max: PORTAL_MEDIA_MAX_BYTES / 1024 / 1024 }));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await invoke('portal:uploadMedia', { contentType: file.type as MediaType, data: await readBase64(file) });
      if (!result.ok) {
        setError(result.error);
        return;
      }
      onChange(kind === 'image' ? { ...media, imageIds: [...media.imageIds, result.value.id] } : { ...media, videoId: result.value.id });
    } finally {
      setBusy(false);
    }
  };
  const setHotspot = (index: number, patch: Partial<VideoHotspot>) =>
    onChange({ ...media, hotspots: media.hotspots.map((spot, i) => (i === index ? { ...spot, ...patch } : spot)) });
  const addHotspot = () => {
    const id = `spot-${media.hotspots.length + 1}-${Date.now().toString(36)}`;
    onChange({ ...media, hotspots: [...media.hotspots, { id, label: '', fromSeconds: 0, toSeconds: 5, x: 10, y: 10, width: 30, height: 20 }] });
  };

  return (
    <fieldset className="portal-media" data-testid="portal-media">
      <legend>{t('portalContent.media')}</legend>
      {error && (
        <p className="error" role="alert">
          {typeof error === 'string' ? error : <ErrorText error={error} />}
        </p>
      )}
      {busy && <p role="status">{t('portalContent.uploading')}</p>}
      <ul className="plain-list" data-testid="portal-images">
        {media.imageIds.map((id, index) => (
          <li key={id}>
            {id}{' '}
            <button type="button" className="quiet" onClick={() => onChange({ ...media, imageIds: media.imageIds.filter((other) => other !== id) })}>
              {t('portalContent.removeImage', { n: index + 1 })}
            </button>
          </li>
        ))}
      </ul>
      <label>
        {t('portalContent.addImage')}
        <input type="file" accept={IMAGE_TYPES.join(',')} disabled={busy} onChange={(event) => void upload(event, 'image')} />
      </label>
      <label>
        {t('portalContent.setVideo')}
        <input type="file" accept={VIDEO_TYPES.join(',')} disabled={busy} onChange={(event) => void upload(event, 'video')} />
      </label>
      <p data-testid="portal-video">
        {media.videoId ?? t('portalContent.noVideo')}{' '}
        {media.videoId && (
          <button type="button" className="quiet" onClick={() => onChange({ ...media, videoId: null, hotspots: [] })}>
            {t('portalContent.removeVideo')}
          </button>
        )}
      </p>
      {media.videoId && (
        <fieldset className="portal-hotspots" data-testid="portal-hotspots">
          <legend>{t('portalContent.hotspots')}</legend>
          {media.hotspots.map((spot, index) => (
            <fieldset key={spot.id} className="portal-hotspot" aria-label={t('portalContent.hotspotN', { n: index + 1 })}>
              <label>
                {t('portalContent.label')}
                <input value={spot.label} required maxLength={100} onChange={(event) => setHotspot(index, { label: event.target.value })} />
              </label>
              <label>
                {t('portalContent.link')}
                <input
                  type="url"
                  value={spot.link ?? ''}
                  maxLength={500}
                  onChange={(event) => {
                    const link = event.target.value.trim();
                    setHotspot(index, { link: link === '' ? undefined : link });
                  }}
                />
              </label>
              {HOTSPOT_NUMBERS.map((field) => (
                <label key={field}>
                  {t(`portalContent.${NUMBER_LABEL[field]}`)}
                  <input
                    type="number"
                    min={field === 'width' || field === 'height' ? 1 : 0}
                    max={field.endsWith('Seconds') ? 86_400 : 100}
                    step="any"
                    value={spot[field]}
                    onChange={(event) => setHotspot(index, { [field]: Number(event.target.value) })}
                  />
                </label>
              ))}
              <button type="button" className="quiet" onClick={() => onChange({ ...media, hotspots: media.hotspots.filter((_, i) => i !== index) })}>
                {t('portalContent.removeHotspot', { n: index + 1 })}
              </button>
            </fieldset>
          ))}
          <button type="button" className="quiet" onClick={addHotspot}>
            {t('portalContent.addHotspot')}
          </button>
        </fieldset>
      )}
    </fieldset>
  );
}
