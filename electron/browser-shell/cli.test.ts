import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SHELL_CLOSE_UNAUTHORISED } from '../../shared/ipc.js';

/**
 * Issue 7 item 5: the browser shell's secret must not be visible to other users of the
 * machine, in `ps` (process arguments) or in what the shell prints. The real CLI runs as a
 * child process here, exactly as `npm start` runs it.
 */
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
let dir: string;
let shell: ChildProcess;
const output: string[] = [];
let launchUrl: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-shell-cli-'));
  const rendererDir = path.join(dir, 'renderer');
  fs.mkdirSync(rendererDir);
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Tsunagu</title>');
  shell = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'electron/browser-shell/cli.ts')], {
    cwd: root,
    env: {
      ...process.env,
      // Nothing listens on port 9: the window only needs its core's local answers.
      TSUNAGU_BACKEND_URL: 'http://127.0.0.1:9',
      TSUNAGU_DATA_DIR: path.join(dir, 'app'),
      TSUNAGU_RENDERER_DIR: rendererDir,
      TSUNAGU_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launchUrl = await new Promise<string>((resolve, reject) => {
    shell.once('exit', (code) => reject(new Error(`the shell exited (${code}):\n${output.join('\n')}`)));
    for (const stream of [shell.stdout!, shell.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        const ready = line.match(/^tsunagu shell: ready (\S+)$/);
        if (ready) resolve(ready[1]!);
      });
    }
  });
});

afterAll(async () => {
  if (shell.exitCode === null) {
    const exited = new Promise((resolve) => shell.once('exit', resolve));
    shell.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function openSocket(origin: string): Promise<WebSocket> {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/ipc`, { origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function firstFrame(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>)));
}

describe('browser shell CLI: the window secret stays out of sight', () => {
  it('prints only a one-time launch link; the secret it is exchanged for is in no argument and no output line', async () => {
    const { origin, hash } = new URL(launchUrl);
    const code = hash.replace(/^#launch=/, '');
    expect(code).toMatch(/^[\w-]{43}$/);

    const ws = await openSocket(origin);
    const welcome = firstFrame(ws);
    ws.send(JSON.stringify({ type: 'hello', launchCode: code }));
    const secret = (await welcome).windowSecret as string;
    expect(secret).toMatch(/^[\w-]{43}$/);
    const answer = firstFrame(ws);
    ws.send(JSON.stringify({ id: 1, channel: 'app:info', payload: null }));
    expect(await answer).toMatchObject({ id: 1, result: { ok: true } });

    const cmdline = fs.readFileSync(`/proc/${shell.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(secret);
    expect(output.join('\n')).not.toContain(secret);
    ws.close();
  });

  it('refuses the printed link once a window has used it, so a copy from a process list opens nothing', async () => {
    const { origin, hash } = new URL(launchUrl);
    const ws = await openSocket(origin);
    const closed = new Promise<number>((resolve) => ws.once('close', (closeCode) => resolve(closeCode)));
    ws.send(JSON.stringify({ type: 'hello', launchCode: hash.replace(/^#launch=/, '') }));
    expect(await closed).toBe(SHELL_CLOSE_UNAUTHORISED);
  });
});
