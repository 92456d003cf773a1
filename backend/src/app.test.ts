import { afterEach, describe, expect, it } from 'vitest';
import { API } from '../../shared/api.js';
import { buildApp } from './app.js';
import type { BackendConfig } from './config.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from './testing/harness.js';

describe.each(DIALECTS)('request logging (%s)', (dialect) => {
  let database: TestDatabase | null = null;
  afterEach(async () => {
    await database?.dispose();
    database = null;
  });

  async function logLinesAt(level: BackendConfig['logLevel']): Promise<Array<Record<string, unknown>>> {
    database = await openTestDatabase(dialect);
    const lines: string[] = [];
    const app = buildApp({ db: database.handle, config: { ...database.config, logLevel: level }, logStream: { write: (line) => lines.push(line) } });
    await app.ready();
    expect((await app.inject({ method: 'GET', url: API.health })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `${API.customerSearch}?q=x&token=secret-token` })).statusCode).toBe(401);
    await app.close();
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('logs no line per request at info level', async () => {
    const lines = await logLinesAt('info');
    expect(lines.filter((line) => /request/.test(String(line.msg)))).toEqual([]);
  });

  it('logs one debug line per request with its status and duration, the token redacted', async () => {
    const lines = (await logLinesAt('debug')).filter((line) => line.msg === 'request completed');
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.statusCode)).toEqual([200, 401]);
    expect(lines.every((line) => line.level === 20 && typeof line.responseTimeMs === 'number')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('secret-token');
  });
});
