/**
 * Runs one SIPp call (a scenario from pbx/sipp/) against the dev
 * PBX's UDP trunk side, bounded by a global timeout, and reports how it ended.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from './free-port.js';

export const SIPP_SCENARIOS = {
  trunkCall: fileURLToPath(new URL('../sipp/trunk-call.xml', import.meta.url)),
  ivrCall: fileURLToPath(new URL('../sipp/ivr-call.xml', import.meta.url)),
  anonymousCall: fileURLToPath(new URL('../sipp/anonymous-call.xml', import.meta.url)),
  trunkAnswer: fileURLToPath(new URL('../sipp/trunk-answer.xml', import.meta.url)),
  unansweredCall: fileURLToPath(new URL('../sipp/unanswered-call.xml', import.meta.url)),
  abandonedCall: fileURLToPath(new URL('../sipp/abandoned-call.xml', import.meta.url)),
} as const;

const DTMF_PCAP_DIR = '/usr/share/sip-tester';
const KEY_PRESSES_MARK = '<!-- KEY_PRESSES -->';
/** Long enough for one recorded key press (about 150 ms) to be sent before the next starts. */
const KEY_GAP_MS = 300;

/**
 * The scenario with one RFC 4733 key press per key where it says KEY_PRESSES (the recordings
 * Debian's sip-tester ships). SIPp plays a pcap in the background and stops the one still
 * playing when the next starts, so the presses are paused apart.
 */
export function withDtmfKeys(xml: string, keys: string): string {
  if (!xml.includes(KEY_PRESSES_MARK)) throw new Error('the SIPp scenario has no KEY_PRESSES mark');
  if (!/^[0-9*#]{1,40}$/.test(keys)) throw new Error('keys must be 1-40 of 0-9 * #');
  // No pause after the last key: the far end may answer it at once, and SIPp takes a reply
  // that arrives during a pause as unexpected.
  const presses = [...keys]
    .map((key) => {
      const name = key === '#' ? 'pound' : key === '*' ? 'star' : key;
      return `<nop><action><exec play_pcap_audio="${DTMF_PCAP_DIR}/dtmf_2833_${name}.pcap"/></action></nop>`;
    })
    .join(`\n  <pause milliseconds="${KEY_GAP_MS}"/>\n  `);
  return xml.replace(KEY_PRESSES_MARK, presses);
}

export interface SippOptions {
  /** A scenario file, e.g. one of SIPP_SCENARIOS. */
  scenario: string;
  /** Where SIPp sends its first request, e.g. `127.0.0.1:5060`; omit for a callee. */
  target?: string;
  /** The user part of the Request-URI ([service]). */
  service?: string;
  keys?: Record<string, string>;
  /** Local SIP port; a free one when omitted. */
  localPort?: number;
  /** Directory for SIPp's message and error logs. */
  logDir: string;
  timeoutSeconds?: number;
}

export interface SippResult {
  exitCode: number | null;
  /** Every SIP message SIPp sent and received. */
  messages: string;
  /** Unexpected messages and scenario failures; empty after a clean run. */
  errors: string;
  stderr: string;
}

export interface SippRun {
  localPort: number;
  mediaPort: number;
  done: Promise<SippResult>;
  /** Stops SIPp early (the run then ends with a failure exit code). */
  kill(): void;
}

export async function runSipp(options: SippOptions): Promise<SippRun> {
  const localPort = options.localPort ?? (await freeUdpPort());
  const mediaPort = await freeUdpPort();
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  const name = path.basename(options.scenario, '.xml');
  const messageFile = path.join(options.logDir, `sipp-${name}-${localPort}-messages.log`);
  const errorFile = path.join(options.logDir, `sipp-${name}-${localPort}-errors.log`);
  const args = [
    ...(options.target ? [options.target] : []),
    '-sf', options.scenario,
    ...(options.service ? ['-s', options.service] : []),
    '-m', '1',
    '-i', '127.0.0.1',
    '-p', String(localPort),
    '-mi', '127.0.0.1',
    '-mp', String(mediaPort),
    '-nostdin',
    '-timeout', `${timeoutSeconds}s`,
    '-timeout_error',
    '-trace_msg', '-message_file', messageFile,
    '-trace_err', '-error_file', errorFile,
    ...Object.entries(options.keys ?? {}).flatMap(([key, value]) => ['-key', key, value]),
  ];
  const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // SIPp's own -timeout does not fire while it plays a pcap: this one always does.
  const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 5) * 1000);
  const done = new Promise<SippResult>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      void Promise.all([readOptional(messageFile), readOptional(errorFile)]).then(([messages, errors]) =>
        resolve({ exitCode: code, messages, errors, stderr }),
      );
    });
  });
  return {
    localPort,
    mediaPort,
    done,
    kill: () => {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    },
  };
}

async function readOptional(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}
