/**
 * Browser agents for PBX media tests: Debian's headless Chromium with fake audio
 * devices, each page running webrtc-agent-page.ts (sip.js) served from 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import { build } from 'esbuild';
import type { Credentials } from './raw-sip-client.js';
import type { InboundAudio, TestAgentApi, TestAgentSnapshot } from './webrtc-agent-page.js';

const PAGE_ENTRY = fileURLToPath(new URL('./webrtc-agent-page.ts', import.meta.url));
export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface AgentPage {
  user: string;
  call(target: string): Promise<void>;
  hangUp(): Promise<void>;
  snapshot(): Promise<TestAgentSnapshot>;
  inboundAudio(): Promise<InboundAudio>;
}

export interface AgentBrowser {
  /** Opens a page whose sip.js agent has registered as user (waits for "Registered"). */
  openAgent(options: { user: string; wsUrl: string; credentials: Credentials; domain?: string }): Promise<AgentPage>;
  close(): Promise<void>;
}

type AgentWindow = Window & { tsunaguTestAgent: TestAgentApi };

export async function launchAgentBrowser(): Promise<AgentBrowser> {
  const bundle = await build({ entryPoints: [PAGE_ENTRY], bundle: true, format: 'iife', write: false, logLevel: 'silent' });
  const script = bundle.outputFiles[0]?.text ?? '';
  const server: Server = createServer((request, response) => {
    if (request.url === '/agent.js') {
      response.setHeader('content-type', 'text/javascript');
      response.end(script);
      return;
    }
    response.setHeader('content-type', 'text/html');
    response.end('<!doctype html><title>test agent</title><script src="/agent.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
    });
  } catch (error) {
    server.close();
    throw error;
  }

  const openAgent: AgentBrowser['openAgent'] = async ({ user, wsUrl, credentials, domain = 'tsunagu.test' }) => {
    const page: Page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') process.stderr.write(`[agent ${user}] ${message.text()}\n`);
    });
    await page.goto(origin);
    await page.evaluate(
      (options) => (window as unknown as AgentWindow).tsunaguTestAgent.start(options),
      { user, domain, wsUrl, username: credentials.username, password: credentials.password },
    );
    await page.waitForFunction(() => (window as unknown as AgentWindow).tsunaguTestAgent.snapshot().registration === 'Registered');
    return {
      user,
      call: (target) => page.evaluate((t) => (window as unknown as AgentWindow).tsunaguTestAgent.call(t), target),
      hangUp: () => page.evaluate(() => (window as unknown as AgentWindow).tsunaguTestAgent.hangUp()),
      snapshot: () => page.evaluate(() => (window as unknown as AgentWindow).tsunaguTestAgent.snapshot()),
      inboundAudio: () => page.evaluate(() => (window as unknown as AgentWindow).tsunaguTestAgent.inboundAudio()),
    };
  };

  return {
    openAgent,
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
