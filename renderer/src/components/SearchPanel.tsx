import { type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatPhone } from '../format.js';
import { useCustomerStore } from '../stores/customer.js';
import { useSearchStore } from '../stores/search.js';
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
  else if (phase === 'done') statusText = results.length === 0 ? t('search.noResults') : t('search.resultCount', { count: results.length });

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
            const phone = customer.phones[0];
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
                  {phone && <span className="result-phone">{formatPhone(phone.e164, region)}</span>}
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
