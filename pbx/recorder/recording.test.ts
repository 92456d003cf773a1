import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingsDb } from '../../backend/src/recordings/schema.js';
import { startTelephonyBackend, type TelephonyBackend } from '../../backend/src/telephony/test-support.js';
import { RECORDING_API } from '../../shared/recordings.js';
import { issueSipCredentials } from '../credentials.js';
import { runSipp, SIPP_SCENARIOS } from '../test-support/sipp.js';
import { startTestPbx, type TestPbx } from '../test-support/test-pbx.js';
import { waitFor } from '../test-support/wait.js';
import { launchAgentBrowser, type AgentBrowser, type AgentPage } from '../test-support/webrtc-agent.js';

const run = promisify(execFile);

/** Duration of an MP3 file in ms, as sox reads it (libsox's mp3 support is not installed: soxi on a WAV from the daemon's own decoder is not available either, so the frames are counted). */
function mp3DurationMs(file: Buffer): number {
  const bitrates = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
  const rates: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
  let offset = 0;
  if (file.subarray(0, 3).toString('latin1') === 'ID3') offset = 10 + ((file[6]! << 21) | (file[7]! << 14) | (file[8]! << 7) | file[9]!);
  let ms = 0;
  while (offset + 4 <= file.length) {
    if (file[offset] !== 0xff || (file[offset + 1]! & 0xe0) !== 0xe0) {
      offset += 1;
      continue;
    }
    const version = (file[offset + 1]! >> 3) & 0x03;
    const rate = rates[version]?.[(file[offset + 2]! >> 2) & 0x03];
    const kbps = version === 3 ? [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320][file[offset + 2]! >> 4] : bitrates[file[offset + 2]! >> 4];
    if (!rate || !kbps) {
      offset += 1;
      continue;
    }
    const samples = version === 3 ? 1152 : 576;
    const padding = (file[offset + 2]! >> 1) & 0x01;
    const length = Math.floor((samples / 8) * kbps * 1000 / rate) + padding;
    ms += (samples * 1000) / rate;
    offset += length;
  }
  return Math.round(ms);
}

describe('calls through the dev PBX are recorded', () => {
  let t: TelephonyBackend;
  let pbx: TestPbx;
  let browser: AgentBrowser;

  beforeAll(async () => {
    t = await startTelephonyBackend('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    if (!address || typeof address === 'string') throw new Error('backend has no TCP address');
    const admin = await t.backend.login('admin');
    expect((await t.call('PUT', RECORDING_API.settings, { token: admin, body: { policy: { mode: 'all' }, retentionDays: 30 } })).statusCode).toBe(200);
    pbx = await startTestPbx({ recording: { backendUrl: `http://127.0.0.1:${address.port}`, ctiToken: t.ctiToken, tenant: 'demo' } });
    browser = await launchAgentBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await pbx?.stop();
    await t?.dispose();
  });

  function openAgent(user: string): Promise<AgentPage> {
    const credentials = issueSipCredentials({ secret: pbx.secret, user, ttlSeconds: 600, now: new Date() });
    return browser.openAgent({ user, wsUrl: pbx.wsUrl, credentials });
  }

  it('mixes a trunk caller and a browser agent into one MP3 of the call\'s length, stored with its hash', async () => {
    const agent = await openAgent('rec-agent-1');
    const caller = await runSipp({
      scenario: SIPP_SCENARIOS.ivrCall,
      target: `127.0.0.1:${pbx.udpPort}`,
      service: agent.user,
      keys: { caller: '0312345678', customer_id: 'cust-rec' },
      logDir: pbx.runtimeDir,
    });
    try {
      await waitFor(() => agent.snapshot(), (s) => s.session === 'Established', 'the agent to answer');
      const answeredAt = Date.now();
      await waitFor(() => agent.inboundAudio(), (audio) => audio.energy > 0 && Date.now() - answeredAt > 4000, 'four seconds of audio at the agent', 20_000);
      await agent.hangUp();
      const hungUpAt = Date.now();
      expect((await caller.done).exitCode).toBe(0);
      const rows = await waitFor(
        () => recordingsDb(t.backend.handle.db).selectFrom('recordings').selectAll().execute(),
        (found) => found.length === 1,
        'the recording to reach the backend',
        60_000,
      );
      const row = rows[0]!;
      const file = await readFile(path.join(t.backend.config.recordings.dir, row.file_name));
      expect(createHash('sha256').update(file).digest('hex')).toBe(row.sha256);
      const { stdout } = await run('file', ['-b', path.join(t.backend.config.recordings.dir, row.file_name)]);
      expect(stdout).toMatch(/MPEG ADTS, layer III|Audio file with ID3/);
      const callMs = hungUpAt - answeredAt;
      expect(Math.abs(row.duration_ms - callMs)).toBeLessThan(1000);
      expect(Math.abs(mp3DurationMs(file) - callMs)).toBeLessThan(1000);
    } finally {
      caller.kill();
    }
  });
});
