import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveStaticFile } from './static-files.js';

let base: string;
let root: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-static-'));
  root = path.join(base, 'renderer');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html>');
  fs.writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(base, 'secret.txt'), 'not for the renderer');
  fs.mkdirSync(path.join(base, 'outside'));
  fs.writeFileSync(path.join(base, 'outside', 'data.json'), '{"secret":true}');
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('resolveStaticFile', () => {
  it('serves files of the root and falls back to index.html for routes', () => {
    const asset = resolveStaticFile(root, '/assets/app.js');
    expect(asset).toMatchObject({ ok: true, contentType: 'text/javascript; charset=utf-8' });
    expect(asset.ok && asset.file).toBe(fs.realpathSync(path.join(root, 'assets', 'app.js')));
    const route = resolveStaticFile(root, '/customers/42');
    expect(route.ok && route.file).toBe(fs.realpathSync(path.join(root, 'index.html')));
  });

  it('refuses paths that climb out of the root', () => {
    expect(resolveStaticFile(root, '/../secret.txt')).toMatchObject({ ok: false, status: 404 });
    expect(resolveStaticFile(root, '/%2e%2e/secret.txt')).toMatchObject({ ok: false, status: 404 });
  });

  it('does not follow a symlinked file out of the root', () => {
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'assets', 'leak.txt'));
    expect(resolveStaticFile(root, '/assets/leak.txt')).toMatchObject({ ok: false, status: 404 });
  });

  it('does not follow a symlinked folder out of the root', () => {
    fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'linked'));
    expect(resolveStaticFile(root, '/linked/data.json')).toMatchObject({ ok: false, status: 404 });
  });

  it('serves a symlink that stays inside the root', () => {
    fs.symlinkSync(path.join(root, 'assets', 'app.js'), path.join(root, 'alias.js'));
    const alias = resolveStaticFile(root, '/alias.js');
    expect(alias.ok && alias.file).toBe(fs.realpathSync(path.join(root, 'assets', 'app.js')));
  });

  it('works when the root itself is reached through a symlink', () => {
    const linkedRoot = path.join(base, 'current');
    fs.symlinkSync(root, linkedRoot);
    const asset = resolveStaticFile(linkedRoot, '/assets/app.js');
    expect(asset.ok && asset.file).toBe(fs.realpathSync(path.join(root, 'assets', 'app.js')));
  });

  it('does not serve an index.html that is a symlink out of the root', () => {
    fs.rmSync(path.join(root, 'index.html'));
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'index.html'));
    expect(resolveStaticFile(root, '/')).toMatchObject({ ok: false, status: 404 });
  });
});
