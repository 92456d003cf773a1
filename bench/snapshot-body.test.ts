import { describe, expect, it } from 'vitest';
import { DEMO_USERS, planTenant } from '../backend/src/seed/seed-backend.js';
import { decodeSnapshotPage } from '../shared/snapshot-wire.js';
import { DATA_NOW } from './cache-file.js';
import { adminRights, snapshotBody, withRandomIds } from './snapshot-body.js';

/**
 * bench:cache-write feeds the app pages encoded by `snapshotBody` instead of the backend's: they
 * must decode to exactly the records they were made from, or the bench measures other work.
 */
describe('snapshotBody', () => {
  it('encodes seed records into a page that decodes to the same records', () => {
    const plan = planTenant(DEMO_USERS, 7, 300, DATA_NOW);
    const records = [...plan.generator.chunks(300)].flat();
    const rights = adminRights(plan);
    const header = { nextAfter: 'next', highWaterSeq: 5, total: 1000, rights, branchCalls: [] };

    const page = decodeSnapshotPage(JSON.parse(snapshotBody(records, header)));

    expect(records.some((record) => record.contacts.some((contact) => contact.callMeta !== null))).toBe(true);
    expect(page.records).toEqual(records);
    expect({ ...page, records: [] }).toEqual({ ...header, records: [] });
  });

  it('gives incidents and contacts random ids, each contact still in its incident', () => {
    const record = planTenant(DEMO_USERS, 7, 50, DATA_NOW).generator.recordAt(3);
    const random = withRandomIds(record);

    expect(random.customer).toEqual(record.customer);
    expect(random.incidents.map((incident) => ({ ...incident, id: '' }))).toEqual(record.incidents.map((incident) => ({ ...incident, id: '' })));
    const oldIds = new Set([...record.incidents, ...record.contacts].map((row) => row.id));
    for (const row of [...random.incidents, ...random.contacts]) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(oldIds.has(row.id)).toBe(false);
    }
    random.contacts.forEach((contact, i) => {
      const original = record.contacts[i];
      const incidentAt = record.incidents.findIndex((incident) => incident.id === original?.incidentId);
      expect(contact.incidentId).toBe(random.incidents[incidentAt]?.id);
    });
    expect(withRandomIds(record)).toEqual(random);
  });
});
