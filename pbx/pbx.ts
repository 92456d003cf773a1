/**
 * Starts and stops the development/test PBX: rtpengine (userspace) and Kamailio, both
 * in the foreground on 127.0.0.1, with their config, pid files and logs in a runtime
 * directory of the caller's choosing. No system service is involved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SIP_USER_PATTERN } from '../shared/sip-identity.js';
import { describeZodError } from '../shared/validation.js';
import { startMediaUa, type MediaUaOptions, type RunningMediaUa } from './media-ua/index.js';
import { ngRequest } from './rtpengine-ng.js';
import { rtpengineRecordingArgs, startRecorder, type RunningRecorder } from './recorder/recorder.js';

const TEMPLATE_PATH = fileURLToPath(new URL('./kamailio.cfg', import.meta.url));
const RELAY_MAIN_PATH = fileURLToPath(new URL('./cti-relay/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const port = z.number().int().min(1).max(65535);

const tenantSlug = z.string().regex(/^[A-Za-z0-9_~+-]{1,63}$/, 'must be a tenant slug (letters, digits, _ ~ + -)');
const sipUser = z.string().regex(SIP_USER_PATTERN, 'must be a SIP user part (letters, digits, . _ ~ + -)');

/**
 * A number callers dial that the backend routes (a queue, a DID). Values are rendered into
 * kamailio.cfg, so each is limited to characters that cannot end a string or a name there.
 */
export const ctiQueueSchema = z.object({
  number: z.string().regex(/^\+?[A-Za-z0-9_-]{1,32}$/, 'must be a dialled number (digits, letters, _ -, an optional leading +)'),
  tenant: tenantSlug,
  /** Rung in this order after the backend's targets, or alone when the backend fails or is too slow. */
  fallback: z.array(sipUser).min(1, 'must name at least one SIP user').max(20),
  /** How long each target rings before the next one does. */
  ringSeconds: z.number().int().min(5).max(120).default(20),
});

export const ctiOptionsSchema = z
  .object({
    /** The backend's base URL as the PBX reaches it, e.g. http://127.0.0.1:8740. */
    backendUrl: z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must look like http://HOST[:PORT], without a path'),
    /** This PBX's CTI bearer token (the backend knows its SHA-256). Important: never log it. */
    token: z.string().regex(/^[A-Za-z0-9._~-]{16,256}$/, 'must be 16-256 of A-Z a-z 0-9 . _ ~ -'),
    /** Tenants whose calls this PBX reports: a tenant-qualified SIP user names its tenant. */
    tenants: z.array(tenantSlug).min(1, 'must name at least one tenant'),
    /** The tenant that calls to plain extensions (SIP users without a tenant part) belong to. */
    extensionTenant: tenantSlug.optional(),
    queues: z.array(ctiQueueSchema).default([]),
    /**
     * The backend must answer a routing request within this time, or the fallback group rings.
     * Kept by the CTI relay (pbx/cti-relay), which Kamailio asks instead of the backend.
     */
    routingBudgetMs: z.number().int().min(50).max(5000).default(500),
    /** TCP port of the CTI relay on 127.0.0.1; a free one when 0. */
    relayPort: z.number().int().min(0).max(65535).default(0),
    /** The relay's call-event spool (SQLite); `cti-events.sqlite` in the runtime directory when omitted. */
    eventSpoolFile: z.string().min(1).optional(),
    /** Bounds of the spool: undelivered events kept at most, and how old one may get, before the oldest are dropped (logged). */
    eventSpool: z
      .object({
        maxEvents: z.number().int().min(1).optional(),
        maxAgeMs: z.number().int().min(1000).optional(),
      })
      .optional(),
    /** UDP port of the media UA (IVR, "please hold"); a free one when 0. */
    mediaUaPort: z.number().int().min(0).max(65535).default(0),
    /** Where the media UA keeps its prompts; inside the runtime directory when omitted. */
    promptsDir: z.string().min(1).optional(),
    /** The media UA's limits (pbx/media-ua), e.g. a shorter queue poll in tests. */
    mediaUaLimits: z.record(z.string(), z.number()).optional(),
  })
  .refine((o) => o.extensionTenant === undefined || o.tenants.includes(o.extensionTenant), {
    message: 'must be one of tenants',
    path: ['extensionTenant'],
  })
  .refine((o) => o.queues.every((q) => o.tenants.includes(q.tenant)), { message: 'each queue\'s tenant must be one of tenants', path: ['queues'] })
  .refine((o) => new Set(o.queues.map((q) => q.number)).size === o.queues.length, { message: 'queue numbers must differ', path: ['queues'] });

export type CtiOptions = z.input<typeof ctiOptionsSchema>;

export const pbxOptionsSchema = z
  .object({
    runtimeDir: z.string().min(1, 'must name a directory'),
    // Kamailio reads the secret from a quoted config string: quotes, backslashes
    // and control characters would end or corrupt it.
    secret: z
      .string()
      .min(16, 'must be at least 16 characters')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .refine((s) => !s.includes('"') && !s.includes('\\'), 'must not contain " or \\'),
    wsPort: port.default(5066),
    udpPort: port.default(5060),
    rtpengineNgPort: port.default(22222),
    rtpPortMin: port.default(30000),
    rtpPortMax: port.default(30100),
    customerIdHeader: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be a SIP header name (letters, digits, "-")')
      .default('X-Customer-Id'),
    /** Where calls from app users to numbers nobody has registered go, e.g. `sip:127.0.0.1:5070` (a SIPp UAS). */
    outboundTrunk: z
      .string()
      .regex(/^sip:[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must look like sip:HOST[:PORT]')
      .optional(),
    /** Routing by the backend and call events; without it Kamailio routes by the dialled SIP user only. */
    cti: ctiOptionsSchema.optional(),
    /**
     * The media UA (pbx/media-ua/) for the IVR and the queue's hold: started before Kamailio,
     * stopped after it. Trunk callers without a caller ID go through its IVR for `ivrTenant`.
     */
    mediaUa: z
      .object({
        /** UDP port on 127.0.0.1; 0 picks a free one. */
        port: z.number().int().min(0).max(65535).default(0),
        backendUrl: z.string().url('must be the backend URL, e.g. http://127.0.0.1:8740'),
        ctiToken: z.string().min(16, 'must be the PBX\'s CTI token'),
        ivrTenant: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be a tenant slug'),
        /** Prompt cache; defaults to media-ua/ in the runtime directory. */
        dataDir: z.string().min(1).optional(),
      })
      .optional(),
    /**
     * Call recording (pbx/recorder/): rtpengine records every call's media to `<runtimeDir>/recording-spool`
     * and the recorder mixes each finished call to MP3 with rtpengine's recording daemon and
     * uploads it to the backend, which keeps it or not by the tenant's policy.
     */
    recording: z
      .object({
        backendUrl: z.string().url('must be the backend URL, e.g. http://127.0.0.1:8740'),
        ctiToken: z.string().min(16, 'must be the PBX\'s CTI token'),
        /** The tenant whose calls this PBX records. */
        tenant: tenantSlug,
      })
      .optional(),
    /** Kamailio log level, -3 (alert) to 2 (info). Debug level is refused: it would log credentials. */
    kamailioLogLevel: z.number().int().min(-3).max(2).default(2),
    /** Also copy both daemons' output to this process's stderr (the CLI does). */
    echoLogs: z.boolean().default(false),
    readyTimeoutMs: z.number().int().positive().default(15_000),
  })
  .refine((o) => o.rtpPortMin < o.rtpPortMax, { message: 'must be greater than rtpPortMin', path: ['rtpPortMax'] })
  .refine((o) => new Set([o.wsPort, o.udpPort, o.rtpengineNgPort]).size === 3, {
    message: 'wsPort, udpPort and rtpengineNgPort must differ',
    path: ['rtpengineNgPort'],
  });

export type PbxOptions = z.input<typeof pbxOptionsSchema>;
type ResolvedPbxOptions = z.output<typeof pbxOptionsSchema>;

export interface ProcessExit {
  name: 'kamailio' | 'rtpengine' | 'cti-relay';
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningPbx {
  /** WebSocket URL for sip.js (subprotocol "sip"). */
  wsUrl: string;
  wsPort: number;
  /** UDP port of the trunk side on 127.0.0.1. */
  udpPort: number;
  rtpengineNgPort: number;
  /** UDP port of the media UA on 127.0.0.1, when the PBX runs one. */
  mediaUaPort: number | null;
  /** TCP port of the CTI relay on 127.0.0.1, when the PBX has CTI options. */
  ctiRelayPort: number | null;
  runtimeDir: string;
  logFiles: { kamailio: string; rtpengine: string; mediaUa?: string; ctiRelay?: string };
  /** Stops the media UA only: simulates the IVR going away (Kamailio must route around it). */
  stopMediaUa(): Promise<void>;
  /** Stops Kamailio only, leaving rtpengine up: simulates the PBX or the network going away. */
  stopKamailio(): Promise<void>;
  /** Starts Kamailio again on the same ports after stopKamailio(). */
  startKamailio(): Promise<void>;
  /** Kills the CTI relay (SIGKILL): simulates it crashing. Kamailio keeps call events in memory meanwhile. */
  killCtiRelay(): Promise<void>;
  /** Starts the CTI relay again on the same port, with the same spool, after killCtiRelay(). */
  startCtiRelay(): Promise<void>;
  /** Process ids of the running daemons (Kamailio's is also its workers' process group). */
  pids(): { kamailio: number | undefined; rtpengine: number | undefined; ctiRelay: number | undefined };
  /** The call recorder, when the PBX records (`recording` options). */
  recorder: RunningRecorder | undefined;
  /** Resolves when Kamailio or rtpengine exits without having been asked to. */
  unexpectedExit: Promise<ProcessExit>;
  stop(): Promise<void>;
}

export class PbxStartError extends Error {
  override name = 'PbxStartError';
}

interface ManagedProcess {
  name: ProcessExit['name'];
  child: ChildProcess;
  pidFile: string;
  exited: Promise<ProcessExit>;
  stopping: boolean;
}

// Everything started here, so that a test runner that dies mid-run leaves nothing behind.
const started = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const managed of started) {
      if (managed.child.pid !== undefined) killGroup(managed.child.pid, 'SIGKILL');
    }
  });
}

/** Signals the process group the daemon leads (it was spawned detached), so Kamailio's workers go too. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function parsePbxOptions(options: PbxOptions): ResolvedPbxOptions {
  const parsed = pbxOptionsSchema.safeParse(options);
  if (!parsed.success) throw new PbxStartError(`Invalid PBX options: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

export async function renderKamailioConfig(options: ResolvedPbxOptions, mediaUaPort = 0, ctiRelayPort = 0): Promise<string> {
  const template = await readFile(TEMPLATE_PATH, 'utf8');
  const values: Record<string, string> = {
    LOG_LEVEL: String(options.kamailioLogLevel),
    UDP_PORT: String(options.udpPort),
    WS_PORT: String(options.wsPort),
    SECRET: options.secret,
    RTPENGINE_NG_PORT: String(options.rtpengineNgPort),
    CUSTOMER_ID_HEADER: options.customerIdHeader,
    OUTBOUND_TRUNK: options.outboundTrunk ?? '',
    ...ctiPlaceholders(options.cti, ctiRelayPort),
    MEDIA_UA_PORT: String(mediaUaPort),
    IVR_TENANT: options.mediaUa?.ivrTenant ?? options.cti?.extensionTenant ?? '',
    RECORD_CALL: options.recording ? ' record-call=yes' : '',
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new PbxStartError(`kamailio.cfg has an unknown placeholder ${placeholder}`);
    return value;
  });
}

function ctiPlaceholders(cti: ResolvedPbxOptions['cti'], relayPort: number): Record<string, string> {
  if (!cti) {
    return { CTI_DEFINE: '', CTI_RELAY_URL: '', CTI_TOKEN: '', CTI_TENANTS: '', CTI_EXTENSION_TENANT: '', CTI_QUEUES: '' };
  }
  const queues = cti.queues.flatMap((q) => [
    `\t$sht(ctiq=>${q.number}::tenant) = "${q.tenant}";`,
    `\t$sht(ctiq=>${q.number}::fallback) = "${q.fallback.join(',')}";`,
    `\t$sht(ctiq=>${q.number}::ring) = ${q.ringSeconds};`,
  ]);
  return {
    CTI_DEFINE: '#!define WITH_CTI',
    CTI_RELAY_URL: `http://127.0.0.1:${relayPort}`,
    CTI_TOKEN: cti.token,
    CTI_TENANTS: cti.tenants.join(','),
    CTI_EXTENSION_TENANT: cti.extensionTenant ?? '',
    // An empty route block does not parse.
    CTI_QUEUES: queues.length > 0 ? queues.join('\n') : '\treturn;',
  };
}

export async function startPbx(input: PbxOptions): Promise<RunningPbx> {
  const options = parsePbxOptions(input);
  const runtimeDir = path.resolve(options.runtimeDir);
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
  for (const binary of ['/usr/sbin/kamailio', '/usr/bin/rtpengine']) {
    if (!existsSync(binary)) {
      throw new PbxStartError(`${binary} is missing: run scripts/setup.sh (Debian packages kamailio, rtpengine-daemon)`);
    }
  }
  const kamailioPidFile = path.join(runtimeDir, 'kamailio.pid');
  const rtpenginePidFile = path.join(runtimeDir, 'rtpengine.pid');
  await refuseIfRunning(kamailioPidFile);
  await refuseIfRunning(rtpenginePidFile);

  const logFiles: RunningPbx['logFiles'] = {
    kamailio: path.join(runtimeDir, 'kamailio.log'),
    rtpengine: path.join(runtimeDir, 'rtpengine.log'),
  };
  // The media UA's port goes into the config, so it starts first. CTI options run it with
  // their backend and token; `mediaUa` (the IVR for calls to SIP users) may name its own.
  let mediaUa: RunningMediaUa | undefined;
  let mediaLog: WriteStream | undefined;
  const backendUrl = options.mediaUa?.backendUrl ?? options.cti?.backendUrl;
  const ctiToken = options.mediaUa?.ctiToken ?? options.cti?.token;
  if (backendUrl !== undefined && ctiToken !== undefined) {
    logFiles.mediaUa = path.join(runtimeDir, 'media-ua.log');
    const log = createWriteStream(logFiles.mediaUa, { flags: 'a', mode: 0o600 });
    mediaLog = log;
    mediaUa = await startMediaUa({
      host: '127.0.0.1',
      port: options.mediaUa?.port ?? options.cti?.mediaUaPort ?? 0,
      backendUrl,
      ctiToken,
      dataDir: options.mediaUa?.dataDir ?? options.cti?.promptsDir ?? path.join(runtimeDir, 'media-ua'),
      log: (line) => {
        log.write(`${line}\n`);
        if (options.echoLogs) process.stderr.write(prefixLines('media-ua', `${line}\n`));
      },
      ...(options.cti?.mediaUaLimits ? { limits: options.cti.mediaUaLimits as MediaUaOptions['limits'] } : {}),
    });
  }
  const stopMediaUa = async (): Promise<void> => {
    await mediaUa?.stop();
    mediaUa = undefined;
    mediaLog?.end();
    mediaLog = undefined;
  };

  installExitHook();
  // Kamailio asks the relay instead of the backend (routing budget, event spool): it starts
  // before Kamailio, whose config names its port, and stops after it, so that Kamailio's last
  // events reach the spool.
  const ctiRelayPidFile = path.join(runtimeDir, 'cti-relay.pid');
  let ctiRelay: ManagedProcess | undefined;
  let ctiRelayPort = 0;
  const launchCtiRelay = async (): Promise<ManagedProcess> => {
    const cti = options.cti;
    if (!cti) throw new PbxStartError('the PBX has no CTI options');
    logFiles.ctiRelay = path.join(runtimeDir, 'cti-relay.log');
    // Two relays on one spool would each deliver it.
    await refuseIfRunning(ctiRelayPidFile);
    const managed = launch({
      name: 'cti-relay',
      command: process.execPath,
      args: ['--import', 'tsx', RELAY_MAIN_PATH],
      cwd: REPO_ROOT,
      // Important: the token goes through the environment, never an argument.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...(process.env.HOME !== undefined ? { HOME: process.env.HOME } : {}),
        ...(process.env.TMPDIR !== undefined ? { TMPDIR: process.env.TMPDIR } : {}),
        TSUNAGU_CTI_RELAY_PORT: String(ctiRelayPort),
        TSUNAGU_CTI_RELAY_BACKEND_URL: cti.backendUrl,
        TSUNAGU_CTI_RELAY_TOKEN: cti.token,
        TSUNAGU_CTI_RELAY_BUDGET_MS: String(cti.routingBudgetMs),
        TSUNAGU_CTI_RELAY_PID_FILE: ctiRelayPidFile,
        TSUNAGU_CTI_RELAY_SPOOL: cti.eventSpoolFile ?? path.join(runtimeDir, 'cti-events.sqlite'),
        ...(cti.eventSpool?.maxEvents !== undefined ? { TSUNAGU_CTI_RELAY_SPOOL_MAX_EVENTS: String(cti.eventSpool.maxEvents) } : {}),
        ...(cti.eventSpool?.maxAgeMs !== undefined ? { TSUNAGU_CTI_RELAY_SPOOL_MAX_AGE_MS: String(cti.eventSpool.maxAgeMs) } : {}),
      },
      pidFile: ctiRelayPidFile,
      logFile: logFiles.ctiRelay,
      echo: options.echoLogs,
    });
    try {
      await waitUntil(
        () => httpAnswers(ctiRelayPort, '/health'),
        managed,
        logFiles.ctiRelay,
        options.readyTimeoutMs,
        `the CTI relay did not answer on tcp 127.0.0.1:${ctiRelayPort}`,
      );
    } catch (error) {
      await terminate(managed);
      throw error;
    }
    return managed;
  };
  if (options.cti) {
    ctiRelayPort = options.cti.relayPort !== 0 ? options.cti.relayPort : await freeLoopbackTcpPort();
    try {
      ctiRelay = await launchCtiRelay();
    } catch (error) {
      await stopMediaUa();
      throw error;
    }
  }
  const stopCtiRelay = async (): Promise<void> => {
    if (ctiRelay) await terminate(ctiRelay);
  };

  const configFile = path.join(runtimeDir, 'kamailio.cfg');
  // Important: the rendered config holds the shared secret and the CTI token.
  try {
    await writeFile(configFile, await renderKamailioConfig(options, mediaUa?.port ?? 0, ctiRelayPort), { mode: 0o600 });
  } catch (error) {
    await stopCtiRelay();
    await stopMediaUa();
    throw error;
  }

  const rtpengine = launch({
    name: 'rtpengine',
    command: '/usr/bin/rtpengine',
    args: [
      '--config-file=none',
      '--foreground',
      '--log-stderr',
      '--table=-1',
      '--interface=127.0.0.1',
      `--listen-ng=127.0.0.1:${options.rtpengineNgPort}`,
      `--port-min=${options.rtpPortMin}`,
      `--port-max=${options.rtpPortMax}`,
      `--pidfile=${rtpenginePidFile}`,
      '--delete-delay=0',
      '--num-threads=2',
      '--log-level=6',
      ...(options.recording ? rtpengineRecordingArgs(path.join(runtimeDir, 'recording-spool')) : []),
    ],
    pidFile: rtpenginePidFile,
    logFile: logFiles.rtpengine,
    echo: options.echoLogs,
  });
  // Kamailio's rtpengine module checks the ng socket when it starts: rtpengine first.
  try {
    await waitUntil(
      () => pingRtpengine(options.rtpengineNgPort),
      rtpengine,
      logFiles.rtpengine,
      options.readyTimeoutMs,
      `rtpengine did not answer an ng ping on 127.0.0.1:${options.rtpengineNgPort}`,
    );
  } catch (error) {
    await terminate(rtpengine);
    await stopCtiRelay();
    await stopMediaUa();
    throw error;
  }

  const launchKamailio = async (): Promise<ManagedProcess> => {
    await refuseIfRunning(kamailioPidFile);
    const managed = launch({
      name: 'kamailio',
      command: '/usr/sbin/kamailio',
      args: ['-DD', '-E', '-f', configFile, '-P', kamailioPidFile, '-Y', runtimeDir, '-m', '64', '-M', '8'],
      pidFile: kamailioPidFile,
      logFile: logFiles.kamailio,
      echo: options.echoLogs,
    });
    try {
      await waitUntil(
        async () => (await probeSipOptions(options.udpPort)) && (await tcpAccepts(options.wsPort)),
        managed,
        logFiles.kamailio,
        options.readyTimeoutMs,
        `Kamailio did not answer OPTIONS on udp 127.0.0.1:${options.udpPort} and accept on tcp ${options.wsPort}`,
      );
    } catch (error) {
      await terminate(managed);
      throw error;
    }
    return managed;
  };

  let recorder: RunningRecorder | undefined;
  if (options.recording) {
    const recorderLog = createWriteStream(path.join(runtimeDir, 'recorder.log'), { flags: 'a', mode: 0o600 });
    recorder = await startRecorder({
      runtimeDir,
      rtpengineNgPort: options.rtpengineNgPort,
      backendUrl: options.recording.backendUrl,
      ctiToken: options.recording.ctiToken,
      tenant: options.recording.tenant,
      log: (line) => {
        recorderLog.write(`${new Date().toISOString()} ${line}\n`);
        if (options.echoLogs) process.stderr.write(prefixLines('recorder', `${line}\n`));
      },
    });
  }

  let kamailio: ManagedProcess;
  try {
    kamailio = await launchKamailio();
  } catch (error) {
    await recorder?.stop();
    await terminate(rtpengine);
    await stopCtiRelay();
    await stopMediaUa();
    throw error;
  }

  let reportUnexpectedExit: (exit: ProcessExit) => void = () => undefined;
  const unexpectedExit = new Promise<ProcessExit>((resolve) => {
    reportUnexpectedExit = resolve;
  });
  const watch = (managed: ManagedProcess): void => {
    void managed.exited.then((exit) => {
      if (!managed.stopping) reportUnexpectedExit(exit);
    });
  };
  watch(rtpengine);
  watch(kamailio);
  if (ctiRelay) watch(ctiRelay);

  let stopped = false;
  return {
    wsUrl: `ws://127.0.0.1:${options.wsPort}`,
    wsPort: options.wsPort,
    udpPort: options.udpPort,
    rtpengineNgPort: options.rtpengineNgPort,
    mediaUaPort: mediaUa?.port ?? null,
    ctiRelayPort: ctiRelay ? ctiRelayPort : null,
    runtimeDir,
    logFiles,
    unexpectedExit,
    pids: () => ({
      kamailio: started.has(kamailio) ? kamailio.child.pid : undefined,
      rtpengine: started.has(rtpengine) ? rtpengine.child.pid : undefined,
      ctiRelay: ctiRelay && started.has(ctiRelay) ? ctiRelay.child.pid : undefined,
    }),
    stopMediaUa,
    async killCtiRelay() {
      if (!ctiRelay) throw new PbxStartError('the PBX has no CTI relay');
      ctiRelay.stopping = true;
      if (started.has(ctiRelay) && ctiRelay.child.pid !== undefined) killGroup(ctiRelay.child.pid, 'SIGKILL');
      await ctiRelay.exited;
    },
    async startCtiRelay() {
      if (stopped) throw new PbxStartError('the PBX has been stopped');
      if (ctiRelay && started.has(ctiRelay)) throw new PbxStartError('the CTI relay is already running');
      ctiRelay = await launchCtiRelay();
      watch(ctiRelay);
    },
    async stopKamailio() {
      await terminate(kamailio);
    },
    async startKamailio() {
      if (stopped) throw new PbxStartError('the PBX has been stopped');
      if (started.has(kamailio)) throw new PbxStartError('Kamailio is already running');
      kamailio = await launchKamailio();
      watch(kamailio);
    },
    async stop() {
      stopped = true;
      // Kamailio first, so that no call is set up on an rtpengine that is going away.
      await terminate(kamailio);
      await stopCtiRelay();
      await stopMediaUa();
      await recorder?.stop();
      await terminate(rtpengine);
    },
    recorder,
  };
}

interface LaunchSpec {
  name: ProcessExit['name'];
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  pidFile: string;
  logFile: string;
  echo: boolean;
}

function launch(spec: LaunchSpec): ManagedProcess {
  const log: WriteStream = createWriteStream(spec.logFile, { flags: 'a', mode: 0o600 });
  const child = spawn(spec.command, spec.args, {
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    ...(spec.env !== undefined ? { env: spec.env } : {}),
    // Its own process group: Ctrl-C in a terminal reaches only the CLI, which then
    // stops the daemons in order, and stop() can reach Kamailio's worker processes.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (spec.echo) process.stderr.write(prefixLines(spec.name, chunk.toString('utf8')));
    });
  }
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('close', (code, signal) => {
      started.delete(managed);
      log.end();
      resolve({ name: spec.name, code, signal });
    });
    child.once('error', (error) => {
      log.write(`failed to start ${spec.command}: ${error.message}\n`);
    });
  });
  const managed: ManagedProcess = { name: spec.name, child, pidFile: spec.pidFile, exited, stopping: false };
  started.add(managed);
  return managed;
}

function prefixLines(name: string, text: string): string {
  return text.replace(/^(?=.)/gm, `[${name}] `);
}

async function terminate(managed: ManagedProcess): Promise<void> {
  managed.stopping = true;
  const pid = managed.child.pid;
  if (started.has(managed) && pid !== undefined) {
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 10_000);
    await managed.exited;
    clearTimeout(timer);
    // A worker that outlived its main process would keep the ports.
    killGroup(pid, 'SIGKILL');
  }
  await rm(managed.pidFile, { force: true });
}

async function refuseIfRunning(pidFile: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new PbxStartError(`${pidFile} names process ${pid}, which is still running: stop that PBX first`);
  }
  await rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(
  probe: () => Promise<boolean>,
  managed: ManagedProcess,
  logFile: string,
  timeoutMs: number,
  failure: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: ProcessExit | undefined;
  void managed.exited.then((e) => {
    exit = e;
  });
  while (Date.now() < deadline) {
    if (exit) {
      throw new PbxStartError(
        `${managed.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready; log ${logFile}:\n${await tail(logFile)}`,
      );
    }
    if (await probe()) return;
  }
  throw new PbxStartError(`${failure} within ${timeoutMs} ms; log ${logFile}:\n${await tail(logFile)}`);
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Sends one UDP datagram and resolves with the first reply, or undefined after timeoutMs. */
function udpExchange(targetPort: number, payload: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const finish = (reply: string | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('message', (message) => finish(message.toString('utf8')));
    // Nothing listening yet shows up as an ICMP error on the socket.
    socket.once('error', () => finish(undefined));
    socket.bind(0, '127.0.0.1', () => {
      socket.send(payload, targetPort, '127.0.0.1', (error) => {
        if (error) finish(undefined);
      });
    });
  });
}

export async function pingRtpengine(ngPort: number, timeoutMs = 300): Promise<boolean> {
  const reply = await ngRequest(ngPort, { command: 'ping' }, timeoutMs);
  return reply?.result === 'pong';
}

/** An OPTIONS addressed to the PBX itself; any SIP reply means Kamailio processes requests. */
export async function probeSipOptions(udpPort: number, timeoutMs = 300): Promise<boolean> {
  const id = randomBytes(8).toString('hex');
  const request = [
    `OPTIONS sip:127.0.0.1:${udpPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-probe-${id};rport`,
    'Max-Forwards: 70',
    `From: <sip:readiness-probe@127.0.0.1>;tag=${id}`,
    `To: <sip:127.0.0.1:${udpPort}>`,
    `Call-ID: probe-${id}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const reply = await udpExchange(udpPort, request, timeoutMs);
  return reply !== undefined && reply.startsWith('SIP/2.0 ');
}

/** A port nobody listens on now (the kernel's pick), for a child process that must be told its port. */
function freeLoopbackTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
}

/** True when an HTTP GET of the path on 127.0.0.1 answers 200. */
function httpAnswers(tcpPort: number, pathname: string, timeoutMs = 300): Promise<boolean> {
  return fetch(`http://127.0.0.1:${tcpPort}${pathname}`, { signal: AbortSignal.timeout(timeoutMs) })
    .then((response) => response.status === 200)
    .catch(async () => {
      // A refused connection returns at once; pause briefly so the readiness loop does not spin.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return false;
    });
}

function tcpAccepts(tcpPort: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: tcpPort });
    const finish = (accepted: boolean): void => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => {
      // A refused connection returns at once; pause briefly so the readiness loop does not spin.
      setTimeout(() => finish(false), 50);
    });
  });
}

const envPort = z.coerce.number().int().min(1).max(65535);

const pbxEnvSchema = z.object({
  TSUNAGU_SIP_SECRET: z.string({ error: 'is required: the shared secret for ephemeral SIP credentials' }),
  TSUNAGU_PBX_RUNTIME_DIR: z.string().min(1).optional(),
  TSUNAGU_PBX_WS_PORT: envPort.optional(),
  TSUNAGU_PBX_UDP_PORT: envPort.optional(),
  TSUNAGU_PBX_RTPENGINE_NG_PORT: envPort.optional(),
  TSUNAGU_PBX_RTP_PORT_MIN: envPort.optional(),
  TSUNAGU_PBX_RTP_PORT_MAX: envPort.optional(),
  TSUNAGU_PBX_CUSTOMER_ID_HEADER: z.string().optional(),
  TSUNAGU_PBX_OUTBOUND_TRUNK: z.string().optional(),
  TSUNAGU_PBX_CTI_BACKEND_URL: z.string().optional(),
  TSUNAGU_PBX_CTI_TOKEN: z.string().optional(),
  TSUNAGU_PBX_CTI_TENANTS: z.string().optional(),
  TSUNAGU_PBX_CTI_QUEUES: z.string().optional(),
});

/** A JSON environment value, or a message naming the variable. */
function jsonEnv(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new PbxStartError(`Invalid PBX environment: ${name}: must be JSON`);
  }
}

/** PBX options from environment variables; runtimeDir stays undefined when TSUNAGU_PBX_RUNTIME_DIR is unset. */
export function pbxOptionsFromEnv(env: NodeJS.ProcessEnv): Omit<PbxOptions, 'runtimeDir'> & { runtimeDir?: string } {
  const parsed = pbxEnvSchema.safeParse(env);
  if (!parsed.success) throw new PbxStartError(`Invalid PBX environment: ${describeZodError(parsed.error)}`);
  const e = parsed.data;
  const options: Omit<PbxOptions, 'runtimeDir'> & { runtimeDir?: string } = { secret: e.TSUNAGU_SIP_SECRET };
  if (e.TSUNAGU_PBX_RUNTIME_DIR !== undefined) options.runtimeDir = e.TSUNAGU_PBX_RUNTIME_DIR;
  if (e.TSUNAGU_PBX_WS_PORT !== undefined) options.wsPort = e.TSUNAGU_PBX_WS_PORT;
  if (e.TSUNAGU_PBX_UDP_PORT !== undefined) options.udpPort = e.TSUNAGU_PBX_UDP_PORT;
  if (e.TSUNAGU_PBX_RTPENGINE_NG_PORT !== undefined) options.rtpengineNgPort = e.TSUNAGU_PBX_RTPENGINE_NG_PORT;
  if (e.TSUNAGU_PBX_RTP_PORT_MIN !== undefined) options.rtpPortMin = e.TSUNAGU_PBX_RTP_PORT_MIN;
  if (e.TSUNAGU_PBX_RTP_PORT_MAX !== undefined) options.rtpPortMax = e.TSUNAGU_PBX_RTP_PORT_MAX;
  if (e.TSUNAGU_PBX_CUSTOMER_ID_HEADER !== undefined) options.customerIdHeader = e.TSUNAGU_PBX_CUSTOMER_ID_HEADER;
  if (e.TSUNAGU_PBX_OUTBOUND_TRUNK !== undefined) options.outboundTrunk = e.TSUNAGU_PBX_OUTBOUND_TRUNK;
  // CTI is on when the token is set; the token travels in the environment, never in an argument.
  if (e.TSUNAGU_PBX_CTI_TOKEN !== undefined) {
    options.cti = {
      backendUrl: e.TSUNAGU_PBX_CTI_BACKEND_URL ?? 'http://127.0.0.1:8740',
      token: e.TSUNAGU_PBX_CTI_TOKEN,
      tenants: (e.TSUNAGU_PBX_CTI_TENANTS ?? '').split(',').map((t) => t.trim()).filter(Boolean),
      queues: e.TSUNAGU_PBX_CTI_QUEUES === undefined ? [] : (jsonEnv('TSUNAGU_PBX_CTI_QUEUES', e.TSUNAGU_PBX_CTI_QUEUES) as CtiOptions['queues']),
    };
  }
  return options;
}
