import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { CustomerRecord } from '../../../shared/api.js';
import { CONTACT_KINDS } from '../../../shared/domain.js';
import { isMobileNumber, nationalDigits, toE164 } from '../../../shared/phone.js';
import { PREFECTURES } from './data.js';
import { CustomerGenerator, type GeneratorOptions } from './generator.js';
import { katakanaToRomaji } from './romanise.js';

const NOW = new Date('2026-03-01T00:00:00Z');
const AGENT = { id: 'agent-1', displayName: 'Agent One', branch: null };
const REP = { id: 'rep-1', displayName: 'Rep Shibuya', branch: '渋谷支店' };

function generator(overrides: Partial<GeneratorOptions> = {}): CustomerGenerator {
  return new CustomerGenerator({ seed: 7, customers: 20_000, reps: [AGENT, REP], agents: [AGENT], now: NOW, ...overrides });
}

function all(gen: CustomerGenerator, count = gen.count): CustomerRecord[] {
  const out: CustomerRecord[] = [];
  for (const chunk of gen.chunks(1000)) {
    for (const record of chunk) {
      if (out.length === count) return out;
      out.push(record);
    }
  }
  return out;
}

// One sample shared by the tests that only read it: generating it is the slow part.
const sample = all(generator());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const KATAKANA_READING = /^[\u30a1-\u30fa\u30fc]+( [\u30a1-\u30fa\u30fc]+)*$/;
const EXAMPLE_DOMAIN = /@([a-z0-9-]+\.)*example\.(com|net|org|jp|co\.jp|ne\.jp)$/;

describe('CustomerGenerator', () => {
  it('gives identical records for the same seed, whatever the chunk size', () => {
    const first = all(generator(), 1000);
    const again = all(generator(), 1000);
    expect(again).toEqual(first);
    const smallChunks = [...generator({ customers: 1000 }).chunks(7)].flat();
    expect(smallChunks).toEqual(first);
    expect(generator().recordAt(613)).toEqual(first[613]);
  });

  it('gives different records for a different seed', () => {
    const first = all(generator(), 1000);
    const other = all(generator({ seed: 8 }), 1000);
    const sameIds = other.filter((record, i) => record.customer.id === first[i]?.customer.id).length;
    const sameNames = other.filter((record, i) => record.customer.name === first[i]?.customer.name).length;
    expect(sameIds).toBe(0);
    expect(sameNames).toBeLessThan(100);
  });

  it('produces records that satisfy the shared API schema', () => {
    for (const record of sample.slice(0, 3000)) {
      const parsed = CustomerRecord.safeParse(record);
      expect(parsed.success, `${record.customer.code}: ${parsed.error?.message}`).toBe(true);
    }
  });

  it('writes every phone as E.164 that parses to itself, with the right kind', () => {
    let landlines = 0;
    let mobiles = 0;
    for (const { customer } of sample) {
      expect(customer.phones.length, customer.code).toBeGreaterThan(0);
      for (const phone of customer.phones) {
        expect(toE164(phone.e164), phone.e164).toBe(phone.e164);
        expect(toE164(nationalDigits(phone.e164)), phone.e164).toBe(phone.e164);
        expect(parsePhoneNumberFromString(phone.e164)?.isValid(), phone.e164).toBe(true);
        expect(isMobileNumber(phone.e164), phone.e164).toBe(phone.kind === 'mobile');
        if (phone.kind === 'mobile') mobiles++;
        else landlines++;
      }
    }
    expect(mobiles).toBeGreaterThan(sample.length * 0.4);
    expect(landlines).toBeGreaterThan(sample.length * 0.4);
  });

  it('never gives two customers the same number', () => {
    const numbers = sample.flatMap(({ customer }) => customer.phones.map((phone) => phone.e164));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('dials landlines in the area code of the address, with a postal code of that city', () => {
    const cities = PREFECTURES.flatMap((prefecture) =>
      prefecture.cities.map((city) => ({ ...city, prefix: prefecture.name + city.name })),
    );
    for (const { customer } of sample.slice(0, 5000)) {
      const city = cities.find((c) => customer.address.startsWith(c.prefix));
      expect(city, customer.address).toBeDefined();
      if (!city) continue;
      expect(customer.postalCode).toMatch(/^\d{3}-\d{4}$/);
      const head = Number(customer.postalCode.slice(0, 3));
      expect(head).toBeGreaterThanOrEqual(city.postalFrom);
      expect(head).toBeLessThanOrEqual(city.postalTo);
      for (const phone of customer.phones.filter((p) => p.kind === 'landline')) {
        expect(nationalDigits(phone.e164).startsWith(city.areaCode), `${phone.e164} in ${city.prefix}`).toBe(true);
      }
    }
  });

  it('uses valid addresses at reserved example domains only', () => {
    const emails = sample.flatMap(({ customer }) => customer.emails);
    expect(emails.length).toBeGreaterThan(sample.length * 0.6);
    for (const email of emails) {
      expect(email).toMatch(/^[a-z0-9._-]+@[a-z0-9.-]+$/);
      expect(email).toMatch(EXAMPLE_DOMAIN);
    }
  });

  it('writes readings in katakana only, and mostly Japanese names with readings', () => {
    let japanese = 0;
    for (const { customer } of sample) {
      const isLatin = /^[\p{Script=Latin}\s.,'&-]+$/u.test(customer.name);
      if (!isLatin) {
        japanese++;
        expect(customer.nameKana, customer.name).toMatch(KATAKANA_READING);
      } else if (customer.nameKana !== '') {
        expect(customer.nameKana, customer.name).toMatch(KATAKANA_READING);
      }
    }
    expect(japanese / sample.length).toBeGreaterThan(0.8);
    expect(japanese / sample.length).toBeLessThan(0.9);
    const familyNames = new Set(sample.map(({ customer }) => customer.name.split(' ')[0]));
    for (const common of ['佐藤', '鈴木', '高橋', '田中', '山田', '佐々木', '林']) expect(familyNames).toContain(common);
  });

  it('gives unique ids that sort in generation order, and unique codes', () => {
    const ids = sample.flatMap((r) => [r.customer.id, ...r.incidents.map((i) => i.id), ...r.contacts.map((c) => c.id)]);
    for (const id of ids.slice(0, 5000)) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    const customerIds = sample.map((r) => r.customer.id);
    expect([...customerIds].sort()).toEqual(customerIds);
    const codes = sample.map((r) => r.customer.code);
    expect(codes[0]).toBe('C0000001');
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('makes about five contacts per customer over the last two years, in their incidents', () => {
    const contacts = sample.flatMap((r) => r.contacts);
    const average = contacts.length / sample.length;
    expect(average).toBeGreaterThan(4.5);
    expect(average).toBeLessThan(5.5);
    expect(new Set(contacts.map((c) => c.kind))).toEqual(new Set(CONTACT_KINDS));
    const earliest = NOW.getTime() - 731 * 86_400_000;
    for (const record of sample.slice(0, 3000)) {
      expect(record.incidents.length).toBeLessThanOrEqual(4);
      const incidentIds = new Set(record.incidents.map((i) => i.id));
      for (const contact of record.contacts) {
        expect(incidentIds.has(contact.incidentId)).toBe(true);
        expect(contact.customerId).toBe(record.customer.id);
        const at = Date.parse(contact.occurredAt);
        expect(at).toBeGreaterThanOrEqual(earliest);
        expect(at).toBeLessThanOrEqual(NOW.getTime());
        expect(contact.agentId === null || contact.agentId === AGENT.id || contact.agentId === REP.id).toBe(true);
      }
    }
  });

  it('assigns a branch rep only to customers of that branch', () => {
    const ofRep = sample.filter((r) => r.customer.assignedRepId === REP.id);
    expect(ofRep.length).toBeGreaterThan(0);
    for (const record of ofRep) expect(record.customer.branch).toBe(REP.branch);
    const classes = sample.map((r) => r.customer.classification);
    expect(classes.filter((c) => c === 3).length / classes.length).toBeGreaterThan(0.7);
    expect(classes).toContain(1);
  });

  it('refuses bad options, naming them', () => {
    expect(() => generator({ seed: -1 })).toThrow(/seed/);
    expect(() => generator({ customers: 1.5 })).toThrow(/customers/);
    expect(() => generator({ agents: [] })).toThrow(/agents/);
    expect(() => generator().recordAt(20_000)).toThrow(/index/);
  });
});

describe('katakanaToRomaji', () => {
  it('spells names the way e-mail addresses do', () => {
    expect(katakanaToRomaji('サトウ')).toBe('sato');
    expect(katakanaToRomaji('イノウエ')).toBe('inoue');
    expect(katakanaToRomaji('オオタ')).toBe('ota');
    expect(katakanaToRomaji('キョウコ')).toBe('kyoko');
    expect(katakanaToRomaji('ハットリ')).toBe('hattori');
    expect(katakanaToRomaji('ジュンイチ')).toBe('junichi');
    expect(katakanaToRomaji('ウィリアム')).toBe('wiriamu');
    expect(katakanaToRomaji('ヤマダ タロウ')).toBe('yamada taro');
  });
});
