import { CompiledQuery, type QueryExecutor } from 'kysely';
import pg from 'pg';

/**
 * `COPY (query) TO STDOUT (FORMAT binary)` on the connection of a Kysely transaction, its one
 * row's columns as the bytes PostgreSQL sent.
 *
 * Why: node-pg decodes every text field of a result from UTF-8 into a JavaScript string, and a
 * reply encodes it back into UTF-8. For a first-sync page (4 MB of JSON the database wrote, for
 * 2,000 customers) that decoding and encoding were most of the backend's CPU (a CPU profile of
 * `bench:sync`: Buffer#toString in pg-protocol and the reply's write). COPY's data messages reach
 * the client as bytes, and binary COPY sends a text column as its UTF-8 bytes, unescaped.
 *
 * Kysely has no COPY; its PostgreSQL dialect hands a "cursor" class (the `cursor` option of
 * database.ts) the raw node-pg client to stream a query, which is the one place where a
 * query object of our own can run on a transaction's connection. `PostgresCopyOut` is that
 * class; it runs COPY only (the backend streams no rows otherwise).
 */
/**
 * The size of the last COPY's output (and a quarter): the next starts with a buffer that big. A first-sync
 * page's 4 MB grown from 64 KB by doubling allocated 8 MB more per page, and that memory
 * outside V8's heap made it collect its old space about once a page (--trace-gc).
 */
const MIN_OUTPUT_BYTES = 64 * 1024;
const MAX_OUTPUT_HINT_BYTES = 64 * 1024 * 1024;
let lastOutputBytes = MIN_OUTPUT_BYTES;

export class PostgresCopyOut {
  readonly #sql: string;
  #output = Buffer.allocUnsafe(lastOutputBytes);
  #length = 0;
  #error: Error | null = null;
  #done = false;
  #delivered = false;
  #waiting: { resolve: (rows: Buffer[]) => void; reject: (error: Error) => void } | null = null;

  constructor(sql: string, parameters: readonly unknown[]) {
    if (parameters.length > 0) throw new Error('PostgresCopyOut: COPY takes no parameters (inline them with copyOutSql)');
    if (!/^copy\s*\(/i.test(sql)) throw new Error('PostgresCopyOut runs COPY (…) TO STDOUT only; the backend has no row cursor');
    this.#sql = sql;
  }

  /** node-pg's Submittable: sends the statement (simple query protocol: COPY takes no parameters). */
  submit(connection: { query(text: string): void }): void {
    connection.query(this.#sql);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    // Important: copied. The chunk is a view of node-pg's read buffer, which the next message
    // reuses; one growing buffer rather than a Buffer per message (a row per message).
    const { chunk } = message;
    if (this.#length + chunk.length > this.#output.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#output.length * 2, this.#length + chunk.length));
      this.#output.copy(grown, 0, 0, this.#length);
      this.#output = grown;
    }
    chunk.copy(this.#output, this.#length);
    this.#length += chunk.length;
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.#done = true;
    this.#settle();
  }

  handleError(error: Error): void {
    this.#error = error;
    this.#done = true;
    this.#settle();
  }

  handleRowDescription(): void {
    this.handleError(new Error('PostgresCopyOut: the statement returned rows, not COPY data'));
  }

  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('PostgresCopyOut only reads (COPY … TO STDOUT)');
  }

  /** Kysely's cursor interface: the whole COPY output as one Buffer (a view), then nothing. */
  read(): Promise<Buffer[]> {
    if (this.#delivered) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#settle();
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #settle(): void {
    const waiting = this.#waiting;
    if (!this.#done || waiting === null) return;
    this.#waiting = null;
    this.#delivered = true;
    if (!this.#error) lastOutputBytes = Math.min(Math.max(Math.ceil(this.#length * 1.25), MIN_OUTPUT_BYTES), MAX_OUTPUT_HINT_BYTES);
    if (this.#error) waiting.reject(this.#error);
    else waiting.resolve([this.#output.subarray(0, this.#length)]);
  }
}

/**
 * The compiled query with its parameters written into the text as literals (COPY takes no
 * parameters). Strings go through node-pg's escapeLiteral (an E'' literal when they hold a
 * backslash, so the text is safe whatever standard_conforming_strings says); numbers must be finite.
 */
export function inlineParameters(query: CompiledQuery): string {
  const literals = query.parameters.map((value, index) => {
    if (typeof value === 'string') {
      if (value.includes('\0')) throw new Error(`query parameter $${index + 1}: a NUL character cannot be sent to PostgreSQL`);
      return pg.escapeLiteral(value);
    }
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (value === null) return 'null';
    throw new Error(`query parameter $${index + 1}: cannot be written as a literal (${typeof value})`);
  });
  // Important: every `$n` of the text is a placeholder; the SQL passed here holds no `$` in its own literals.
  const text = query.sql.replace(/\$(\d+)/g, (_, digits: string) => {
    const literal = literals[Number(digits) - 1];
    if (literal === undefined) throw new Error(`query placeholder $${digits}: no such parameter`);
    return literal;
  });
  return text;
}

const BINARY_COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** The whole output of `COPY (query) TO STDOUT (FORMAT binary)` run on `db` (a transaction's connection, or any of the pool's). */
export async function copyOutBinary(db: { getExecutor(): QueryExecutor }, query: CompiledQuery): Promise<Buffer> {
  const copy = CompiledQuery.raw(`copy (${inlineParameters(query)}) to stdout (format binary)`);
  let output: Buffer | undefined;
  for await (const result of db.getExecutor().stream(copy as CompiledQuery<Buffer>, 1)) output = result.rows[0];
  if (output === undefined) throw new Error('COPY returned no data');
  return output;
}

/**
 * Visits each row of a binary COPY output (PostgreSQL's documented file format) without
 * copying: `starts[i]`..`ends[i]` are the bytes of field i in `output` (start -1: NULL). The
 * two arrays are reused from row to row. Returns the number of rows.
 */
export function forEachBinaryCopyRow(output: Buffer, fieldCount: number, visit: (starts: Int32Array, ends: Int32Array) => void): number {
  const fail = (what: string): never => {
    throw new Error(`binary COPY output: ${what}`);
  };
  if (output.length < 19 || !output.subarray(0, 11).equals(BINARY_COPY_SIGNATURE)) fail('no PGCOPY signature');
  let offset = 15 + 4 + output.readUInt32BE(15);
  const starts = new Int32Array(fieldCount);
  const ends = new Int32Array(fieldCount);
  let rows = 0;
  for (;;) {
    if (offset + 2 > output.length) fail('no end marker');
    const fields = output.readInt16BE(offset);
    offset += 2;
    if (fields === -1) break;
    if (fields !== fieldCount) fail(`row ${rows} has ${fields} fields, not ${fieldCount}`);
    for (let i = 0; i < fieldCount; i++) {
      if (offset + 4 > output.length) fail(`row ${rows}, field ${i} cut short`);
      const length = output.readInt32BE(offset);
      offset += 4;
      if (length < 0) {
        starts[i] = -1;
        ends[i] = -1;
        continue;
      }
      if (offset + length > output.length) fail(`row ${rows}, field ${i} cut short`);
      starts[i] = offset;
      ends[i] = offset + length;
      offset += length;
    }
    visit(starts, ends);
    rows++;
  }
  return rows;
}

/** The columns of the one row of `COPY (query) TO STDOUT (FORMAT binary)` (null: SQL NULL). */
export async function copyOutRow(db: { getExecutor(): QueryExecutor }, query: CompiledQuery): Promise<(Buffer | null)[]> {
  return binaryCopyRow(await copyOutBinary(db, query));
}

/** The first and only row of a binary COPY output. */
export function binaryCopyRow(output: Buffer): (Buffer | null)[] {
  let row: (Buffer | null)[] | null = null;
  const fieldCount = output.length >= 21 && output.subarray(0, 11).equals(BINARY_COPY_SIGNATURE) ? output.readInt16BE(19 + output.readUInt32BE(15)) : 0;
  const rows = forEachBinaryCopyRow(output, Math.max(fieldCount, 0), (starts, ends) => {
    row = Array.from(starts, (start, i) => (start < 0 ? null : output.subarray(start, ends[i])));
  });
  if (rows !== 1 || row === null) throw new Error(`binary COPY output: ${rows} rows, not one`);
  return row;
}
