import type { CustomerRecord } from '../../../shared/api.js';
import { assertNever } from '../../../shared/result.js';
import type {
  CallMeta,
  Classification,
  Contact,
  ContactKind,
  Customer,
  CustomerType,
  Direction,
  Incident,
  Phone,
} from '../../../shared/domain.js';
import {
  BRANCHES,
  CALL_DISPOSITIONS,
  COMPANY_BUSINESSES,
  COMPANY_STEMS,
  CONTACT_DETAILS_EN,
  CONTACT_DETAILS_JA,
  CONTACT_SUMMARIES,
  DEFAULT_SUBSCRIBER_FIRST_DIGITS,
  FAMILY_NAMES,
  FEMALE_GIVEN_NAMES,
  HOME_STEMS,
  HOMES,
  INCIDENT_TITLES_EN,
  INCIDENT_TITLES_JA,
  LATIN_COMPANY_BUSINESSES,
  LATIN_COMPANY_WORDS,
  LATIN_FAMILY_NAMES,
  LATIN_GIVEN_NAMES,
  LATIN_LEGAL_FORMS,
  LEGAL_FORMS,
  MALE_GIVEN_NAMES,
  MOBILE_PREFIXES,
  OFFICE_BUILDINGS,
  PERSONAL_MAIL_DOMAINS,
  PREFECTURES,
  SUBSCRIBER_FIRST_DIGITS,
  TOWNS,
  type City,
  type Prefecture,
  type Reading,
} from './data.js';
import { Prng, RecordIds, WeightedTable } from './prng.js';
import { katakanaToRomaji } from './romanise.js';

/** A user the generated data refers to (assigned rep, incident assignee, contact agent). */
export interface SeedUser {
  id: string;
  displayName: string;
  /** A user with a branch is only assigned customers of that branch. */
  branch: string | null;
}

export interface GeneratorOptions {
  /** Same seed, same options → identical records. */
  seed: number;
  customers: number;
  /** Users that customers may be assigned to. */
  reps: readonly SeedUser[];
  /** Users who handle contacts and own incidents. */
  agents: readonly SeedUser[];
  /** Contacts are spread over the two years before this instant. */
  now: Date;
  /** Customer codes are this prefix and a 7-digit number: C0000001. */
  codePrefix?: string;
}

const DAY_MS = 86_400_000;
const HISTORY_DAYS = 730;

type CustomerKind = 'person' | 'company' | 'latin-person' | 'latin-company';
type Language = 'ja' | 'en';

/** Roughly 85% Japanese (individuals and companies), 15% latin names. */
const CUSTOMER_KINDS = new WeightedTable<CustomerKind>([
  ['person', 57],
  ['company', 28],
  ['latin-person', 10],
  ['latin-company', 5],
]);
const CLASSIFICATIONS = new WeightedTable<Classification>([
  [1, 5],
  [2, 15],
  [3, 80],
]);
const PERSON_TYPES = new WeightedTable<CustomerType>([
  ['existing', 55],
  ['prospect', 22],
  ['new', 23],
]);
const COMPANY_TYPES = new WeightedTable<CustomerType>([
  ['existing', 45],
  ['prospect', 15],
  ['new', 12],
  ['dealer', 17],
  ['agency', 11],
]);
// 1.98 incidents × 2.52 contacts ≈ 5 contacts per customer on average.
const INCIDENT_COUNTS = new WeightedTable<number>([
  [0, 8],
  [1, 30],
  [2, 30],
  [3, 20],
  [4, 12],
]);
const CONTACTS_PER_INCIDENT = new WeightedTable<number>([
  [1, 28],
  [2, 27],
  [3, 22],
  [4, 14],
  [5, 6],
  [6, 3],
]);
const FOLLOW_UP_KINDS = new WeightedTable<ContactKind>([
  ['call', 40],
  ['email', 25],
  ['note', 12],
  ['web', 8],
  ['visit', 6],
  ['fax', 5],
  ['seminar', 4],
]);
const OPENING_KINDS = new WeightedTable<ContactKind>([
  ['call', 55],
  ['email', 25],
  ['web', 12],
  ['fax', 4],
  ['seminar', 4],
]);
const PREFECTURE_TABLE = new WeightedTable<Prefecture>(PREFECTURES.map((p) => [p, p.weight]));
const FAMILY_NAME_TABLE = new WeightedTable<Reading>(FAMILY_NAMES.map((name, rank) => [name, 1 / (rank + 8)]));
const LEGAL_FORM_TABLE = new WeightedTable<Reading>(LEGAL_FORMS);

/** Area-code parameters of the phone-number permutation (see `landline`). */
interface NumberPlan {
  nationalPrefix: string;
  firstDigits: string;
  restModulus: number;
  modulus: number;
  multiplier: number;
  offset: number;
}

const MOBILE_BLOCK = 90_000_000;

/**
 * Deterministic generator of realistic customers. Each customer is derived from (seed,
 * index) alone, so `recordAt(i)` regenerates any customer and `chunks` streams them without
 * holding more than one chunk in memory.
 */
export class CustomerGenerator {
  readonly options: Required<GeneratorOptions>;
  readonly #nowMs: number;
  readonly #repsByBranch = new Map<string | null, readonly SeedUser[]>();
  readonly #numberPlans = new Map<string, NumberPlan>();
  readonly #mobilePlan: { multiplier: number; offset: number };

  constructor(options: GeneratorOptions) {
    if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
      throw new Error(`seed must be an integer between 0 and 4294967295, got ${options.seed}`);
    }
    if (!Number.isInteger(options.customers) || options.customers < 0 || options.customers > 9_999_999) {
      throw new Error(`customers must be an integer between 0 and 9999999, got ${options.customers}`);
    }
    if (options.agents.length === 0) throw new Error('agents must name at least one user');
    if (Number.isNaN(options.now.getTime())) throw new Error('now must be a valid date');
    this.options = { codePrefix: 'C', ...options };
    this.#nowMs = options.now.getTime();

    for (const branch of [...BRANCHES, null]) {
      this.#repsByBranch.set(
        branch,
        options.reps.filter((rep) => rep.branch === null || rep.branch === branch),
      );
    }

    const planRng = new Prng(options.seed, 0xffffffff);
    const areaCodes = [...new Set(PREFECTURES.flatMap((p) => p.cities.map((c) => c.areaCode)))].sort();
    for (const areaCode of areaCodes) {
      const nationalPrefix = areaCode.slice(1);
      const firstDigits = SUBSCRIBER_FIRST_DIGITS[areaCode] ?? DEFAULT_SUBSCRIBER_FIRST_DIGITS;
      // Japanese geographic numbers have 9 digits after the trunk 0.
      const restModulus = 10 ** (9 - nationalPrefix.length - 1);
      const modulus = firstDigits.length * restModulus;
      this.#numberPlans.set(areaCode, {
        nationalPrefix,
        firstDigits,
        restModulus,
        modulus,
        multiplier: scatteringMultiplier(planRng, modulus),
        offset: planRng.nextUint32() % modulus,
      });
    }
    const mobileModulus = MOBILE_PREFIXES.length * MOBILE_BLOCK;
    this.#mobilePlan = {
      multiplier: scatteringMultiplier(planRng, mobileModulus),
      offset: planRng.nextUint32() % mobileModulus,
    };
  }

  get count(): number {
    return this.options.customers;
  }

  /** Customers [from, count) in arrays of `size`, generated lazily. */
  *chunks(size = 1000, from = 0): Generator<CustomerRecord[]> {
    if (!Number.isInteger(size) || size < 1) throw new Error(`chunk size must be a positive integer, got ${size}`);
    for (let start = from; start < this.options.customers; start += size) {
      const end = Math.min(start + size, this.options.customers);
      const chunk: CustomerRecord[] = [];
      for (let index = start; index < end; index++) chunk.push(this.recordAt(index));
      yield chunk;
    }
  }

  recordAt(index: number): CustomerRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.customers) {
      throw new Error(`customer index must be between 0 and ${this.options.customers - 1}, got ${index}`);
    }
    const rng = new Prng(this.options.seed, index);
    const ids = new RecordIds(rng, index);
    const id = ids.next();
    const kind = CUSTOMER_KINDS.pick(rng);
    const prefecture = PREFECTURE_TABLE.pick(rng);
    const city = rng.pick(prefecture.cities);
    const isCompany = kind === 'company' || kind === 'latin-company';

    const naming = this.#name(rng, kind);
    const phones = this.#phones(rng, index, city, isCompany);
    const branch = rng.chance(0.04) ? null : city.branch;
    const repCandidates = this.#repsByBranch.get(branch) ?? [];
    const rep = repCandidates.length > 0 && rng.chance(0.75) ? rng.pick(repCandidates) : null;
    const language: Language = kind.startsWith('latin') ? (rng.chance(0.75) ? 'en' : 'ja') : rng.chance(0.95) ? 'ja' : 'en';

    const incidents: Incident[] = [];
    const contacts: Contact[] = [];
    const incidentCount = INCIDENT_COUNTS.pick(rng);
    let lastUpdateMs = this.#nowMs - rng.int(HISTORY_DAYS, HISTORY_DAYS * 3) * DAY_MS;
    for (let i = 0; i < incidentCount; i++) {
      const incidentUpdatedMs = this.#incident(rng, ids, id, phones, rep, language, incidents, contacts);
      lastUpdateMs = Math.max(lastUpdateMs, incidentUpdatedMs);
    }

    const customer: Customer = {
      id,
      code: `${this.options.codePrefix}${String(index + 1).padStart(7, '0')}`,
      name: naming.name,
      nameKana: naming.kana,
      phones,
      emails: this.#emails(rng, naming, isCompany),
      postalCode: postalCode(rng, city),
      address: address(rng, prefecture, city, isCompany),
      branch,
      assignedRepId: rep?.id ?? null,
      assignedRepName: rep?.displayName ?? null,
      classification: CLASSIFICATIONS.pick(rng),
      type: (isCompany ? COMPANY_TYPES : PERSON_TYPES).pick(rng),
      updatedAt: new Date(lastUpdateMs).toISOString(),
    };
    return { customer, incidents, contacts };
  }

  #name(rng: Prng, kind: CustomerKind): Naming {
    switch (kind) {
      case 'person': {
        const family = FAMILY_NAME_TABLE.pick(rng);
        const given = rng.pick(rng.chance(0.5) ? MALE_GIVEN_NAMES : FEMALE_GIVEN_NAMES);
        return {
          name: `${family.text} ${given.text}`,
          kana: `${family.kana} ${given.kana}`,
          localParts: personLocalParts(romaji(given), romaji(family)),
          companySlug: null,
        };
      }
      case 'company': {
        const stem = rng.chance(0.55) ? FAMILY_NAME_TABLE.pick(rng) : rng.pick(COMPANY_STEMS);
        const business = rng.pick(COMPANY_BUSINESSES);
        const form = LEGAL_FORM_TABLE.pick(rng);
        const body = { text: stem.text + business.text, kana: stem.kana + business.kana };
        // Both word orders are common: 株式会社山田商事 (前株) and 山田商事株式会社 (後株).
        const formFirst = rng.chance(0.6);
        const contact = FAMILY_NAME_TABLE.pick(rng);
        return {
          name: formFirst ? `${form.text} ${body.text}` : `${body.text} ${form.text}`,
          kana: formFirst ? `${form.kana} ${body.kana}` : `${body.kana} ${form.kana}`,
          localParts: [romaji(contact)],
          companySlug: `${romaji(stem)}-${romaji(business)}`,
        };
      }
      case 'latin-person': {
        const given = rng.pick(LATIN_GIVEN_NAMES);
        const family = rng.pick(LATIN_FAMILY_NAMES);
        return {
          name: `${given.text} ${family.text}`,
          kana: rng.chance(0.6) ? `${given.kana} ${family.kana}` : '',
          localParts: personLocalParts(asciiSlug(given.text), asciiSlug(family.text)),
          companySlug: null,
        };
      }
      case 'latin-company': {
        const word = rng.pick(LATIN_COMPANY_WORDS);
        const business = rng.pick(LATIN_COMPANY_BUSINESSES);
        const contact = rng.pick(LATIN_FAMILY_NAMES);
        return {
          name: `${word.text} ${business.text} ${rng.pick(LATIN_LEGAL_FORMS)}`,
          kana: rng.chance(0.4) ? `${word.kana} ${business.kana}` : '',
          localParts: [asciiSlug(contact.text)],
          companySlug: `${asciiSlug(word.text)}-${asciiSlug(business.text)}`,
        };
      }
      default:
        return assertNever(kind);
    }
  }

  #phones(rng: Prng, index: number, city: City, isCompany: boolean): Phone[] {
    const phones: Phone[] = [];
    if (isCompany) {
      phones.push({ e164: this.#landline(city.areaCode, index * 2), kind: 'landline' });
      if (rng.chance(0.25)) phones.push({ e164: this.#landline(city.areaCode, index * 2 + 1), kind: 'landline' });
      if (rng.chance(0.2)) phones.push({ e164: this.#mobile(index), kind: 'mobile' });
      return phones;
    }
    const hasMobile = rng.chance(0.85);
    if (hasMobile) phones.push({ e164: this.#mobile(index), kind: 'mobile' });
    if (!hasMobile || rng.chance(0.4)) phones.push({ e164: this.#landline(city.areaCode, index * 2), kind: 'landline' });
    return phones;
  }

  /**
   * A landline in the city's area code. The subscriber number is an affine permutation of
   * `key` modulo the area's number space, so numbers are unique within an area code for up
   * to 2.5M customers, yet look random.
   */
  #landline(areaCode: string, key: number): string {
    const plan = this.#numberPlans.get(areaCode);
    if (!plan) throw new Error(`No number plan for area code ${areaCode}`);
    const value = (key * plan.multiplier + plan.offset) % plan.modulus;
    const first = plan.firstDigits[Math.floor(value / plan.restModulus)];
    const rest = String(value % plan.restModulus).padStart(String(plan.restModulus).length - 1, '0');
    return `+81${plan.nationalPrefix}${first}${rest}`;
  }

  /** A 070/080/090 number, unique per customer index by the same permutation idea. */
  #mobile(index: number): string {
    const plan = this.#mobilePlan;
    const value = (index * plan.multiplier + plan.offset) % (MOBILE_PREFIXES.length * MOBILE_BLOCK);
    const prefix = MOBILE_PREFIXES[Math.floor(value / MOBILE_BLOCK)] as string;
    // The subscriber part never starts with 0 (070-0xxx… is not allocated).
    return `+81${prefix.slice(1)}${10_000_000 + (value % MOBILE_BLOCK)}`;
  }

  #emails(rng: Prng, naming: Naming, isCompany: boolean): string[] {
    if (isCompany) {
      if (!naming.companySlug || rng.chance(0.05)) return [];
      const domain = `${naming.companySlug}${rng.chance(0.5) ? rng.int(1, 99) : ''}.example.co.jp`;
      const emails = [`${rng.pick(['info', 'sales', 'contact', 'support', 'soumu'])}@${domain}`];
      if (rng.chance(0.2)) emails.push(`${rng.pick(naming.localParts)}@${domain}`);
      return emails;
    }
    if (rng.chance(0.25)) return [];
    const local = rng.pick(naming.localParts);
    const suffix = rng.chance(0.55) ? String(rng.int(1, 9999)) : '';
    const emails = [`${local}${suffix}@${rng.pick(PERSONAL_MAIL_DOMAINS)}`];
    if (rng.chance(0.1)) emails.push(`${local}.work@example.co.jp`);
    return emails;
  }

  /** Appends one incident and its contacts; returns the incident's last update (ms). */
  #incident(
    rng: Prng,
    ids: RecordIds,
    customerId: string,
    phones: Phone[],
    rep: SeedUser | null,
    language: Language,
    incidents: Incident[],
    contacts: Contact[],
  ): number {
    const id = ids.next();
    const title = rng.pick(language === 'ja' ? INCIDENT_TITLES_JA : INCIDENT_TITLES_EN);
    const openedMs = this.#nowMs - rng.int(1, HISTORY_DAYS) * DAY_MS;
    const contactCount = CONTACTS_PER_INCIDENT.pick(rng);
    const spanMs = Math.min(this.#nowMs - openedMs, rng.int(1, 60) * DAY_MS);
    const times: number[] = [];
    for (let i = 0; i < contactCount; i++) {
      const dayStart = Math.floor((openedMs + (i === 0 ? 0 : rng.next() * spanMs)) / DAY_MS) * DAY_MS;
      // Office hours in Japan: 09:00–18:00 JST is 00:00–09:00 UTC.
      times.push(Math.min(dayStart + rng.int(0, 9 * 3600 - 1) * 1000, this.#nowMs - 60_000));
    }
    times.sort((a, b) => a - b);
    const lastContactMs = times[times.length - 1] as number;

    const assignee = rng.chance(0.9) ? (rep && rng.chance(0.3) ? rep : rng.pick(this.options.agents)) : null;
    const stale = this.#nowMs - lastContactMs > 30 * DAY_MS;
    const closed = rng.chance(stale ? 0.9 : 0.35);
    const closedMs = closed ? Math.min(lastContactMs + rng.int(0, 2 * DAY_MS), this.#nowMs) : null;

    times.forEach((occurredMs, i) => {
      const kind = (i === 0 ? OPENING_KINDS : FOLLOW_UP_KINDS).pick(rng);
      contacts.push(this.#contact(rng, ids, { id, customerId, title, language, kind, occurredMs, phones, assignee, rep }));
    });
    incidents.push({
      id,
      customerId,
      title,
      status: closed ? 'closed' : 'open',
      assigneeId: assignee?.id ?? null,
      assigneeName: assignee?.displayName ?? null,
      openedAt: new Date(times[0] as number).toISOString(),
      closedAt: closedMs === null ? null : new Date(closedMs).toISOString(),
      updatedAt: new Date(closedMs ?? lastContactMs).toISOString(),
    });
    return closedMs ?? lastContactMs;
  }

  #contact(rng: Prng, ids: RecordIds, c: ContactDraft): Contact {
    const direction = contactDirection(rng, c.kind);
    const unattended = (c.kind === 'web' || c.kind === 'seminar') && rng.chance(0.5);
    const agent = unattended ? null : c.rep && rng.chance(0.3) ? c.rep : (c.assignee ?? rng.pick(this.options.agents));
    const summary = rng.pick(CONTACT_SUMMARIES[c.language][c.kind]);
    const detail = rng.pick(c.language === 'ja' ? CONTACT_DETAILS_JA : CONTACT_DETAILS_EN);
    const body = c.language === 'ja' ? `${c.title}の件。${summary}。${detail}` : `Re: ${c.title}. ${summary}. ${detail}`;
    return {
      id: ids.next(),
      incidentId: c.id,
      customerId: c.customerId,
      kind: c.kind,
      direction,
      occurredAt: new Date(c.occurredMs).toISOString(),
      agentId: agent?.id ?? null,
      agentName: agent?.displayName ?? null,
      summary,
      body,
      callMeta: c.kind === 'call' ? callMeta(rng, direction, c.occurredMs, c.phones) : null,
    };
  }
}

interface Naming {
  name: string;
  kana: string;
  /** Candidate local parts of e-mail addresses, made from the romanised name. */
  localParts: string[];
  companySlug: string | null;
}

interface ContactDraft {
  id: string;
  customerId: string;
  title: string;
  language: Language;
  kind: ContactKind;
  occurredMs: number;
  phones: Phone[];
  assignee: SeedUser | null;
  rep: SeedUser | null;
}

/**
 * A multiplier coprime with `modulus` (so `key * m + offset mod modulus` is a bijection)
 * and far from 0 and from `modulus`, so that neighbouring customers get unrelated-looking
 * numbers. Keys stay below 2e7 and moduli below 3e8, so the product stays exact in a double.
 */
function scatteringMultiplier(rng: Prng, modulus: number): number {
  let candidate = Math.floor(modulus * (0.55 + 0.1 * rng.next()));
  while (gcd(candidate, modulus) !== 1) candidate++;
  return candidate;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function romaji(reading: Reading): string {
  return reading.romaji ?? katakanaToRomaji(reading.kana);
}

/** "Élodie", "O'Brien" → "elodie", "obrien": e-mail-safe ASCII. */
function asciiSlug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

function personLocalParts(given: string, family: string): string[] {
  return [`${given}.${family}`, `${family}.${given}`, `${given[0]}.${family}`, `${family}_${given}`, `${given}${family}`];
}

function contactDirection(rng: Prng, kind: ContactKind): Direction {
  switch (kind) {
    case 'call':
      return rng.chance(0.6) ? 'inbound' : 'outbound';
    case 'email':
      return rng.chance(0.55) ? 'inbound' : 'outbound';
    case 'fax':
      return rng.chance(0.7) ? 'inbound' : 'outbound';
    case 'web':
    case 'seminar':
      return 'inbound';
    case 'visit':
      return 'outbound';
    case 'note':
      return 'internal';
    default:
      return assertNever(kind);
  }
}

function callMeta(rng: Prng, direction: Direction, startedMs: number, phones: Phone[]): CallMeta {
  const customerNumber = rng.pick(phones).e164;
  const disposition = rng.pick(CALL_DISPOSITIONS);
  const answered = disposition !== 'no_answer' && disposition !== 'voicemail';
  const answeredMs = answered ? startedMs + rng.int(3, 40) * 1000 : null;
  const durationSeconds = answered ? rng.int(30, 1200) : 0;
  const endedMs = (answeredMs ?? startedMs + rng.int(15, 45) * 1000) + durationSeconds * 1000;
  // The center side of a call is the queue the customer dialled or the agent called from.
  return {
    callId: rng.uuid(),
    from: direction === 'inbound' ? customerNumber : 'support',
    to: direction === 'inbound' ? 'support' : customerNumber,
    startedAt: new Date(startedMs).toISOString(),
    answeredAt: answeredMs === null ? null : new Date(answeredMs).toISOString(),
    endedAt: new Date(endedMs).toISOString(),
    durationSeconds,
    disposition,
    callbackNeeded: disposition === 'follow_up' || disposition === 'no_answer',
  };
}

function postalCode(rng: Prng, city: City): string {
  const head = rng.int(city.postalFrom, city.postalTo);
  return `${String(head).padStart(3, '0')}-${String(rng.int(0, 9999)).padStart(4, '0')}`;
}

function address(rng: Prng, prefecture: Prefecture, city: City, isCompany: boolean): string {
  const chome = rng.int(1, 6);
  const banchi = rng.int(1, 40);
  const go = rng.int(1, 30);
  const street = rng.chance(0.6) ? `${chome}丁目${banchi}-${go}` : `${chome}-${banchi}-${go}`;
  let line = `${prefecture.name}${city.name}${rng.pick(TOWNS)}${street}`;
  if (isCompany && rng.chance(0.6)) line += ` ${rng.pick(OFFICE_BUILDINGS)} ${rng.int(1, 12)}F`;
  else if (!isCompany && rng.chance(0.35)) line += ` ${rng.pick(HOME_STEMS)}${rng.pick(HOMES)} ${rng.int(1, 9)}0${rng.int(1, 9)}号室`;
  return line;
}
