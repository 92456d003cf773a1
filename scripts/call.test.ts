import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueSipCredentials } from '../pbx/credentials.js';
import { freeUdpPort } from '../pbx/test-support/free-port.js';
import { RawSipClient, webRtcLikeSdp } from '../pbx/test-support/raw-sip-client.js';
import { headerValue } from '../pbx/sip-message.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { boundedScenario, CallUsageError, parseCallArgs } from './call.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface CallRun {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `npm run call -- …` as a newcomer runs it, against the test PBX's trunk port. */
function runCall(args: string[], udpPort: number, tmpDir?: string): CallRun {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'call.ts'), ...args], {
    cwd: root,
    env: { ...process.env, TSUNAGU_PBX_UDP_PORT: String(udpPort), ...(tmpDir ? { TMPDIR: tmpDir } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    done: new Promise((resolve) =>
      child.once('close', (code) => {
        clearTimeout(killer);
        resolve({ code, stdout, stderr });
      }),
    ),
  };
}

/** What the call script left in the temporary folder (tsx keeps its own cache there too). */
function callFolders(tmp: string): string[] {
  return fs.readdirSync(tmp).filter((name) => name.startsWith('tsunagu-call-'));
}

describe('npm run call', () => {
  let pbx: TestPbx;
  const clients: RawSipClient[] = [];

  beforeAll(async () => {
    pbx = await startTestPbx();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await pbx?.stop();
  });

  async function registeredAgent(user: string): Promise<RawSipClient> {
    const agent = await RawSipClient.connect(pbx.wsUrl, { user });
    clients.push(agent);
    const credentials = issueSipCredentials({ secret: pbx.secret, user, ttlSeconds: 300, now: new Date() });
    expect((await agent.register({ credentials })).status).toBe(200);
    return agent;
  }

  it('calls the agent from the number, and hangs up by itself after the given time', async () => {
    // Named by login and tenant, as an operator knows them; the SIP user is the backend's.
    const agent = await registeredAgent('call-agent-1.acme');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'call-test-'));
    const run = runCall(['03-1234-5678', '--agent', 'call-agent-1', '--tenant', 'acme', '--seconds', '2'], pbx.udpPort, tmp);
    const invite = await agent.waitForRequest('INVITE', 20_000);
    expect(headerValue(invite, 'P-Asserted-Identity')).toBe('<sip:0312345678@127.0.0.1>');
    expect(headerValue(invite, 'X-Customer-Id')).toBeUndefined();
    agent.reply(invite, 180, 'Ringing');
    agent.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
    await agent.waitForRequest('ACK');
    const bye = await agent.waitForRequest('BYE', 20_000);
    agent.reply(bye, 200, 'OK');
    const result = await run.done;
    // Exit 0 also means the PBX answered the trunk side with plain RTP (the scenario checks it).
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('the caller hung up');
    expect(callFolders(tmp)).toEqual([]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sends the IVR customer id with --customer-id, and lets the agent hang up first', async () => {
    const agent = await registeredAgent('2002');
    const run = runCall(['+81312345678', '--sip-user', '2002', '--customer-id', 'C-0001', '--seconds', '30'], pbx.udpPort);
    const invite = await agent.waitForRequest('INVITE', 20_000);
    expect(headerValue(invite, 'X-Customer-Id')).toBe('C-0001');
    expect(headerValue(invite, 'P-Asserted-Identity')).toContain('sip:+81312345678@');
    agent.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
    await agent.waitForRequest('ACK');
    expect((await agent.bye(agent.dialogOfIncoming(invite))).status).toBe(200);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('the agent hung up');
  });

  it('gives up ringing after the given time with a CANCEL', async () => {
    const agent = await registeredAgent('call-agent-3.demo');
    const run = runCall(['0312345678', '--agent', 'call-agent-3', '--seconds', '1'], pbx.udpPort);
    const invite = await agent.waitForRequest('INVITE', 20_000);
    agent.reply(invite, 180, 'Ringing');
    const cancel = await agent.waitForRequest('CANCEL', 20_000);
    agent.reply(cancel, 200, 'OK');
    agent.reply(invite, 487, 'Request Terminated');
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('nobody answered');
  });

  it('says why when the agent is not registered, or there is no PBX', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'call-test-'));
    const unregistered = await runCall(['0312345678', '--agent', 'nobody-here', '--seconds', '5'], pbx.udpPort, tmp).done;
    expect(unregistered.code).toBe(1);
    expect(unregistered.stdout).toMatch(/nobody-here\.demo did not take the call: 480/);
    // A failed call leaves nothing behind either, unless asked to.
    expect(callFolders(tmp)).toEqual([]);
    const kept = await runCall(['0312345678', '--agent', 'nobody-here', '--seconds', '5', '--keep-logs'], pbx.udpPort, tmp).done;
    expect(kept.stdout).toMatch(/SIPp logs in .*tsunagu-call-/);
    expect(callFolders(tmp)).toHaveLength(1);
    fs.rmSync(tmp, { recursive: true, force: true });

    const noPbx = await runCall(['0312345678'], await freeUdpPort()).done;
    expect(noPbx.code).toBe(2);
    expect(noPbx.stderr).toMatch(/no PBX answers on udp 127\.0\.0\.1:\d+/);
  });
});

describe('call arguments and scenario', () => {
  it('names what is wrong with the arguments', () => {
    const error = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      try {
        parseCallArgs(argv, env);
      } catch (caught) {
        expect(caught).toBeInstanceOf(CallUsageError);
        return (caught as Error).message;
      }
      return null;
    };
    expect(parseCallArgs(['03-1234-5678'], {})).toEqual({ number: '0312345678', sipUser: 'agent1.demo', seconds: 30, udpPort: 5060, keepLogs: false });
    expect(parseCallArgs(['03-1234-5678', '--keep-logs'], {})).toMatchObject({ keepLogs: true });
    expect(parseCallArgs(['0312345678', '--agent', 'agent1', '--tenant', 'other'], {}).sipUser).toBe('agent1.other');
    expect(parseCallArgs(['0312345678', '--sip-user', '2001'], {}).sipUser).toBe('2001');
    expect(parseCallArgs(['0312345678', '--queue'], {}).sipUser).toBe('0120555001');
    expect(parseCallArgs(['0312345678', '--queue', '--tenant', 'other'], {}).sipUser).toBe('0120555002');
    expect(error(['0312345678', '--queue', '--tenant', 'nowhere'])).toMatch(/^--queue:/);
    expect(error(['0312345678', '--queue', '--sip-user', '2001'])).toMatch(/^--queue and --sip-user/);
    expect(error(['0312345678', '--sip-user', '2001\r\nX-Evil: 1'])).toMatch(/^--sip-user:/);
    expect(error([])).toMatch(/^number:/);
    expect(error(['0312345678', '0312345679'])).toMatch(/one number only/);
    expect(error(['call-me-maybe'])).toMatch(/^number:/);
    expect(error(['0312345678', '--agent', 'agent1\r\nX-Evil: 1'])).toMatch(/^--agent:/);
    expect(error(['0312345678', '--customer-id', 'C 1'])).toMatch(/^--customer-id:/);
    expect(error(['0312345678', '--seconds', '0'])).toMatch(/^--seconds:/);
    expect(error(['0312345678', '--loud'])).toMatch(/loud/);
    expect(error(['0312345678'], { TSUNAGU_PBX_UDP_PORT: 'udp' })).toMatch(/^TSUNAGU_PBX_UDP_PORT:/);
  });

  it('takes an anonymous caller with the digits to key in, and refuses mixed-up options', () => {
    const error = (argv: string[]): string | null => {
      try {
        parseCallArgs(argv, {});
      } catch (caught) {
        expect(caught).toBeInstanceOf(CallUsageError);
        return (caught as Error).message;
      }
      return null;
    };
    expect(parseCallArgs(['--anonymous', '--digits', '0001'], {})).toMatchObject({ number: null, digits: '0001#', sipUser: 'agent1.demo' });
    expect(parseCallArgs(['--anonymous', '--digits', '0001#'], {}).digits).toBe('0001#');
    expect(error(['--anonymous'])).toMatch(/^--digits:/);
    expect(error(['--anonymous', '--digits', '12a'])).toMatch(/^--digits:/);
    expect(error(['--anonymous', '--digits', '1'.repeat(21)])).toMatch(/^--digits:/);
    expect(error(['0312345678', '--anonymous', '--digits', '1'])).toMatch(/^--anonymous:/);
    expect(error(['0312345678', '--digits', '1'])).toMatch(/^--digits: only with --anonymous/);
    expect(error(['--anonymous', '--digits', '1', '--customer-id', 'C1'])).toMatch(/^--customer-id:/);
  });

  it('bounds both shipped scenarios, and refuses a scenario of another shape', () => {
    for (const file of ['trunk-call.xml', 'ivr-call.xml', 'anonymous-call.xml']) {
      const xml = fs.readFileSync(path.join(root, 'pbx', 'sipp', file), 'utf8');
      const bounded = boundedScenario(xml, { talkMs: 7000 });
      expect(bounded).toContain('<recv request="BYE" timeout="7000" ontimeout="9"/>');
      expect(bounded).toMatch(/BYE \[next_url\] SIP\/2\.0\s+Via:[^\n]*\n\s+\[routes\]/);
      expect(bounded.match(/<\/scenario>/g)).toHaveLength(1);
    }
    expect(() => boundedScenario('<scenario></scenario>', { talkMs: 1 })).toThrow(/shape/);
  });
});
