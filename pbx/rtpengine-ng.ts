/**
 * A minimal client for rtpengine's ng control protocol: "<cookie> <bencoded dict>" over
 * UDP. Used for the readiness ping and by tests that check media reached rtpengine.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

export type Bencoded = string | number | Bencoded[] | { [key: string]: Bencoded };

export function bencode(value: Bencoded): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`bencode: ${value} is not an integer`);
    return `i${value}e`;
  }
  if (typeof value === 'string') return `${Buffer.byteLength(value, 'utf8')}:${value}`;
  if (Array.isArray(value)) return `l${value.map(bencode).join('')}e`;
  const keys = Object.keys(value).sort();
  return `d${keys.map((key) => `${bencode(key)}${bencode(value[key] as Bencoded)}`).join('')}e`;
}

export function bdecode(input: Buffer): Bencoded {
  let position = 0;
  const fail = (what: string): never => {
    throw new Error(`bdecode: ${what} at byte ${position}`);
  };
  const parse = (): Bencoded => {
    const kind = input[position];
    if (kind === undefined) return fail('unexpected end');
    if (kind === 0x69 /* i */) {
      const end = input.indexOf(0x65 /* e */, position);
      if (end < 0) return fail('unterminated integer');
      const number = Number(input.subarray(position + 1, end).toString('ascii'));
      if (!Number.isInteger(number)) return fail('bad integer');
      position = end + 1;
      return number;
    }
    if (kind === 0x6c /* l */) {
      position += 1;
      const list: Bencoded[] = [];
      while (input[position] !== 0x65) list.push(parse());
      position += 1;
      return list;
    }
    if (kind === 0x64 /* d */) {
      position += 1;
      const dict: { [key: string]: Bencoded } = {};
      while (input[position] !== 0x65) {
        const key = parse();
        if (typeof key !== 'string') return fail('non-string dictionary key');
        dict[key] = parse();
      }
      position += 1;
      return dict;
    }
    const colon = input.indexOf(0x3a /* : */, position);
    if (colon < 0) return fail('bad string length');
    const length = Number(input.subarray(position, colon).toString('ascii'));
    if (!Number.isInteger(length) || length < 0 || colon + 1 + length > input.length) return fail('bad string length');
    position = colon + 1 + length;
    return input.subarray(colon + 1, position).toString('utf8');
  };
  const value = parse();
  if (position !== input.length) fail('trailing data');
  return value;
}

/** Sends one ng command to rtpengine on 127.0.0.1 and resolves with its reply, or undefined after timeoutMs. */
export function ngRequest(
  ngPort: number,
  command: { [key: string]: Bencoded },
  timeoutMs = 1000,
): Promise<{ [key: string]: Bencoded } | undefined> {
  const cookie = randomBytes(6).toString('hex');
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const finish = (reply: { [key: string]: Bencoded } | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('message', (message) => {
      const space = message.indexOf(0x20);
      if (space < 0 || message.subarray(0, space).toString('ascii') !== cookie) return;
      try {
        const decoded = bdecode(message.subarray(space + 1));
        finish(typeof decoded === 'object' && !Array.isArray(decoded) ? decoded : undefined);
      } catch {
        finish(undefined);
      }
    });
    socket.once('error', () => finish(undefined));
    socket.bind(0, '127.0.0.1', () => {
      socket.send(`${cookie} ${bencode(command)}`, ngPort, '127.0.0.1', (error) => {
        if (error) finish(undefined);
      });
    });
  });
}
