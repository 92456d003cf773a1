/**
 * xoshiro128** (Blackman and Vigna), a small fast PRNG with a 128-bit state. Each customer
 * gets its own stream, seeded from (seed, customer index) through splitmix32, so any
 * customer can be regenerated on its own (the benchmark picks real values that way) and the
 * output does not depend on how the customers are chunked.
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream = 0) {
    let state = (Math.imul(seed >>> 0, 0x9e3779b9) ^ Math.imul(stream >>> 0, 0x85ebca6b) ^ 0x2545f491) >>> 0;
    const splitmix32 = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.#a = splitmix32();
    this.#b = splitmix32();
    this.#c = splitmix32();
    this.#d = splitmix32();
    // An all-zero state would only ever produce zeros.
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A UUID-shaped id (version 4 layout) made of this stream's bits. */
  uuid(): string {
    const w0 = this.nextUint32();
    const w1 = this.nextUint32();
    const w2 = this.nextUint32();
    const w3 = this.nextUint32();
    return (
      hex8(w0) +
      '-' +
      hex4(w1 >>> 16) +
      '-' +
      hex4(((w1 & 0x0fff) | 0x4000) >>> 0) +
      '-' +
      hex4((((w2 >>> 16) & 0x3fff) | 0x8000) >>> 0) +
      '-' +
      hex4(w2 & 0xffff) +
      hex8(w3)
    );
  }
}

/**
 * UUIDv7-layout ids for one customer's records: the 48-bit time field is a fixed epoch plus
 * the customer index, the 12-bit counter numbers the customer's records in generation order,
 * and the remaining 62 bits are random. Ids therefore sort in generation order, so a bulk
 * load appends to every index keyed by an id instead of writing all over it.
 */
export class RecordIds {
  static readonly #EPOCH_MS = 1_700_000_000_000;
  readonly #timeHigh: string;
  readonly #timeLow: string;
  #counter = 0;

  constructor(
    private readonly rng: Prng,
    customerIndex: number,
  ) {
    const time = RecordIds.#EPOCH_MS + customerIndex;
    this.#timeHigh = hex8(Math.floor(time / 65536));
    this.#timeLow = hex4(time % 65536);
  }

  next(): string {
    if (this.#counter > 0xfff) throw new Error('RecordIds: more than 4096 ids for one customer');
    const counter = this.#counter++;
    const w2 = this.rng.nextUint32();
    const w3 = this.rng.nextUint32();
    return (
      this.#timeHigh +
      '-' +
      this.#timeLow +
      '-' +
      hex4(0x7000 | counter) +
      '-' +
      hex4((((w2 >>> 16) & 0x3fff) | 0x8000) >>> 0) +
      '-' +
      hex4(w2 & 0xffff) +
      hex8(w3)
    );
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex4(x: number): string {
  return (BYTE_HEX[(x >>> 8) & 0xff] as string) + (BYTE_HEX[x & 0xff] as string);
}

function hex8(x: number): string {
  return hex4(x >>> 16) + hex4(x & 0xffff);
}

/**
 * A table for picking items in proportion to their weights with one random number and a
 * binary search over the cumulative weights.
 */
export class WeightedTable<T> {
  readonly #items: T[];
  readonly #cumulative: Float64Array;
  readonly #total: number;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    if (entries.length === 0) throw new Error('WeightedTable needs at least one entry');
    this.#items = entries.map(([item]) => item);
    this.#cumulative = new Float64Array(entries.length);
    let total = 0;
    entries.forEach(([, weight], i) => {
      if (!(weight > 0)) throw new Error(`WeightedTable weight at ${i} must be positive`);
      total += weight;
      this.#cumulative[i] = total;
    });
    this.#total = total;
  }

  pick(rng: Prng): T {
    const target = rng.next() * this.#total;
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.#items[lo] as T;
  }
}
