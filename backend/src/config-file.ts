import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config.js';

/**
 * The optional config file: a JSON object with the same names as the environment variables
 * (e.g. `{ "TSUNAGU_BACKEND_PORT": 8740, "DATABASE_URL": "postgres://…" }`). It is read from
 * TSUNAGU_CONFIG, else ./tsunagu.config.json when that exists. Environment variables win, so
 * an operator can override one setting without editing the file.
 */
const SETTING_NAME = /^(TSUNAGU_[A-Z0-9_]+|DATABASE_URL)$/;
// Lists (TSUNAGU_CTI_PBXES) are written as JSON values and reach the variable as JSON text.
const ConfigFile = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.array(z.unknown())], { error: 'must be a string, number, boolean or list' }),
);

export function applyConfigFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  const explicit = env.TSUNAGU_CONFIG;
  const file = path.resolve(cwd, explicit ?? 'tsunagu.config.json');
  if (!fs.existsSync(file)) {
    if (explicit) throw new ConfigError(`TSUNAGU_CONFIG: no such file ${file}`);
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ConfigError(`${file}: ${problems.join('; ')}`);
  }
  const unknown = Object.keys(parsed.data).filter((name) => !SETTING_NAME.test(name));
  if (unknown.length > 0) {
    throw new ConfigError(`${file}: ${unknown.join(', ')} is not a Tsunagu setting (names are TSUNAGU_… or DATABASE_URL)`);
  }
  for (const [name, value] of Object.entries(parsed.data)) {
    if (env[name] === undefined) env[name] = Array.isArray(value) ? JSON.stringify(value) : String(value);
  }
  return file;
}
