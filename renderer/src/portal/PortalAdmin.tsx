import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { PORTAL_MAX_RANK, PORTAL_MIN_RANK, PORTAL_PAGE_KINDS, type PortalAdminPage, type PortalPageKind } from '../../../shared/portal.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { PortalMediaEditor, type PageMedia } from './PortalMediaEditor.js';

interface Draft {
  id: string | null;
  kind: PortalPageKind;
  slug: string;
  title: string;
  bodyMarkdown: string;
  priceYen: string;
  minRank: number;
  onlyCustomerCodes: string;
  published: boolean;
  media: PageMedia;
}

const EMPTY: Draft = {
  id: null,
  kind: 'product',
  slug: '',
  title: '',
  bodyMarkdown: '',
  priceYen: '',
  minRank: 1,
  onlyCustomerCodes: '',
  published: true,
  media: { imageIds: [], videoId: null, hotspots: [] },
};

function draftOf(page: PortalAdminPage): Draft {
  return {
    id: page.id,
    kind: page.kind,
    slug: page.slug,
    title: page.title,
    bodyMarkdown: page.bodyMarkdown,
    priceYen: page.priceYen === null ? '' : String(page.priceYen),
    minRank: page.minRank,
    onlyCustomerCodes: page.onlyCustomerCodes.join(', '),
    published: page.published,
    media: { imageIds: page.imageIds, videoId: page.videoId, hotspots: page.hotspots },
  };
}

/**
 * The portal's pages and products as admins edit them: title, Markdown body (sanitised by the
 * backend), price, minimum rank, named customers, published, images, a video with its
 * hotspots (PortalMediaEditor); and deletes a page after a confirmation.
 */
export function PortalAdmin() {
  const { t } = useTranslation();
  const [pages, setPages] = useState<PortalAdminPage[] | null>(null);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [deletedTitle, setDeletedTitle] = useState<string | null>(null);

  useEffect(() => {
    void invoke('portal:pages', null).then((result) => {
      if (result.ok) setPages(result.value.pages);
      else setError(result.error);
    });
  }, []);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const result = await invoke('portal:savePage', {
      id: draft.id,
      page: {
        kind: draft.kind,
        slug: draft.slug,
        title: draft.title,
        bodyMarkdown: draft.bodyMarkdown,
        priceYen: draft.priceYen.trim() === '' ? null : Number(draft.priceYen),
        minRank: draft.minRank,
        onlyCustomerCodes: draft.onlyCustomerCodes
          .split(/[\s,、]+/)
          .map((code) => code.trim())
          .filter(Boolean),
        published: draft.published,
        imageIds: draft.media.imageIds,
        videoId: draft.media.videoId,
        hotspots: draft.media.hotspots,
      },
    });
    if (!result.ok) {
      setError(result.error);
      setSaved(false);
      return;
    }
    setError(null);
    setSaved(true);
    setPages((previous) => [...(previous ?? []).filter((page) => page.id !== result.value.id), result.value].sort((a, b) => a.title.localeCompare(b.title)));
    setDraft(draftOf(result.value));
  };
  const remove = async () => {
    if (draft.id === null) return;
    const result = await invoke('portal:deletePage', { id: draft.id });
    setConfirmingDelete(false);
    if (!result.ok) {
      setError(result.error);
      return;
    }
    setError(null);
    setDeletedTitle(draft.title);
    setPages((previous) => (previous ?? []).filter((page) => page.id !== draft.id));
    setDraft(EMPTY);
  };
  const change = (patch: Partial<Draft>) => {
    setSaved(false);
    setDeletedTitle(null);
    setDraft((previous) => ({ ...previous, ...patch }));
  };

  return (
    <section className="portal-admin" aria-labelledby="portal-admin-heading" data-testid="portal-admin">
      <h2 id="portal-admin-heading">{t('portalStaff.adminHeading')}</h2>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      <div className="portal-admin-body">
        <div>
          <ul className="plain-list" aria-label={t('portalStaff.pages')}>
            {(pages ?? []).map((page) => (
              <li key={page.id}>
                <button
                  type="button"
                  className="link-button"
                  aria-current={draft.id === page.id ? 'true' : undefined}
                  onClick={() => {
                    setConfirmingDelete(false);
                    setDraft(draftOf(page));
                  }}
                >
                  {page.title}
                </button>{' '}
                <span className="muted">
                  {t(`portalStaff.kind.${page.kind}`)} · {t('portalStaff.minRankShort', { rank: page.minRank })}
                  {!page.published && ` · ${t('portalStaff.unpublished')}`}
                </span>
              </li>
            ))}
          </ul>
          <button type="button" className="quiet" onClick={() => setDraft(EMPTY)}>
            {t('portalStaff.newPage')}
          </button>
        </div>
        <form onSubmit={(event) => void save(event)} className="portal-page-form">
          <label>
            {t('portalStaff.kindLabel')}
            <select value={draft.kind} onChange={(event) => change({ kind: event.target.value as PortalPageKind })}>
              {PORTAL_PAGE_KINDS.map((kind) => (
                <option key={kind} value={kind}>
                  {t(`portalStaff.kind.${kind}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('portalStaff.title')}
            <input value={draft.title} required maxLength={200} onChange={(event) => change({ title: event.target.value })} />
          </label>
          <label>
            {t('portalStaff.slug')}
            <input value={draft.slug} required pattern="[a-z0-9][a-z0-9\-]*" maxLength={80} onChange={(event) => change({ slug: event.target.value })} />
          </label>
          <label>
            {t('portalStaff.body')}
            <textarea value={draft.bodyMarkdown} rows={8} maxLength={100_000} onChange={(event) => change({ bodyMarkdown: event.target.value })} />
          </label>
          <label>
            {t('portalStaff.price')}
            <input type="number" min={0} value={draft.priceYen} onChange={(event) => change({ priceYen: event.target.value })} />
          </label>
          <label>
            {t('portalStaff.minRank')}
            <select value={draft.minRank} onChange={(event) => change({ minRank: Number(event.target.value) })}>
              {Array.from({ length: PORTAL_MAX_RANK - PORTAL_MIN_RANK + 1 }, (_, index) => PORTAL_MIN_RANK + index).map((rank) => (
                <option key={rank} value={rank}>
                  {rank}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('portalStaff.onlyCustomers')}
            <input value={draft.onlyCustomerCodes} onChange={(event) => change({ onlyCustomerCodes: event.target.value })} />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={draft.published} onChange={(event) => change({ published: event.target.checked })} />
            {t('portalStaff.published')}
          </label>
          <PortalMediaEditor media={draft.media} onChange={(media) => change({ media })} />
          <button type="submit">{t('portalStaff.save')}</button>
          {saved && <p role="status">{t('portalStaff.saved')}</p>}
          {draft.id !== null && !confirmingDelete && (
            <button type="button" className="danger" onClick={() => setConfirmingDelete(true)}>
              {t('portalContent.delete')}
            </button>
          )}
          {draft.id !== null && confirmingDelete && (
            <div role="alertdialog" aria-labelledby="portal-delete-question" className="confirm-delete">
              <p id="portal-delete-question">{t('portalContent.confirmDelete', { title: draft.title })}</p>
              <button type="button" className="danger" onClick={() => void remove()}>
                {t('portalContent.confirm')}
              </button>
              <button type="button" className="quiet" onClick={() => setConfirmingDelete(false)}>
                {t('portalContent.cancel')}
              </button>
            </div>
          )}
          {deletedTitle !== null && <p role="status">{t('portalContent.deleted', { title: deletedTitle })}</p>}
        </form>
      </div>
    </section>
  );
}
