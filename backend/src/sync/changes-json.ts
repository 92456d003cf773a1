import type { Change, ChangesPage } from '../../../shared/api.js';

/** JSON of the records the feed sends, by the object read (memory or database). */
const recordJson = new WeakMap<object, string>();

/**
 * The JSON of a changes page, as JSON.stringify would write it. A page served from memory
 * (recent-changes.ts) carries the same customer, incident and contact objects to every agent
 * that pulls it, so each is serialised once rather than once per agent.
 */
export function changesPageJson(page: ChangesPage): string {
  const { changes, ...rest } = page;
  const others = JSON.stringify(rest);
  return `{"changes":[${changes.map(changeJson).join(',')}],${others.slice(1)}`;
}

/**
 * The JSON of a delta poke (shared/api.ts `ChangedEvent`): `seq` and `from` first, so that a
 * reader can take the position without parsing the changes (bench/support/agent-client.ts).
 */
export function changesDeltaJson(from: number, seq: number, changes: readonly Change[]): string {
  return `{"seq":${seq},"from":${from},"changes":[${changes.map(changeJson).join(',')}]}`;
}

function changeJson(change: Change): string {
  const { seq, op, ...carried } = change;
  const fields = Object.entries(carried);
  const [name, value] = fields[0] ?? [];
  if (fields.length !== 1 || name === undefined || typeof value !== 'object' || value === null) return JSON.stringify(change);
  let json = recordJson.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    recordJson.set(value, json);
  }
  return `{"seq":${seq},"op":${JSON.stringify(op)},${JSON.stringify(name)}:${json}}`;
}
