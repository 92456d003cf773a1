import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Every process an e2e test starts is registered here and stopped by pid at teardown, so a
 * failing test never leaves a backend, a core host or a PBX behind.
 */
export interface Started {
  child: ChildProcess;
  /** Output lines so far, for failure messages. */
  output: string[];
  stop(): Promise<void>;
}

const running = new Set<Started>();

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Resolves once a line of output matches; its match is returned. */
  readyWhen: RegExp;
  timeoutMs?: number;
}

export async function startProcess(options: StartOptions): Promise<{ started: Started; match: RegExpMatchArray }> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const started: Started = {
    child,
    output,
    stop: () => stopChild(child),
  };
  running.add(started);
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.name} did not become ready in time:\n${output.slice(-30).join('\n')}`)),
      options.timeoutMs ?? 60_000,
    );
    const onLine = (line: string) => {
      output.push(line);
      if (process.env.TSUNAGU_E2E_VERBOSE) console.log(`[${options.name}] ${line}`);
      const m = line.match(options.readyWhen);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${output.slice(-30).join('\n')}`));
    });
  });
  child.removeAllListeners('exit');
  child.once('exit', () => running.delete(started));
  return { started, match };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
  running.clear();
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}
