import { useEffect, useRef, useState, type FormEvent, type MouseEvent } from 'react';
import type { PortalOrder, PortalPageSummary, PortalPageView } from '../../shared/portal.js';
import { portalApi, PortalApiError } from './api.js';
import { ContactRep } from './ContactRep.js';
import { useT } from './language.js';
import { track } from './tracker.js';

function useLoad<T>(load: () => Promise<T>): { value: T | undefined; error: PortalApiError | Error | null } {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<PortalApiError | Error | null>(null);
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current().then(setValue, (failure: unknown) => setError(failure instanceof Error ? failure : new Error(String(failure))));
  }, []);
  return { value, error };
}

function Price({ priceYen }: { priceYen: number | null }) {
  const t = useT();
  return <span className="price">{priceYen === null ? t('priceOnRequest') : t('price', { price: priceYen.toLocaleString('ja-JP') })}</span>;
}

export function Catalogue() {
  const t = useT();
  const { value: pages, error } = useLoad(portalApi.pages);
  if (error) return <p role="alert">{t('error', { message: error.message })}</p>;
  if (!pages) return <p>{t('loading')}</p>;
  const section = (kind: PortalPageSummary['kind'], title: string) => {
    const entries = pages.filter((page) => page.kind === kind);
    return (
      <section aria-labelledby={`list-${kind}`}>
        <h2 id={`list-${kind}`}>{title}</h2>
        {entries.length === 0 ? (
          <p>{t('nothing')}</p>
        ) : (
          <ul className="tiles">
            {entries.map((page) => (
              <li key={page.id} className="card">
                <a href={`#/p/${encodeURIComponent(page.slug)}`}>{page.title}</a>
                {kind === 'product' && <Price priceYen={page.priceYen} />}
              </li>
            ))}
          </ul>
        )}
      </section>
    );
  };
  return (
    <>
      {section('product', t('products'))}
      {section('page', t('pages'))}
    </>
  );
}

function Video({ page }: { page: PortalPageView }) {
  const t = useT();
  const video = useRef<HTMLVideoElement>(null);
  const [now, setNow] = useState(0);
  const at = () => Math.round((video.current?.currentTime ?? 0) * 10) / 10;
  return (
    <figure className="video">
      <div className="video-frame">
        <video
          ref={video}
          src={page.videoUrl!}
          controls
          preload="metadata"
          aria-label={t('video')}
          onPlay={() => track('video_play', page.id, { positionSeconds: at() })}
          onTimeUpdate={() => setNow(video.current?.currentTime ?? 0)}
        />
        {page.hotspots
          .filter((spot) => now >= spot.fromSeconds && now <= spot.toSeconds)
          .map((spot) => (
            <button
              key={spot.id}
              type="button"
              className="hotspot"
              style={{ left: `${spot.x}%`, top: `${spot.y}%`, width: `${spot.width}%`, height: `${spot.height}%` }}
              aria-label={t('hotspot', { label: spot.label })}
              onClick={() => {
                track('hotspot_click', page.id, { target: spot.id, positionSeconds: at() });
                // The click is recorded first; the page stays open, so its beacon still leaves.
                if (spot.link) window.open(spot.link, '_blank', 'noopener,noreferrer');
              }}
            >
              {spot.label}
            </button>
          ))}
      </div>
    </figure>
  );
}

function OrderForm({ page }: { page: PortalPageView }) {
  const t = useT();
  const [quantity, setQuantity] = useState(1);
  const [note, setNote] = useState('');
  // One id per order the customer means to place: pressing again after a lost answer is the same order.
  const [clientId, setClientId] = useState(() => crypto.randomUUID());
  const [result, setResult] = useState<PortalOrder | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await portalApi.placeOrder({ clientId, productId: page.id, quantity, note }));
      setClientId(crypto.randomUUID());
      setNote('');
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="order-title">
      <h3 id="order-title">{t('order')}</h3>
      <form onSubmit={(event) => void submit(event)}>
        <label>
          {t('quantity')}
          <input name="quantity" type="number" min={1} max={1000} required value={quantity} onChange={(event) => setQuantity(Number(event.target.value))} />
        </label>
        <label>
          {t('note')}
          <textarea name="note" maxLength={1000} value={note} onChange={(event) => setNote(event.target.value)} />
        </label>
        {error && <p role="alert">{error}</p>}
        {result && <p role="status">{result.confirmation === 'sent' ? t('ordered') : t('orderedNoMail')}</p>}
        <button type="submit" disabled={busy}>
          {t('placeOrder')}
        </button>
      </form>
    </section>
  );
}

export function PageView({ slug }: { slug: string }) {
  const t = useT();
  const { value: page, error } = useLoad(() => portalApi.page(slug));
  useEffect(() => {
    if (page) track('page_view', page.id);
  }, [page]);
  if (error) return <p role="alert">{error instanceof PortalApiError && error.status === 404 ? t('notFound') : t('error', { message: error.message })}</p>;
  if (!page) return <p>{t('loading')}</p>;
  // Links in the body (sanitised on the backend) are tracked as they are followed.
  const onBodyClick = (event: MouseEvent<HTMLDivElement>) => {
    const link = (event.target as Element).closest('a');
    if (link?.href) track('link_click', page.id, { target: link.href });
  };
  return (
    <article className="page">
      <p>
        <a href="#/">{t('back')}</a>
      </p>
      <h2>{page.title}</h2>
      {page.kind === 'product' && (
        <p>
          <Price priceYen={page.priceYen} /> {page.owned && <span className="owned">{t('owned')}</span>}
        </p>
      )}
      {page.imageUrls.map((url) => (
        <img key={url} src={url} alt="" className="page-image" />
      ))}
      {page.videoUrl && <Video page={page} />}
      <div className="body" onClick={onBodyClick} dangerouslySetInnerHTML={{ __html: page.bodyHtml }} />
      {page.kind === 'product' && <OrderForm page={page} />}
      {page.kind === 'product' && <ContactRep page={page} />}
    </article>
  );
}

export function Orders() {
  const t = useT();
  const { value: orders, error } = useLoad(portalApi.orders);
  if (error) return <p role="alert">{t('error', { message: error.message })}</p>;
  if (!orders) return <p>{t('loading')}</p>;
  return (
    <section aria-labelledby="orders-title">
      <h2 id="orders-title">{t('myOrders')}</h2>
      {orders.length === 0 ? (
        <p>{t('noOrders')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('products')}</th>
              <th scope="col">{t('quantity')}</th>
              <th scope="col">{t('order')}</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => (
              <tr key={order.id}>
                <td>{order.productTitle}</td>
                <td>{order.quantity}</td>
                <td>{new Date(order.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
