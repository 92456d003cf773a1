// vitest globalSetup: one throwaway PostgreSQL cluster for the whole test run.
// Test files read its URL with `inject('pgUrl')` (or TSUNAGU_TEST_PG_URL) and make
// their own database in it with createTestDatabase().
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

export const PG_URL_ENV = 'TSUNAGU_TEST_PG_URL';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startPostgres();
  project.provide('pgUrl', postgres.url);
  process.env[PG_URL_ENV] = postgres.url;
  return async () => {
    delete process.env[PG_URL_ENV];
    await postgres.stop();
  };
}
