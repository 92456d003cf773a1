import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { build } from 'esbuild';
import { issueSipCredentials } from '../../pbx/credentials.js';
import type { CallerApi, CallerSnapshot, InboundAudio } from './caller-page.js';
import { run } from './processes.js';

/**
 * Softphone e2e support: Chromium instances whose fake microphone plays a WAV made for the
 * test, the agent app's WebRTC statistics, and caller pages (caller-page.ts) standing in for
 * customers' phones.
 */

const CALLER_ENTRY = fileURLToPath(new URL('./caller-page.ts', import.meta.url));
export const CHROMIUM = process.env.TSUNAGU_CHROMIUM ?? '/usr/bin/chromium';

/** A steady tone: easy to tell from silence, and far from the DTMF frequencies (697 Hz and up). */
export async function makeToneWav(file: string, frequency: number): Promise<string> {
  await run('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', file, 'synth', '30', 'sine', String(frequency), 'vol', '0.5']);
  return file;
}

export async function launchWithMicrophone(wav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

// ---- the agent app ---------------------------------------------------------------------------

type StatsWindow = Window & { __tsunaguPeerConnections?: RTCPeerConnection[] };

/**
 * Opens the app in a new context and records every RTCPeerConnection it creates, so the test
 * can read the phone's media statistics without any hook in the app itself.
 */
export async function openAgentApp(browser: Browser, shellUrl: string, login: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', permissions: ['microphone', 'notifications'] });
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    const created: RTCPeerConnection[] = [];
    (window as StatsWindow).__tsunaguPeerConnections = created;
    const Recording = function (this: unknown, configuration?: RTCConfiguration) {
      const connection = new Original(configuration);
      created.push(connection);
      return connection;
    } as unknown as typeof RTCPeerConnection;
    Recording.prototype = Original.prototype;
    Object.defineProperty(Recording, 'generateCertificate', { value: Original.generateCertificate.bind(Original) });
    window.RTCPeerConnection = Recording;
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[app ${login}] ${message.text()}\n`);
  });
  await page.goto(shellUrl);
  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('user-name')).toBeVisible();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
  await expect(page.getByTestId('registration-status')).toHaveAttribute('data-state', 'registered', { timeout: 30_000 });
  return { context, page };
}

/** Inbound audio of the app's live calls (the sum over open peer connections). */
export async function appInboundAudio(page: Page): Promise<InboundAudio> {
  return page.evaluate(async () => {
    const result = { packets: 0, level: 0, energy: 0 };
    for (const connection of (window as StatsWindow).__tsunaguPeerConnections ?? []) {
      if (connection.connectionState === 'closed') continue;
      (await connection.getStats()).forEach((report: { type: string; kind?: string; packetsReceived?: number; audioLevel?: number; totalAudioEnergy?: number }) => {
        if (report.type === 'inbound-rtp' && report.kind === 'audio') {
          result.packets += report.packetsReceived ?? 0;
          result.level = Math.max(result.level, report.audioLevel ?? 0);
          result.energy += report.totalAudioEnergy ?? 0;
        }
      });
    }
    return result;
  });
}

/**
 * Audible, not just "above zero": G.711 silence and comfort noise already give a level of a
 * few 1e-4, while the test tones (and the speech in SIPp's recording) are far above this.
 */
const AUDIBLE_LEVEL = 0.01;

/** Waits until audio is heard: packets arrive and the played track has an audible level. */
export async function expectAudio(read: () => Promise<InboundAudio>, what: string): Promise<void> {
  await expect.poll(async () => {
    const audio = await read();
    return audio.packets > 0 && audio.level > AUDIBLE_LEVEL;
  }, { message: `audio at ${what}`, timeout: 20_000 }).toBe(true);
}

/** Waits until the packet count stops growing across consecutive polls (the far end went quiet). */
export async function expectAudioStopped(read: () => Promise<InboundAudio>, what: string): Promise<void> {
  let previous = -1;
  let steady = 0;
  await expect.poll(async () => {
    const { packets } = await read();
    steady = packets === previous ? steady + 1 : 0;
    previous = packets;
    return steady >= 3;
  }, { message: `audio to stop at ${what}`, timeout: 20_000, intervals: [400] }).toBe(true);
}

/** Waits until the packet count grows again. */
export async function expectAudioFlowing(read: () => Promise<InboundAudio>, what: string): Promise<void> {
  const start = (await read()).packets;
  await expect.poll(async () => (await read()).packets - start, { message: `audio to flow at ${what}`, timeout: 20_000 }).toBeGreaterThan(20);
}

// ---- callers ---------------------------------------------------------------------------------

export interface CallerPage {
  user: string;
  page: Page;
  call(target: string, extraHeaders?: string[]): Promise<void>;
  hangUp(): Promise<void>;
  snapshot(): Promise<CallerSnapshot>;
  inboundAudio(): Promise<InboundAudio>;
  close(): Promise<void>;
}

export interface CallerBrowser {
  /** A caller authenticated as `user` (a customer's number), registered with the PBX. */
  open(user: string): Promise<CallerPage>;
  close(): Promise<void>;
}

type CallerWindow = Window & { tsunaguCaller: CallerApi };

export async function launchCallers(options: { wav: string; wsUrl: string; secret: string; domain: string }): Promise<CallerBrowser> {
  const bundle = await build({ entryPoints: [CALLER_ENTRY], bundle: true, format: 'iife', write: false, logLevel: 'silent' });
  const script = bundle.outputFiles[0]?.text ?? '';
  const server: Server = createServer((request, response) => {
    if (request.url === '/caller.js') {
      response.setHeader('content-type', 'text/javascript');
      response.end(script);
      return;
    }
    response.setHeader('content-type', 'text/html');
    response.end('<!doctype html><title>caller</title><script src="/caller.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchWithMicrophone(options.wav);
  const pages: Page[] = [];

  return {
    async open(user) {
      const page = await browser.newPage();
      pages.push(page);
      page.on('console', (message) => {
        if (message.type() === 'error') process.stderr.write(`[caller ${user}] ${message.text()}\n`);
      });
      await page.goto(origin);
      const credentials = issueSipCredentials({ secret: options.secret, user, ttlSeconds: 3600, now: new Date() });
      await page.evaluate((start) => (window as unknown as CallerWindow).tsunaguCaller.start(start), {
        user,
        domain: options.domain,
        wsUrl: options.wsUrl,
        username: credentials.username,
        password: credentials.password,
      });
      await expect.poll(() => page.evaluate(() => (window as unknown as CallerWindow).tsunaguCaller.snapshot().registration)).toBe('Registered');
      return {
        user,
        page,
        call: (target, extraHeaders = []) =>
          page.evaluate(([t, headers]) => (window as unknown as CallerWindow).tsunaguCaller.call(t, headers), [target, extraHeaders] as const),
        hangUp: () => page.evaluate(() => (window as unknown as CallerWindow).tsunaguCaller.hangUp()),
        snapshot: () => page.evaluate(() => (window as unknown as CallerWindow).tsunaguCaller.snapshot()),
        inboundAudio: () => page.evaluate(() => (window as unknown as CallerWindow).tsunaguCaller.inboundAudio()),
        close: () => page.close(),
      };
    },
    async close() {
      for (const page of pages) await page.close().catch(() => undefined);
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

