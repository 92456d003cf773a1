import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeDatabase, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to loopback and a SQLite file', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8740);
    expect(config.database).toEqual({ kind: 'sqlite', path: path.resolve('.data/backend.db') });
    expect(config.sessionTtlHours).toBe(12);
    expect(config.argon2).toEqual({ memoryKib: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('uses PostgreSQL when DATABASE_URL is a postgres URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://tsunagu:secret@db.internal:5432/tsunagu', TSUNAGU_PG_POOL_SIZE: '4' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://tsunagu:secret@db.internal:5432/tsunagu', poolSize: 4 });
    expect(describeDatabase(config.database)).toBe('PostgreSQL db.internal:5432/tsunagu');
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ TSUNAGU_BACKEND_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ TSUNAGU_BACKEND_PORT: 'eighty' })).toThrow(/TSUNAGU_BACKEND_PORT/);
    expect(() => loadConfig({ TSUNAGU_SESSION_TTL_HOURS: '-1' })).toThrow(/TSUNAGU_SESSION_TTL_HOURS/);
    expect(() => loadConfig({ TSUNAGU_LOG_LEVEL: 'loud' })).toThrow(/TSUNAGU_LOG_LEVEL/);
  });

  it('never echoes a database URL, which carries a password', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://root:hunter2@localhost/db' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).not.toContain('hunter2');
  });
});
