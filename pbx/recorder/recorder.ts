/**
 * The PBX side of call recording. rtpengine records each call's decrypted media (its "pcap"
 * method: a pcap file and a metadata file per recorded stretch, in `<runtimeDir>/recording-spool`).
 * When the call is over, the recorder hands the packets to rtpengine's recording daemon
 * (Debian's rtpengine-recording-daemon), which decodes every codec rtpengine knows, mixes the
 * parties into one file and encodes it as MP3; the recorder then uploads that file to the
 * backend with the call's Call-ID. While a call runs it asks the backend whether the operator
 * paused the recording, and stops/starts rtpengine's recording (ng `stop recording` /
 * `start recording`: 10.5 has no `pause recording`), so paused audio is never captured.
 *
 * Important: the daemon normally reads packets from the kernel module's /proc/rtpengine files;
 * the module cannot be loaded here (no kernel headers, and no module in containers or CI), so
 * the daemon runs in a private mount namespace whose /proc is a folder of named pipes in the
 * same layout, fed in packet mode by feed-fifos.py. Nothing here can drop a call: the recorder
 * only reads files and talks to rtpengine's control port; if the daemon is gone, calls go on
 * and the backend is told ("not recording").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ngRequest } from '../rtpengine-ng.js';

const FEEDER = fileURLToPath(new URL('./feed-fifos.py', import.meta.url));
const DAEMON = '/usr/bin/rtpengine-recording';
const TICK_MS = 500;
const HEALTH_EVERY_MS = 5_000;
/** The daemon finishes a file when its metadata file goes; it gets this long. */
const OUTPUT_WAIT_MS = 30_000;

export interface RecorderOptions {
  runtimeDir: string;
  rtpengineNgPort: number;
  backendUrl: string;
  /** The PBX's CTI bearer token. Important: never logged. */
  ctiToken: string;
  tenant: string;
  log: (line: string) => void;
}

export interface RunningRecorder {
  /** rtpengine's --recording-dir. */
  spoolDir: string;
  /** Process id of the recording daemon, while it runs. */
  daemonPid(): number | undefined;
  /** Resolves when every finished call seen so far has been uploaded (tests wait on it). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** rtpengine's recording flags for startPbx: where it writes pcap and metadata files. */
export function rtpengineRecordingArgs(spoolDir: string): string[] {
  return [`--recording-dir=${spoolDir}`, '--recording-method=pcap', '--recording-format=raw'];
}

interface CallState {
  callId: string;
  /** Paused by the operator: rtpengine's recording is stopped until resumed. */
  stopped: boolean;
  done: boolean;
}

export interface Packet {
  atMs: number;
  localPort: number;
  data: Buffer;
}

/** Packets of a pcap file of rtpengine's (raw IP or Ethernet link type), with their capture time. */
export function readPcap(file: Buffer): Packet[] {
  if (file.length < 24) return [];
  const magic = file.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (offset: number) => (little ? file.readUInt32LE(offset) : file.readUInt32BE(offset));
  const linkType = u32(20);
  const linkHeader = linkType === 1 ? 14 : 0;
  const packets: Packet[] = [];
  let offset = 24;
  while (offset + 16 <= file.length) {
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const length = u32(offset + 8);
    const start = offset + 16;
    offset = start + length;
    if (offset > file.length) break;
    const ip = file.subarray(start + linkHeader, start + length);
    if (ip.length < 28) continue;
    const version = ip[0]! >> 4;
    const ipHeader = version === 4 ? (ip[0]! & 0x0f) * 4 : 40;
    if (ip.length < ipHeader + 8) continue;
    packets.push({ atMs: seconds * 1000 + (nano ? fraction / 1e6 : fraction / 1e3), localPort: ip.readUInt16BE(ipHeader + 2), data: Buffer.from(ip) });
  }
  return packets;
}

/** `a=rtpmap` lines of the SDPs rtpengine wrote into its metadata files: payload type → "opus/48000/2". */
export function payloadTypesOf(metadata: string): Map<number, string> {
  const types = new Map<number, string>();
  for (const match of metadata.matchAll(/^a=rtpmap:(\d{1,3}) ([^\s]+)/gm)) {
    const pt = Number(match[1]);
    if (pt < 128 && !types.has(pt)) types.set(pt, match[2]!);
  }
  return types;
}

/** Silence, 20 ms of it, in the codecs WebRTC phones and trunks use here. */
const SILENCE_20MS: Record<string, { payload: Buffer; clockStep: number }> = {
  // An Opus CELT fullband 20 ms frame that decodes to silence (the classic "silence frame").
  opus: { payload: Buffer.from([0xf8, 0xff, 0xfe]), clockStep: 960 },
  pcmu: { payload: Buffer.alloc(160, 0xff), clockStep: 160 },
  pcma: { payload: Buffer.alloc(160, 0xd5), clockStep: 160 },
};

/**
 * Important: rtpengine 10.5's recording daemon keeps the last second or so of a mixed call in
 * its mixer and encoder when the call closes (it logs "frames left in the queue on closing"),
 * so a file would be that much shorter than the call. Each stream gets this much silence after
 * its last packet, which pushes the call's real end through to the file; what the daemon then
 * drops is silence.
 */
export const TAIL_PADDING_MS = 1_000;

/**
 * Silent RTP packets continuing each stream (same addresses, SSRC and payload type, following
 * sequence numbers and timestamps, 20 ms apart), `paddingMs` long. Streams in a codec without a
 * known silence frame get none.
 */
export function silentTail(packets: Packet[], payloadTypes: Map<number, string>, paddingMs = TAIL_PADDING_MS): Packet[] {
  const last = new Map<number, Packet>();
  for (const packet of packets) {
    const rtp = rtpOffset(packet.data);
    if (rtp === null) continue;
    const pt = packet.data[rtp + 1]! & 0x7f;
    if (!payloadTypes.has(pt)) continue; // RTCP or an unknown payload
    const previous = last.get(packet.localPort);
    if (!previous || packet.atMs >= previous.atMs) last.set(packet.localPort, packet);
  }
  const tail: Packet[] = [];
  for (const packet of last.values()) {
    const rtp = rtpOffset(packet.data)!;
    const pt = packet.data[rtp + 1]! & 0x7f;
    const silence = SILENCE_20MS[(payloadTypes.get(pt) ?? '').split('/')[0]!.toLowerCase()];
    if (!silence) continue;
    const seq = packet.data.readUInt16BE(rtp + 2);
    const timestamp = packet.data.readUInt32BE(rtp + 4);
    const ssrc = packet.data.readUInt32BE(rtp + 8);
    for (let n = 1; n <= Math.ceil(paddingMs / 20); n += 1) {
      const header = Buffer.from(packet.data.subarray(0, rtp));
      const fixed = Buffer.alloc(12);
      fixed.writeUInt8(0x80, 0);
      fixed.writeUInt8(pt, 1);
      fixed.writeUInt16BE((seq + n) & 0xffff, 2);
      fixed.writeUInt32BE((timestamp + n * silence.clockStep) >>> 0, 4);
      fixed.writeUInt32BE(ssrc, 8);
      const data = Buffer.concat([header, fixed, silence.payload]);
      const ipv4 = (data[0]! >> 4) === 4;
      const ipHeader = ipv4 ? (data[0]! & 0x0f) * 4 : 40;
      const udpLength = data.length - ipHeader;
      if (ipv4) {
        data.writeUInt16BE(data.length, 2);
        data.writeUInt16BE(0, 10);
        data.writeUInt16BE(ipv4Checksum(data.subarray(0, ipHeader)), 10);
      } else {
        data.writeUInt16BE(udpLength, 4);
      }
      data.writeUInt16BE(udpLength, ipHeader + 4);
      // Over IPv4 a zero UDP checksum means "none"; the daemon does not check it either way.
      data.writeUInt16BE(0, ipHeader + 6);
      tail.push({ atMs: packet.atMs + n * 20, localPort: packet.localPort, data });
    }
  }
  return tail;
}

/** Where the RTP header starts in an IP packet (IPv4 or IPv6, UDP), or null. */
function rtpOffset(ip: Buffer): number | null {
  const version = ip[0]! >> 4;
  const ipHeader = version === 4 ? (ip[0]! & 0x0f) * 4 : 40;
  const rtp = ipHeader + 8;
  if (ip.length < rtp + 12 || (ip[rtp]! >> 6) !== 2) return null;
  return rtp;
}

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The Call-ID of an rtpengine metadata file name: `rtpengine-meta-<URI-escaped Call-ID>-<16 hex
 * digits>.tmp` in `tmp/` while that stretch is being recorded, `.txt` in `metadata/` once it ended.
 */
export function callIdOfMetaFile(name: string): string | null {
  const match = /^rtpengine-meta-(.+)-[0-9a-f]{16}\.(?:txt|tmp)$/.exec(name);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
}

export async function startRecorder(options: RecorderOptions): Promise<RunningRecorder> {
  const base = path.join(options.runtimeDir, 'recorder');
  const spoolDir = path.join(options.runtimeDir, 'recording-spool');
  const fakeProc = path.join(base, 'proc');
  const callsDir = path.join(fakeProc, 'rtpengine', '0', 'calls');
  const daemonSpool = path.join(base, 'spool');
  const outputDir = path.join(base, 'output');
  for (const dir of [spoolDir, callsDir, daemonSpool, outputDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
  const { log } = options;

  let daemon: ChildProcess | undefined;
  let daemonLog: WriteStream | undefined;
  let daemonProblem = '';
  const startDaemon = (): void => {
    if (!existsSync(DAEMON)) {
      daemonProblem = `${DAEMON} is missing: install the Debian package rtpengine-recording-daemon (scripts/setup.sh)`;
      log(daemonProblem);
      return;
    }
    daemonLog = createWriteStream(path.join(options.runtimeDir, 'rtpengine-recording.log'), { flags: 'a', mode: 0o600 });
    const args = [
      '--foreground', '--log-stderr', '--log-level=5', '--table=0', '--num-threads=2',
      `--spool-dir=${daemonSpool}`, `--output-dir=${outputDir}`, '--output-format=mp3', '--mp3-bitrate=32000',
      '--resample-to=16000', '--output-mixed', '--output-pattern=%c-%t',
    ];
    // A private mount namespace whose /proc is the folder of pipes (see the comment at the top).
    daemon = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /proc && exec "$@"', fakeProc, DAEMON, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    daemon.stdout?.pipe(daemonLog, { end: false });
    daemon.stderr?.pipe(daemonLog, { end: false });
    daemon.once('exit', (code, signal) => {
      daemonProblem = `the recording daemon exited (${signal ?? code})`;
      log(daemonProblem);
      daemon = undefined;
    });
    daemonProblem = '';
  };
  startDaemon();

  const cti = async (method: 'GET' | 'POST', url: string, body?: unknown, contentType = 'application/json'): Promise<Response> =>
    fetch(new URL(url, options.backendUrl), {
      method,
      headers: { authorization: `Bearer ${options.ctiToken}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: body as BodyInit } : {}),
      signal: AbortSignal.timeout(10_000),
    });

  const reportHealth = async (): Promise<void> => {
    const ok = daemon !== undefined && daemonProblem === '';
    try {
      await cti('POST', '/api/cti/recordings/health', JSON.stringify({ tenant: options.tenant, ok, detail: ok ? 'recording' : daemonProblem.slice(0, 300) }));
    } catch {
      // The backend is down: it will hear from us again in a few seconds.
    }
  };

  const calls = new Map<string, CallState>();

  /** Mixes one finished call's stretches with the daemon; resolves with the MP3 file. */
  const mix = async (metaFiles: string[]): Promise<{ file: string; startedAt: number; durationMs: number } | null> => {
    if (!daemon) throw new Error(daemonProblem || 'the recording daemon is not running');
    let metadata = '';
    const packets: Packet[] = [];
    for (const meta of metaFiles) {
      const text = await readFile(meta, 'utf8');
      metadata += `${text}\n`;
      const pcapPath = text.split('\n', 1)[0]!.trim();
      if (pcapPath && existsSync(pcapPath)) packets.push(...readPcap(await readFile(pcapPath)));
    }
    if (packets.length === 0) return null;
    packets.sort((a, b) => a.atMs - b.atMs);
    const startedAt = packets[0]!.atMs;
    const durationMs = Math.round(packets[packets.length - 1]!.atMs - startedAt);
    packets.push(...silentTail(packets, payloadTypesOf(metadata)));
    packets.sort((a, b) => a.atMs - b.atMs);
    const ports = [...new Set(packets.map((p) => p.localPort))];
    const id = randomUUID();
    const parent = path.join(callsDir, id);
    await mkdir(parent, { recursive: true });
    const fifos: string[] = [];
    for (const [index] of ports.entries()) {
      const fifo = path.join(parent, `stream-${index}`);
      await new Promise<void>((resolve, reject) => {
        spawn('mkfifo', ['-m', '0600', fifo]).once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo ${fifo} failed`))));
      });
      fifos.push(fifo);
    }
    const records: Buffer[] = [];
    for (const packet of packets) {
      const head = Buffer.alloc(3);
      head.writeUInt8(ports.indexOf(packet.localPort), 0);
      head.writeUInt16BE(packet.data.length, 1);
      records.push(head, packet.data);
    }
    const packetsFile = path.join(base, `${id}.packets`);
    await writeFile(packetsFile, Buffer.concat(records), { mode: 0o600 });
    const sections = [`CALL-ID\n${id}`, `PARENT\n${id}`, 'RECORDING 1'];
    for (const [index] of ports.entries()) {
      sections.push(`STREAM ${index} interface\nstream-${index}`, `STREAM ${index} details\nTAG ${index} MEDIA ${index} TAG-MEDIA 1 COMPONENT 0 FLAGS 0`, `TAG ${index}\nparty-${index}`);
    }
    for (const [pt, encoding] of payloadTypesOf(metadata)) sections.push(`MEDIA 0 PAYLOAD TYPE ${pt}\n${encoding}`);
    const daemonMeta = path.join(daemonSpool, `${id}.meta`);
    // Each section: a header line, the content's length, the content (the daemon's format).
    await writeFile(daemonMeta, sections.map((s) => {
      const [head, ...rest] = s.split('\n');
      const content = rest.join('\n');
      return `${head}\n${Buffer.byteLength(content)}:\n${content}\n\n`;
    }).join(''), { mode: 0o600 });
    const feeder = spawn('/usr/bin/python3', [FEEDER, packetsFile, ...fifos], { stdio: ['ignore', 'ignore', 'pipe'] });
    let feederErrors = '';
    feeder.stderr?.on('data', (chunk: Buffer) => (feederErrors += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => feeder.kill('SIGKILL'), OUTPUT_WAIT_MS);
      feeder.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    await rm(packetsFile, { force: true });
    if (code !== 0) {
      await rm(daemonMeta, { force: true });
      throw new Error(`feeding the recording daemon failed: ${feederErrors.trim().slice(0, 300)}`);
    }
    // Deleting the metadata file tells the daemon the call is over: it closes the MP3.
    await rm(daemonMeta, { force: true });
    const output = path.join(outputDir, `${id}-mix.mp3`);
    const deadline = Date.now() + OUTPUT_WAIT_MS;
    let lastSize = -1;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the recording daemon wrote no file');
      const size = existsSync(output) ? (await stat(output)).size : -1;
      // The daemon closes the file once every stream ended and the metadata went; a size that
      // stays put across two ticks after that is the finished file.
      if (size > 0 && size === lastSize) break;
      lastSize = size;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await rm(parent, { recursive: true, force: true });
    return { file: output, startedAt, durationMs };
  };

  const upload = async (callId: string, mixed: { file: string; startedAt: number; durationMs: number }): Promise<void> => {
    const query = new URLSearchParams({ tenant: options.tenant, callId, startedAt: new Date(mixed.startedAt).toISOString(), durationMs: String(mixed.durationMs) });
    const response = await cti('POST', `/api/cti/recordings?${query}`, await readFile(mixed.file), 'audio/mpeg');
    const text = await response.text();
    if (!response.ok) throw new Error(`the backend refused the recording: ${response.status} ${text.slice(0, 200)}`);
    log(`recording of ${callId}: ${text.slice(0, 200)}`);
  };

  const finishCall = async (state: CallState, metaFiles: string[]): Promise<void> => {
    try {
      const mixed = await mix(metaFiles);
      if (mixed) {
        await upload(state.callId, mixed);
        await rm(mixed.file, { force: true });
      }
    } catch (error) {
      log(`recording of ${state.callId} lost: ${(error as Error).message}`);
    }
    for (const meta of metaFiles) {
      const pcapPath = (await readFile(meta, 'utf8').catch(() => '')).split('\n', 1)[0]!.trim();
      if (pcapPath.startsWith(spoolDir)) await rm(pcapPath, { force: true });
      await rm(meta, { force: true });
    }
    state.done = true;
  };

  const tick = async (): Promise<void> => {
    const metaDir = path.join(spoolDir, 'metadata');
    const tmpDir = path.join(spoolDir, 'tmp');
    const names = existsSync(metaDir) ? await readdir(metaDir) : [];
    const recordingNow = new Set((existsSync(tmpDir) ? await readdir(tmpDir) : []).map(callIdOfMetaFile).filter((id): id is string => id !== null));
    const byCall = new Map<string, string[]>();
    for (const name of names) {
      const callId = callIdOfMetaFile(name);
      if (callId === null) continue;
      byCall.set(callId, [...(byCall.get(callId) ?? []), path.join(metaDir, name)]);
    }
    for (const callId of recordingNow) if (!byCall.has(callId)) byCall.set(callId, []);
    for (const [callId, metaFiles] of byCall) {
      let state = calls.get(callId);
      if (!state) {
        state = { callId, stopped: false, done: false };
        calls.set(callId, state);
      }
      if (state.done) continue;
      const query = await ngRequest(options.rtpengineNgPort, { command: 'query', 'call-id': callId });
      if (query?.result === 'ok') {
        await followPause(state);
        continue;
      }
      if (query === undefined || recordingNow.has(callId) || metaFiles.length === 0) continue; // ask again next tick
      metaFiles.sort();
      await finishCall(state, metaFiles);
    }
    for (const [callId, state] of calls) if (state.done && !byCall.has(callId)) calls.delete(callId);
  };

  const followPause = async (state: CallState): Promise<void> => {
    let paused: boolean;
    try {
      const response = await cti('GET', `/api/cti/recordings/command?${new URLSearchParams({ tenant: options.tenant, callId: state.callId })}`);
      if (!response.ok) return;
      paused = ((await response.json()) as { paused: boolean }).paused === true;
    } catch {
      return;
    }
    if (paused === state.stopped) return;
    const reply = await ngRequest(options.rtpengineNgPort, { command: paused ? 'stop recording' : 'start recording', 'call-id': state.callId });
    if (reply?.result === 'ok') {
      state.stopped = paused;
      log(`recording of ${state.callId} ${paused ? 'paused' : 'resumed'}`);
    }
  };

  let stopping = false;
  let running: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    running = running.then(tick).catch((error: unknown) => log(`recorder: ${(error as Error).message}`));
  };
  const ticker = setInterval(() => {
    if (!stopping) schedule();
  }, TICK_MS);
  const health = setInterval(() => void reportHealth(), HEALTH_EVERY_MS);
  void reportHealth();

  return {
    spoolDir,
    daemonPid: () => daemon?.pid,
    async settled() {
      schedule();
      await running;
    },
    async stop() {
      stopping = true;
      clearInterval(ticker);
      clearInterval(health);
      await running;
      const child = daemon;
      if (child?.pid !== undefined) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
        await exited;
      }
      daemonLog?.end();
    },
  };
}
