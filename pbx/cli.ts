/**
 * Runs the development PBX in the foreground until Ctrl-C:
 *   TSUNAGU_SIP_SECRET=... node --import tsx pbx/cli.ts
 * Ports and the runtime directory come from the environment (see pbx/README.md).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PbxStartError, pbxOptionsFromEnv, startPbx } from './pbx.js';

async function main(): Promise<number> {
  const { runtimeDir, ...options } = pbxOptionsFromEnv(process.env);
  const dir = runtimeDir ?? (await mkdtemp(path.join(os.tmpdir(), 'tsunagu-pbx-')));
  const pbx = await startPbx({ ...options, runtimeDir: dir, echoLogs: true });
  process.stdout.write(
    [
      'Tsunagu dev PBX ready',
      `  WebSocket (app, sip.js): ${pbx.wsUrl}`,
      `  UDP trunk side:          127.0.0.1:${pbx.udpPort}`,
      `  rtpengine ng:            127.0.0.1:${pbx.rtpengineNgPort}`,
      `  runtime dir and logs:    ${pbx.runtimeDir}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );

  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const outcome = await Promise.race([
    stopRequested.then((signal) => ({ kind: 'signal' as const, signal })),
    pbx.unexpectedExit.then((exit) => ({ kind: 'exit' as const, exit })),
  ]);
  await pbx.stop();
  if (outcome.kind === 'exit') {
    process.stderr.write(
      `${outcome.exit.name} exited unexpectedly (code ${outcome.exit.code}, signal ${outcome.exit.signal}); logs in ${pbx.runtimeDir}\n`,
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof PbxStartError ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
