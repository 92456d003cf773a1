import { useRef, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ContactKind, Incident } from '../../../shared/domain.js';
import type { CachedContact } from '../../../shared/ipc.js';
import { formatDateTime } from '../format.js';
import { useDescribeWebActivity } from '../portal/web-activity.js';
import { useUiStore } from '../stores/ui.js';

/** Decoration only (aria-hidden): the kind is always written out beside it. */
const KIND_ICONS: Record<ContactKind, string> = {
  call: '☎',
  email: '✉',
  fax: '⎙',
  web: '⊕',
  visit: '⚑',
  seminar: '◈',
  note: '✎',
};

export interface IncidentBranch {
  incident: Incident;
  contacts: CachedContact[];
}

/** Incidents newest first, each with its contacts newest first. */
export function buildBranches(incidents: Incident[], contacts: CachedContact[]): IncidentBranch[] {
  const byIncident = new Map<string, CachedContact[]>();
  for (const contact of contacts) {
    const list = byIncident.get(contact.incidentId);
    if (list) list.push(contact);
    else byIncident.set(contact.incidentId, [contact]);
  }
  const newestFirst = (a: string, b: string) => Date.parse(b) - Date.parse(a);
  return [...incidents]
    .sort((a, b) => newestFirst(a.openedAt, b.openedAt))
    .map((incident) => ({
      incident,
      contacts: (byIncident.get(incident.id) ?? []).sort((a, b) => newestFirst(a.occurredAt, b.occurredAt)),
    }));
}

export const incidentKey = (id: string) => `incident:${id}`;
export const contactKey = (id: string) => `contact:${id}`;

interface VisibleItem {
  key: string;
  incidentId: string;
  /** The incident's key for a contact; null for an incident. */
  parentKey: string | null;
  expandable: boolean;
}

function visibleItems(branches: IncidentBranch[], expanded: ReadonlySet<string>): VisibleItem[] {
  const items: VisibleItem[] = [];
  for (const { incident, contacts } of branches) {
    const key = incidentKey(incident.id);
    items.push({ key, incidentId: incident.id, parentKey: null, expandable: contacts.length > 0 });
    if (expanded.has(incident.id)) {
      for (const contact of contacts) {
        items.push({ key: contactKey(contact.id), incidentId: incident.id, parentKey: key, expandable: false });
      }
    }
  }
  return items;
}

interface IncidentTreeProps {
  branches: IncidentBranch[];
  expanded: ReadonlySet<string>;
  onToggle(incidentId: string, expand: boolean): void;
  activeKey: string | null;
  onActivate(key: string, incidentId: string): void;
}

/**
 * The WAI-ARIA tree pattern with a roving tabindex: one item is in the tab order, arrow keys
 * move between the visible items, Right/Left expand, enter and leave an incident, Home/End
 * jump to the ends. Collapsed incidents do not render their contacts.
 */
export function IncidentTree({ branches, expanded, onToggle, activeKey, onActivate }: IncidentTreeProps) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const itemRefs = useRef(new Map<string, HTMLLIElement>());

  const items = visibleItems(branches, expanded);
  const focusKey = items.some((item) => item.key === activeKey) ? activeKey : (items[0]?.key ?? null);

  function moveTo(item: VisibleItem | undefined) {
    if (!item) return;
    onActivate(item.key, item.incidentId);
    itemRefs.current.get(item.key)?.focus();
  }

  function onKeyDown(event: KeyboardEvent<HTMLUListElement>) {
    const index = items.findIndex((item) => item.key === focusKey);
    const current = items[index];
    if (!current) return;
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        moveTo(items[index + 1]);
        break;
      case 'ArrowUp':
        moveTo(items[index - 1]);
        break;
      case 'Home':
        moveTo(items[0]);
        break;
      case 'End':
        moveTo(items[items.length - 1]);
        break;
      case 'ArrowRight':
        if (current.expandable && !expanded.has(current.incidentId)) onToggle(current.incidentId, true);
        else if (current.expandable) moveTo(items[index + 1]);
        break;
      case 'ArrowLeft':
        if (current.parentKey) moveTo(items.find((item) => item.key === current.parentKey));
        else if (expanded.has(current.incidentId)) onToggle(current.incidentId, false);
        break;
      case 'Enter':
      case ' ':
        if (current.expandable) onToggle(current.incidentId, !expanded.has(current.incidentId));
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  }

  function register(key: string) {
    return (element: HTMLLIElement | null) => {
      if (element) itemRefs.current.set(key, element);
      else itemRefs.current.delete(key);
    };
  }

  return (
    <ul className="incident-tree" role="tree" aria-label={t('tree.label')} data-testid="incident-tree" onKeyDown={onKeyDown}>
      {branches.map(({ incident, contacts }, incidentIndex) => {
        const key = incidentKey(incident.id);
        const isExpanded = expanded.has(incident.id);
        const labelId = `incident-label-${incident.id}`;
        return (
          <li
            key={incident.id}
            ref={register(key)}
            role="treeitem"
            className={`tree-incident${focusKey === key ? ' is-active' : ''}`}
            aria-level={1}
            aria-setsize={branches.length}
            aria-posinset={incidentIndex + 1}
            aria-expanded={contacts.length > 0 ? isExpanded : undefined}
            aria-selected={focusKey === key}
            aria-labelledby={labelId}
            tabIndex={focusKey === key ? 0 : -1}
            data-testid="incident"
            data-incident-id={incident.id}
            onFocus={(e) => {
              if (e.target === e.currentTarget) onActivate(key, incident.id);
            }}
          >
            <div
              className="tree-row incident-row"
              id={labelId}
              onClick={() => {
                onActivate(key, incident.id);
                if (contacts.length > 0) onToggle(incident.id, !isExpanded);
              }}
            >
              <span className="twisty" aria-hidden="true">
                {contacts.length === 0 ? '•' : isExpanded ? '▾' : '▸'}
              </span>
              <span className="incident-title">{incident.title}</span>
              <span className={`status-tag is-${incident.status}`}>{t(`incident.status.${incident.status}`)}</span>
              <span className="incident-meta">
                <time dateTime={incident.openedAt}>{formatDateTime(incident.openedAt, language)}</time>
                {incident.assigneeName && <span>{t('incident.assignee', { name: incident.assigneeName })}</span>}
                <span>{t('incident.contactCount', { count: contacts.length })}</span>
              </span>
            </div>
            {isExpanded && contacts.length > 0 && (
              <ul role="group" className="tree-group">
                {contacts.map((contact, contactIndex) => {
                  const cKey = contactKey(contact.id);
                  return (
                    <li
                      key={contact.id}
                      ref={register(cKey)}
                      role="treeitem"
                      className={`tree-contact${contact.pending ? ' is-pending' : ''}${focusKey === cKey ? ' is-active' : ''}`}
                      aria-level={2}
                      aria-setsize={contacts.length}
                      aria-posinset={contactIndex + 1}
                      aria-selected={focusKey === cKey}
                      tabIndex={focusKey === cKey ? 0 : -1}
                      data-testid="contact"
                      data-contact-id={contact.id}
                      data-pending={contact.pending}
                      onFocus={(e) => {
                        if (e.target === e.currentTarget) onActivate(cKey, incident.id);
                      }}
                      onClick={() => onActivate(cKey, incident.id)}
                    >
                      <ContactRow contact={contact} />
                    </li>
                  );
                })}
              </ul>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function ContactRow({ contact }: { contact: CachedContact }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const describeWebActivity = useDescribeWebActivity();
  // A web contact's body is the portal's JSON: said in the operator's language instead.
  const summary = describeWebActivity(contact) ?? (contact.summary || contact.body.split('\n', 1)[0]);
  return (
    <div className="tree-row contact-row">
      <span className={`kind-icon kind-${contact.kind}`} aria-hidden="true">
        {KIND_ICONS[contact.kind]}
      </span>
      <span className="contact-kind">{t(`contact.kind.${contact.kind}`)}</span>
      <span className="contact-direction">{t(`contact.direction.${contact.direction}`)}</span>
      <time dateTime={contact.occurredAt}>{formatDateTime(contact.occurredAt, language)}</time>
      <span className="contact-agent">{contact.agentName ?? t('contact.noAgent')}</span>
      {contact.pending && (
        <span className="pending-badge" data-testid="pending-badge">
          {t('contact.pending')}
        </span>
      )}
      {summary && <span className="contact-summary">{summary}</span>}
    </div>
  );
}
