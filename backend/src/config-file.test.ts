import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyConfigFile } from './config-file.js';
import { loadConfig } from './config.js';

let dir: string | null = null;
function withFile(content: string): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-config-'));
  fs.writeFileSync(path.join(dir, 'tsunagu.config.json'), content);
  return dir;
}
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe('applyConfigFile', () => {
  it('fills settings from ./tsunagu.config.json, environment variables winning', () => {
    const cwd = withFile(JSON.stringify({ TSUNAGU_BACKEND_PORT: 9001, TSUNAGU_SESSION_TTL_HOURS: 4 }));
    const env: NodeJS.ProcessEnv = { TSUNAGU_SESSION_TTL_HOURS: '8' };
    expect(applyConfigFile(env, cwd)).toBe(path.join(cwd, 'tsunagu.config.json'));
    const config = loadConfig(env);
    expect(config.port).toBe(9001);
    expect(config.sessionTtlHours).toBe(8);
  });

  it('takes a list setting as a JSON value', () => {
    const pbxes = [{ id: 'dev', tenants: ['demo'], tokenSha256: 'a'.repeat(64) }];
    const env: NodeJS.ProcessEnv = {};
    applyConfigFile(env, withFile(JSON.stringify({ TSUNAGU_CTI_PBXES: pbxes })));
    expect(loadConfig(env).telephony.ctiPbxes).toEqual(pbxes);
  });

  it('names an unknown setting and a bad value', () => {
    const cwd = withFile(JSON.stringify({ TSUNAGU_BACKEND_PORT: 9001, PORT: 1 }));
    expect(() => applyConfigFile({}, cwd)).toThrow(/PORT is not a Tsunagu setting/);
    const cwd2 = withFile('{ not json');
    expect(() => applyConfigFile({}, cwd2)).toThrow(/not valid JSON/);
  });

  it('is optional unless TSUNAGU_CONFIG names a file', () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-config-'));
    dir = cwd;
    expect(applyConfigFile({}, cwd)).toBeNull();
    expect(() => applyConfigFile({ TSUNAGU_CONFIG: 'missing.json' }, cwd)).toThrow(/TSUNAGU_CONFIG: no such file/);
  });
});
