/**
 * `npm run call -- <number> [--agent agent1] [--tenant demo | --sip-user 2001 | --queue] [--customer-id ID] [--seconds 30] [--keep-logs]`
 * `npm run call -- --anonymous --digits <customer number> [--agent … | --queue] [--seconds 30] [--keep-logs]`
 *
 * Places a call from <number> to an agent through the dev PBX that `npm start` runs, the way
 * a customer's call arrives from the phone network: SIPp on the PBX's UDP trunk side, plain
 * RTP with the G.711 recording SIPp ships (bridged to the agent's WebRTC by rtpengine). With
 * --customer-id the call carries a fixed X-Customer-Id and a P-Asserted-Identity as an upstream
 * IVR would send them (pbx/sipp/ivr-call.xml; a test helper), otherwise it is a plain trunk call
 * (pbx/sipp/trunk-call.xml). With --anonymous the caller withholds their number (From
 * anonymous, Privacy: id), so the dev PBX's own IVR (pbx/media-ua/) answers first; the caller
 * keys in --digits as RFC 4733 telephone-events and the agent's phone then rings with the
 * customer the IVR found (pbx/sipp/anonymous-call.xml).
 *
 * The call is bounded: it rings for at most --seconds, and once answered the caller hangs up
 * after --seconds unless the agent hangs up first. TSUNAGU_PBX_UDP_PORT names the trunk port.
 * The agent is named by login and tenant (their SIP user is derived as the backend derives it,
 * shared/sip-identity.ts), or by an extension an admin assigned (--sip-user). With --queue the
 * call goes to the tenant's queue number instead (pbx/dev-queues.ts): the PBX asks the backend
 * whom to ring, then rings them one after the other.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { probeSipOptions } from '../pbx/pbx.js';
import { DEV_QUEUE_NUMBERS } from '../pbx/dev-queues.js';
import { freeUdpPort } from '../pbx/test-support/free-port.js';
import { withDtmfKeys } from '../pbx/test-support/sipp.js';
import { SIP_USER_PATTERN, tenantSipUser } from '../shared/sip-identity.js';
import { describeZodError } from '../shared/validation.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = {
  trunk: path.join(root, 'pbx', 'sipp', 'trunk-call.xml'),
  ivr: path.join(root, 'pbx', 'sipp', 'ivr-call.xml'),
  anonymous: path.join(root, 'pbx', 'sipp', 'anonymous-call.xml'),
} as const;
const DEFAULT_UDP_PORT = 5060;
/** SIPp gets this long on top of ringing and talking before it is killed. */
const GRACE_SECONDS = 10;

const PhoneNumber = z
  .string({ error: 'give the number to call from, e.g. npm run call -- 03-1234-5678 (or --anonymous)' })
  .transform((value) => value.replace(/[\s\-()]/g, ''))
  .pipe(z.string().regex(/^\+?\d{2,20}$/, 'must be a phone number such as 03-1234-5678 or +81312345678'));

const CallOptions = z.object({
  /** null: the caller withholds their number (--anonymous). */
  number: PhoneNumber.nullable(),
  /** What the anonymous caller keys in to the IVR, ending with #. */
  digits: z
    .string()
    .regex(/^\d{1,20}#?$/, 'must be the customer number as keyed in: 1-20 digits, optionally ending with #')
    .transform((value) => (value.endsWith('#') ? value : `${value}#`))
    .optional(),
  sipUser: z.string().regex(SIP_USER_PATTERN, 'must be an agent\'s SIP user such as agent1.demo or 2001'),
  customerId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ -').optional(),
  seconds: z.coerce.number().int('must be a whole number of seconds').min(1).max(3600),
  udpPort: z.coerce.number().int().min(1).max(65_535),
  /** Keeps SIPp's scenario and traces in their temporary folder (and names it) after the call. */
  keepLogs: z.boolean(),
});
export type CallOptions = z.infer<typeof CallOptions>;

export class CallUsageError extends Error {}

export function parseCallArgs(argv: string[], env: NodeJS.ProcessEnv): CallOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        agent: { type: 'string', default: 'agent1' },
        tenant: { type: 'string', default: 'demo' },
        'sip-user': { type: 'string' },
        queue: { type: 'boolean', default: false },
        'customer-id': { type: 'string' },
        anonymous: { type: 'boolean', default: false },
        digits: { type: 'string' },
        seconds: { type: 'string', default: '30' },
        'keep-logs': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new CallUsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.positionals.length > 1) throw new CallUsageError(`one number only, got: ${parsed.positionals.join(' ')}`);
  const { anonymous } = parsed.values;
  if (anonymous && parsed.positionals.length > 0) throw new CallUsageError('--anonymous: the caller withholds their number; give no number');
  if (anonymous && parsed.values['customer-id'] !== undefined) throw new CallUsageError('--customer-id: not with --anonymous (the IVR finds the customer from --digits)');
  if (anonymous && parsed.values.digits === undefined) throw new CallUsageError('--digits: give the customer number the anonymous caller keys in to the IVR');
  if (!anonymous && parsed.values.digits !== undefined) throw new CallUsageError('--digits: only with --anonymous');
  if (parsed.values.queue && parsed.values['sip-user'] !== undefined) throw new CallUsageError('--queue and --sip-user: give one of them');
  const queueNumber = parsed.values.queue ? DEV_QUEUE_NUMBERS[parsed.values.tenant] : undefined;
  if (parsed.values.queue && queueNumber === undefined) {
    throw new CallUsageError(`--queue: the dev PBX has queue numbers for ${Object.keys(DEV_QUEUE_NUMBERS).join(', ')} only`);
  }
  const sipUser = queueNumber ?? parsed.values['sip-user'] ?? tenantSipUser(parsed.values.agent, parsed.values.tenant);
  if (sipUser === null) {
    throw new CallUsageError('--agent: must be a login that can be a SIP user (letters, digits, . _ ~ + -) and --tenant a slug without dots; or give --sip-user');
  }
  const result = CallOptions.safeParse({
    number: anonymous ? null : parsed.positionals[0],
    ...(parsed.values.digits !== undefined ? { digits: parsed.values.digits } : {}),
    sipUser,
    customerId: parsed.values['customer-id'],
    seconds: parsed.values.seconds,
    udpPort: env.TSUNAGU_PBX_UDP_PORT || DEFAULT_UDP_PORT,
    keepLogs: parsed.values['keep-logs'],
  });
  if (!result.success) {
    throw new CallUsageError(
      describeZodError(result.error).replace(/^customerId/, '--customer-id').replace(/^digits/, '--digits').replace(/^udpPort/, 'TSUNAGU_PBX_UDP_PORT').replace(/^sipUser/, '--sip-user').replace(/^seconds/, '--seconds'),
    );
  }
  return result.data;
}

/**
 * The scenario with the conversation bounded. The files in pbx/sipp/ wait for the callee to
 * hang up; here the callee's BYE is awaited at most `talkMs`, after which the caller sends its
 * own BYE. That BYE must follow the route set the PBX recorded ([routes], [next_url]): the BYE
 * SIPp sends by itself when it aborts a call carries no Route, and the PBX answers it 404.
 * (Ringing is bounded by SIPp's -recv_timeout: an unanswered call is aborted with a CANCEL,
 * which needs no route.)
 */
export function boundedScenario(xml: string, { talkMs }: { talkMs: number }): string {
  const hangUp = '<recv request="BYE"/>';
  const from = /^\s*From: ((?:"[^"\n]*" )?<sip:[^>\n]+>;tag=[^\n]*)$/m.exec(xml)?.[1];
  if (!xml.includes('rrs="true"') || xml.split(hangUp).length !== 2 || !from || !xml.includes('</scenario>')) {
    throw new Error('the SIPp scenario no longer has the shape scripts/call.ts expects (a 200 with rrs, one BYE wait, a From with a tag)');
  }
  const callerBye = `
  <nop next="10"/>

  <label id="9"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: ${from}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>

  <label id="10"/>
</scenario>`;
  return xml
    .replace(hangUp, `<recv request="BYE" timeout="${talkMs}" ontimeout="9"/>`)
    .replace('</scenario>', callerBye);
}

export interface CallOutcome {
  /** How the call went, in words for the terminal. */
  summary: string;
  ok: boolean;
  /** SIPp's folder, when it was kept (--keep-logs); otherwise it is already deleted. */
  logDir: string | null;
}

/** The first final response to the INVITE that is not a 200, from SIPp's message trace. */
function refusal(messages: string): string | null {
  const match = /^SIP\/2\.0 ([3-6]\d\d) ([^\r\n]*)[\s\S]*?^CSeq:\s*1 INVITE/m.exec(messages);
  return match ? `${match[1]} ${match[2]}` : null;
}

export async function placeCall(options: CallOptions, say: (line: string) => void): Promise<CallOutcome> {
  if (!(await probeSipOptions(options.udpPort, 1000))) {
    throw new CallUsageError(`no PBX answers on udp 127.0.0.1:${options.udpPort}: start it with npm start (or set TSUNAGU_PBX_UDP_PORT)`);
  }
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-call-'));
  try {
    const outcome = await runSipp(options, logDir, say);
    if (options.keepLogs) return { ...outcome, logDir, summary: `${outcome.summary}; SIPp logs in ${logDir}` };
    return { ...outcome, logDir: null };
  } finally {
    // Important: every run used to leave its folder in /tmp; only --keep-logs keeps it now.
    if (!options.keepLogs) fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/** The last lines of SIPp's error trace, so a failed call says why without its folder. */
function lastErrors(errorFile: string): string {
  if (!fs.existsSync(errorFile)) return '';
  const lines = fs.readFileSync(errorFile, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.slice(-3).join(' | ');
}

async function runSipp(options: CallOptions, logDir: string, say: (line: string) => void): Promise<Omit<CallOutcome, 'logDir'>> {
  const file = options.number === null ? SCENARIOS.anonymous : options.customerId ? SCENARIOS.ivr : SCENARIOS.trunk;
  let source = fs.readFileSync(file, 'utf8');
  if (options.digits !== undefined) source = withDtmfKeys(source, options.digits);
  const scenario = path.join(logDir, 'call.xml');
  fs.writeFileSync(scenario, boundedScenario(source, { talkMs: options.seconds * 1000 }));
  const messageFile = path.join(logDir, 'messages.log');
  const errorFile = path.join(logDir, 'errors.log');
  const [localPort, mediaPort] = [await freeUdpPort(), await freeUdpPort()];
  const args = [
    `127.0.0.1:${options.udpPort}`,
    '-sf', scenario,
    '-s', options.sipUser,
    ...(options.number !== null ? ['-key', 'caller', options.number] : []),
    ...(options.customerId ? ['-key', 'customer_id', options.customerId] : []),
    '-m', '1',
    '-i', '127.0.0.1',
    '-p', String(localPort),
    '-mi', '127.0.0.1',
    '-mp', String(mediaPort),
    '-nostdin',
    '-recv_timeout', String(options.seconds * 1000),
    '-trace_msg', '-message_file', messageFile,
    '-trace_err', '-error_file', errorFile,
  ];
  const from = options.number === null ? `a withheld number, keying in ${options.digits ?? ''} to the IVR,` : options.number;
  say(
    `calling ${options.sipUser} from ${from}${options.customerId ? ` (IVR customer id ${options.customerId})` : ''} ` +
      `through 127.0.0.1:${options.udpPort}; rings up to ${options.seconds} s, hangs up ${options.seconds} s after the answer`,
  );
  const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), (2 * options.seconds + GRACE_SECONDS) * 1000);
  const stopOnSignal = () => child.kill('SIGTERM');
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  clearTimeout(killer);
  process.off('SIGINT', stopOnSignal);
  process.off('SIGTERM', stopOnSignal);
  if (exit.error) {
    throw new CallUsageError(`cannot run sipp (${exit.error.message}): install the Debian package sip-tester (npm run setup does)`);
  }
  const messages = fs.existsSync(messageFile) ? fs.readFileSync(messageFile, 'utf8') : '';
  const answered = /^SIP\/2\.0 200[^\r\n]*[\s\S]*?^CSeq:\s*1 INVITE/m.test(messages);
  const callerHungUp = /^UDP message sent[^\n]*\n\s*BYE /m.test(messages);
  if (exit.code === 0) {
    return { ok: true, summary: callerHungUp ? `answered; the caller hung up after ${options.seconds} s` : 'answered; the agent hung up' };
  }
  const refused = refusal(messages);
  const summary = refused
    ? `${options.sipUser} did not take the call: ${refused}${refused.startsWith('480') ? ' (is the agent logged in and registered?)' : ''}`
    : answered
      ? `the call ended abnormally${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`
      : `nobody answered within ${options.seconds} s`;
  const errors = refused ? '' : lastErrors(errorFile);
  const hint = options.keepLogs ? '' : ' (run again with --keep-logs to keep SIPp\'s traces)';
  return { ok: false, summary: `${summary}${errors ? `; SIPp: ${errors}` : ''}${hint}` };
}

async function main(): Promise<number> {
  const say = (line: string) => process.stdout.write(`call: ${line}\n`);
  try {
    const outcome = await placeCall(parseCallArgs(process.argv.slice(2), process.env), say);
    say(outcome.summary);
    return outcome.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof CallUsageError) {
      process.stderr.write(
        `call: ${error.message}\nusage: npm run call -- <number> [--agent agent1] [--tenant demo | --sip-user 2001] [--customer-id ID] [--seconds 30] [--keep-logs]\n` +
          '       npm run call -- --anonymous --digits <customer number> [--agent agent1] [--tenant demo | --sip-user 2001] [--seconds 30] [--keep-logs]\n',
      );
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code), (error: unknown) => {
    process.stderr.write(`call: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
