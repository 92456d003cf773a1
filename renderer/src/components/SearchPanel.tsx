import { type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatPhone } from '../format.js';
import { useCustomerStore } from '../stores/customer.js';
import { hasMoreResults, useSearchStore } from '../stores/search.js';
import { useSessionStore } from '../stores/session.js';
import { ClassificationBadge } from './ClassificationBadge.js';

const LISTBOX_ID = 'customer-search-results';
const optionId = (index: number) => `customer-search-result-${index}`;

/**
 * An ARIA combobox: focus stays in the box while arrow keys move through the results, so the
 * operator can keep typing; Enter opens the highlighted customer (the first one if none is).
 */
export function SearchPanel() {
  const { t } = useTranslation();
  const query = useSearchStore((s) => s.query);
  const results = useSearchStore((s) => s.results);
  const phase = useSearchStore((s) => s.phase);
  const error = useSearchStore((s) => s.error);
  const source = useSearchStore((s) => s.source);
  const activeIndex = useSearchStore((s) => s.activeIndex);
  const total = useSearchStore((s) => s.total);
  const totalExact = useSearchStore((s) => s.totalExact);
  const morePhase = useSearchStore((s) => s.morePhase);
  const loadMore = useSearchStore((s) => s.loadMore);
  const more = useSearchStore(hasMoreResults);
  const setQuery = useSearchStore((s) => s.setQuery);
  const moveActive = useSearchStore((s) => s.moveActive);
  const setActive = useSearchStore((s) => s.setActive);
  const selectedId = useCustomerStore((s) => s.selectedId);
  const select = useCustomerStore((s) => s.select);
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);

  const open = results.length > 0;

  function choose(index: number) {
    const customer = results[index];
    if (!customer) return;
    setActive(index);
    void select(customer.id);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        moveActive(1);
        break;
      case 'ArrowUp':
        event.preventDefault();
        moveActive(-1);
        break;
      case 'Enter':
        event.preventDefault();
        choose(activeIndex >= 0 ? activeIndex : 0);
        break;
      case 'Escape':
        if (query) {
          event.preventDefault();
          setQuery('');
        }
        break;
    }
  }

  let statusText = '';
  if (phase === 'searching') statusText = t('search.searching');
  else if (phase === 'done') {
    if (results.length === 0) statusText = t('search.noResults');
    else if (!totalExact) statusText = t('search.resultCountAtLeast', { count: total, shown: results.length });
    else if (results.length < total) statusText = t('search.resultCountPartial', { count: total, shown: results.length });
    else statusText = t('search.resultCount', { count: total });
  }

  return (
    <div className="search" role="search">
      <label htmlFor="customer-search" className="search-label">
        {t('search.label')}
      </label>
      <input
        id="customer-search"
        type="search"
        role="combobox"
        autoComplete="off"
        spellCheck={false}
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={open ? LISTBOX_ID : undefined}
        aria-activedescendant={open && activeIndex >= 0 ? optionId(activeIndex) : undefined}
        aria-describedby="customer-search-hint"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <p id="customer-search-hint" className="hint">
        {t('search.hint')}
      </p>
      <p className="search-status" role="status" data-testid="search-status" data-phase={phase}>
        {statusText}
        {phase === 'done' && source === 'online' && <span className="source-note"> {t('search.fromServer')}</span>}
      </p>
      {phase === 'error' && error && (
        <p className="error" role="alert">
          {t(`errors.${error.code}`)}
        </p>
      )}
      {open && (
        <ul className="search-results" role="listbox" id={LISTBOX_ID} aria-label={t('search.resultsLabel')}>
          {results.map((customer, index) => {
            // A number search shows the number that matched, not merely the first on file.
            const phone = customer.phones.find((p) => p.e164 === customer.matchedPhone) ?? customer.phones[0];
            return (
              <li
                key={customer.id}
                id={optionId(index)}
                role="option"
                aria-selected={index === activeIndex}
                className={`search-result${index === activeIndex ? ' is-active' : ''}${customer.id === selectedId ? ' is-open' : ''}`}
                data-testid="search-result"
                data-customer-id={customer.id}
                // Keeps focus in the search box so typing can go on after a click.
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => choose(index)}
              >
                <span className="result-main">
                  <span className="result-name">{customer.name}</span>
                  <ClassificationBadge level={customer.classification} />
                </span>
                {customer.nameKana && (
                  <span className="result-kana" lang="ja">
                    {customer.nameKana}
                  </span>
                )}
                <span className="result-meta">
                  <span className="result-code">{customer.code}</span>
                  {phone && (
                    <span className={`result-phone${customer.matchedPhone ? ' is-match' : ''}`} data-testid="result-phone">
                      {formatPhone(phone.e164, region)}
                    </span>
                  )}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {phase === 'done' && (more || !totalExact) && (
        <div className="search-more">
          {more && (
            <button type="button" onClick={() => void loadMore()} disabled={morePhase === 'loading'} data-testid="search-more">
              {morePhase === 'loading' ? t('search.loadingMore') : t('search.showMore')}
            </button>
          )}
          {!totalExact && <p className="hint">{t('search.refineHint')}</p>}
          {morePhase === 'error' && error && (
            <p className="error" role="alert">
              {t(`errors.${error.code}`)}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
