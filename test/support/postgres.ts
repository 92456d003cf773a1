import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chown, mkdir, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

const POSTGRES_ROOT = '/usr/lib/postgresql';
const SUPERUSER = 'postgres';
const MAINTENANCE_DATABASE = 'postgres';
// Another process may take the free port between our probe and the server's bind.
const MAX_START_ATTEMPTS = 5;
const READY_POLL_ATTEMPTS = 600;
const READY_POLL_INTERVAL_MS = 50;

export interface StartPostgresOptions {
  /** Parent folder of the throwaway cluster folder; defaults to the OS temp folder. */
  dir?: string;
}

export interface RunningPostgres {
  /** postgres:// URL of an empty database owned by the superuser. */
  url: string;
  /** Directory holding the cluster; removed by stop(). */
  clusterDir: string;
  /** Stops the server and removes its directory; later calls do nothing. */
  stop(): Promise<void>;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

interface ClusterPaths {
  root: string;
  data: string;
  socket: string;
  log: string;
}

/** Highest installed PostgreSQL server version's bin folder (Debian layout). */
async function findPostgresBin(): Promise<string> {
  let entries: string[];
  try {
    entries = await readdir(POSTGRES_ROOT);
  } catch {
    entries = [];
  }
  const versions = entries
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => b - a);
  for (const version of versions) {
    const bin = join(POSTGRES_ROOT, String(version), 'bin');
    if (await isFile(join(bin, 'initdb'))) return bin;
  }
  throw new Error(
    `PostgreSQL server binaries not found under ${POSTGRES_ROOT}/<version>/bin; run: bash scripts/setup.sh --test`,
  );
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function findFreeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a loopback probe socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, SUPERUSER])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error(
      `running as root but there is no '${SUPERUSER}' OS user to run PostgreSQL as; run: bash scripts/setup.sh --test`,
    );
  }
}

/**
 * The command line that runs a PostgreSQL program as the user owning the cluster:
 * PostgreSQL refuses to run as root, so root hands it to the `postgres` OS user.
 */
function asClusterOwner(command: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', SUPERUSER, '--', command, ...args]] : [command, args];
}

async function runAsClusterOwner(command: string, args: string[], cwd: string): Promise<string> {
  const [file, fileArgs] = asClusterOwner(command, args);
  try {
    const { stdout } = await execFileAsync(file, fileArgs, { cwd });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    const output = [stderr, stdout].filter(Boolean).join('\n').trim();
    throw new Error(`${command} ${args.join(' ')} failed${output ? `:\n${output}` : ''}`, { cause: error });
  }
}

async function readLogTail(log: string): Promise<string> {
  try {
    return (await readFile(log, 'utf8')).split('\n').slice(-20).join('\n');
  } catch {
    return '(no server log)';
  }
}

function quoteConfigString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function createCluster(bin: string, paths: ClusterPaths): Promise<void> {
  if (isRoot()) {
    const { uid, gid } = await postgresUserIds();
    await chown(paths.root, uid, gid);
    await mkdir(paths.socket);
    await chown(paths.socket, uid, gid);
  } else {
    await mkdir(paths.socket);
  }
  await runAsClusterOwner(
    join(bin, 'initdb'),
    [
      '--pgdata',
      paths.data,
      '--username',
      SUPERUSER,
      '--auth',
      'trust',
      '--encoding',
      'UTF8',
      // C.UTF-8 keeps sorting deterministic while lower()/upper() still handle
      // non-ASCII text such as full-width latin names.
      '--locale',
      'C.UTF-8',
      '--no-sync',
    ],
    paths.root,
  );
}

async function writeServerSettings(paths: ClusterPaths, port: number): Promise<void> {
  // Appended settings win over earlier ones, so a retry with a new port just adds lines.
  const settings = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = ${quoteConfigString(paths.socket)}`,
    // A throwaway cluster does not need to survive a power cut.
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
  ];
  await appendFile(join(paths.data, 'postgresql.conf'), `\n${settings.join('\n')}\n`);
}

interface ServerProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Runs the postmaster as our own child rather than through `pg_ctl start`, which
 * would orphan it: this process then reaps it, and Ctrl-C in a terminal reaches it
 * (SIGINT is a fast shutdown for PostgreSQL).
 */
async function spawnServer(bin: string, paths: ClusterPaths): Promise<ServerProcess> {
  const log = await open(paths.log, 'a');
  try {
    const [file, args] = asClusterOwner(join(bin, 'postgres'), ['-D', paths.data]);
    const child = spawn(file, args, { cwd: paths.root, stdio: ['ignore', log.fd, log.fd] });
    const exited = new Promise<void>((resolve, reject) => {
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
    // Keeps an unhandled rejection from escaping while nobody awaits `exited` yet.
    exited.catch(() => {});
    return { child, exited };
  } finally {
    await log.close();
  }
}

function hasExited(server: ServerProcess): boolean {
  return server.child.exitCode !== null || server.child.signalCode !== null;
}

/** Waits until the server accepts connections; false if it exited first. */
async function waitUntilReady(bin: string, paths: ClusterPaths, server: ServerProcess, port: number): Promise<boolean> {
  const isReadyArgs = ['--host', '127.0.0.1', '--port', String(port), '--username', SUPERUSER, '--timeout', '5', '--quiet'];
  for (let attempt = 0; attempt < READY_POLL_ATTEMPTS; attempt++) {
    if (hasExited(server)) return false;
    try {
      await execFileAsync(join(bin, 'pg_isready'), isReadyArgs, { cwd: paths.root });
      return true;
    } catch {
      // Not accepting connections yet; a start that fails ends the wait at once.
      await Promise.race([delay(READY_POLL_INTERVAL_MS), server.exited]);
    }
  }
  throw new Error(
    `PostgreSQL on 127.0.0.1:${port} did not accept connections after ${READY_POLL_ATTEMPTS} checks; server log:\n${await readLogTail(paths.log)}`,
  );
}

async function startServer(bin: string, paths: ClusterPaths): Promise<{ server: ServerProcess; port: number }> {
  for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
    const port = await findFreeLoopbackPort();
    await writeServerSettings(paths, port);
    const server = await spawnServer(bin, paths);
    try {
      if (await waitUntilReady(bin, paths, server, port)) return { server, port };
    } catch (error) {
      await stopServer(bin, paths, server);
      throw error;
    }
    const log = await readLogTail(paths.log);
    if (!/could not bind|address already in use/i.test(log)) {
      throw new Error(`PostgreSQL did not start; server log:\n${log}`);
    }
  }
  throw new Error(`PostgreSQL did not start after ${MAX_START_ATTEMPTS} attempts: every port was taken`);
}

async function stopServer(bin: string, paths: ClusterPaths, server: ServerProcess): Promise<void> {
  if (hasExited(server)) return;
  const stopArgs = (mode: string) => ['stop', '--pgdata', paths.data, '--mode', mode, '--wait', '--timeout', '60', '--silent'];
  try {
    await runAsClusterOwner(join(bin, 'pg_ctl'), stopArgs('fast'), paths.root);
  } catch (error) {
    if (hasExited(server)) return;
    // A fast shutdown waits for running statements to be cancelled; if that hangs,
    // an immediate shutdown still leaves no process behind.
    try {
      await runAsClusterOwner(join(bin, 'pg_ctl'), stopArgs('immediate'), paths.root);
    } catch {
      throw error;
    }
  }
  // pg_ctl returns once the pid file is gone, just before the postmaster exits.
  await server.exited;
}

/** Connects to the server's maintenance database to run one statement. */
async function runMaintenanceStatement(serverUrl: string, sql: string): Promise<void> {
  const url = new URL(serverUrl);
  url.pathname = `/${MAINTENANCE_DATABASE}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port and returns the URL
 * of an empty database in it. The cluster trusts loopback connections: it is for
 * tests only.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const bin = await findPostgresBin();
  const root = await mkdtemp(join(options.dir ?? tmpdir(), 'tsunagu-pg-'));
  const paths: ClusterPaths = {
    root,
    data: join(root, 'data'),
    socket: join(root, 'socket'),
    log: join(root, 'postgres.log'),
  };

  let server: ServerProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      if (server) await stopServer(bin, paths, server);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };

  try {
    await createCluster(bin, paths);
    const started = await startServer(bin, paths);
    server = started.server;
    const database = 'tsunagu_test';
    const url = `postgres://${SUPERUSER}@127.0.0.1:${started.port}/${database}`;
    await runMaintenanceStatement(url, `CREATE DATABASE ${quoteIdentifier(database)}`);
    return { url, clusterDir: root, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Creates a fresh, uniquely named database on the server of `baseUrl`, so that test
 * files running in parallel never see each other's rows.
 */
export async function createTestDatabase(baseUrl: string): Promise<TestDatabase> {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new Error(`baseUrl: not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`baseUrl: expected a postgres:// URL, got protocol ${parsed.protocol}`);
  }
  const name = `tsunagu_test_${randomBytes(6).toString('hex')}`;
  await runMaintenanceStatement(baseUrl, `CREATE DATABASE ${quoteIdentifier(name)}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;

  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE ends connections a test forgot to close, which would block the drop.
      await runMaintenanceStatement(baseUrl, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    },
  };
}
