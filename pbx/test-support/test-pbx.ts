/**
 * The dev PBX for a test: its own temporary runtime directory, free loopback ports and a
 * random shared secret, so tests can run beside a developer's `npm start` PBX.
 * stop() deletes a runtime directory it created, logs included, unless
 * TSUNAGU_KEEP_TEST_LOGS=1 (then the path is printed).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPbx, type PbxOptions, type RunningPbx } from '../pbx.js';
import { freeTcpPort, freeUdpPort } from './free-port.js';

export interface TestPbx extends RunningPbx {
  secret: string;
}

export async function startTestPbx(overrides: Partial<PbxOptions> = {}): Promise<TestPbx> {
  const ownsRuntimeDir = overrides.runtimeDir === undefined;
  const runtimeDir = overrides.runtimeDir ?? (await mkdtemp(path.join(os.tmpdir(), 'tsunagu-pbx-test-')));
  const secret = overrides.secret ?? randomBytes(24).toString('hex');
  const wsPort = overrides.wsPort ?? (await freeTcpPort());
  let udpPort = overrides.udpPort ?? (await freeUdpPort());
  while (udpPort === wsPort) udpPort = await freeUdpPort();
  let rtpengineNgPort = overrides.rtpengineNgPort ?? (await freeUdpPort());
  while (rtpengineNgPort === wsPort || rtpengineNgPort === udpPort) rtpengineNgPort = await freeUdpPort();
  // rtpengine skips ports that are taken; a random window only makes that rarer.
  const rtpPortMin = overrides.rtpPortMin ?? 30_000 + 200 * randomInt(0, 50);
  const pbx = await startPbx({
    ...overrides,
    runtimeDir,
    secret,
    wsPort,
    udpPort,
    rtpengineNgPort,
    rtpPortMin,
    rtpPortMax: overrides.rtpPortMax ?? rtpPortMin + 199,
  });
  return {
    ...pbx,
    secret,
    async stop() {
      await pbx.stop();
      if (!ownsRuntimeDir) return;
      if (process.env.TSUNAGU_KEEP_TEST_LOGS === '1') {
        process.stderr.write(`PBX logs kept in ${runtimeDir}\n`);
      } else {
        await rm(runtimeDir, { recursive: true, force: true });
      }
    },
  };
}
