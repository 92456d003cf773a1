import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPC_CHANNELS } from '../../shared/ipc.js';
import { fetchRemoteImage } from './mail-images.js';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==', 'base64');
const LIMITS = { timeoutMs: 10_000, maxBytes: 1024, maxRedirects: 3 };

/** A real loopback server with one route per rule of the proxy; it records what it was asked. */
const requests: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
let releaseSlow: () => void = () => undefined;
const server = http.createServer((request, response) => {
  const url = request.url ?? '/';
  requests.push({ url, headers: request.headers });
  if (url === '/pixel.png') {
    response.writeHead(200, { 'content-type': 'image/png; charset=binary', 'set-cookie': 'tracker=1' });
    response.end(PNG);
  } else if (url === '/logo.svg') {
    response.writeHead(200, { 'content-type': 'image/svg+xml' });
    response.end('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  } else if (url === '/page.html') {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<p>not an image</p>');
  } else if (url === '/huge-declared.png') {
    response.writeHead(200, { 'content-type': 'image/png', 'content-length': String(LIMITS.maxBytes + 1) });
    response.end(Buffer.alloc(LIMITS.maxBytes + 1));
  } else if (url === '/huge-chunked.png') {
    // No Content-Length: the cap must hold while reading.
    response.writeHead(200, { 'content-type': 'image/png', 'transfer-encoding': 'chunked' });
    for (let i = 0; i < 4; i += 1) response.write(Buffer.alloc(LIMITS.maxBytes / 2));
    response.end();
  } else if (url.startsWith('/loop')) {
    const n = Number(new URL(url, 'http://x').searchParams.get('n') ?? 0);
    response.writeHead(302, { location: `/loop?n=${n + 1}` });
    response.end();
  } else if (url === '/hop') {
    response.writeHead(301, { location: '/pixel.png' });
    response.end();
  } else if (url === '/to-file') {
    response.writeHead(302, { location: 'file:///etc/passwd' });
    response.end();
  } else if (url === '/missing.png') {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('no');
  } else if (url === '/slow.png') {
    response.writeHead(200, { 'content-type': 'image/png' });
    response.write(PNG.subarray(0, 8));
    releaseSlow = () => response.end();
  } else {
    response.writeHead(500);
    response.end();
  }
});
let base = '';

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  releaseSlow();
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

describe('mail:remoteImage (the core fetches remote mail images)', () => {
  it('returns a raster image as a data: URL, asking without cookies or credentials', async () => {
    const result = await fetchRemoteImage(`${base}/pixel.png`, LIMITS);
    expect(result).toEqual({ loaded: true, dataUrl: `data:image/png;base64,${PNG.toString('base64')}` });
    const asked = requests.find((request) => request.url === '/pixel.png')!;
    expect(asked.headers.cookie).toBeUndefined();
    expect(asked.headers.authorization).toBeUndefined();
    expect(asked.headers.referer).toBeUndefined();
    // The cookie the server set is not kept for the next request.
    await fetchRemoteImage(`${base}/pixel.png`, LIMITS);
    expect(requests.filter((request) => request.url === '/pixel.png').every((request) => request.headers.cookie === undefined)).toBe(true);
  });

  it('refuses SVG and anything that is not a raster image', async () => {
    expect(await fetchRemoteImage(`${base}/logo.svg`, LIMITS)).toMatchObject({ loaded: false, refused: 'not_an_image' });
    expect(await fetchRemoteImage(`${base}/page.html`, LIMITS)).toMatchObject({ loaded: false, refused: 'not_an_image' });
  });

  it('refuses bodies over the size cap, declared or not', async () => {
    expect(await fetchRemoteImage(`${base}/huge-declared.png`, LIMITS)).toMatchObject({ loaded: false, refused: 'too_large' });
    expect(await fetchRemoteImage(`${base}/huge-chunked.png`, LIMITS)).toMatchObject({ loaded: false, refused: 'too_large' });
  });

  it('follows a redirect, but stops a redirect loop and a redirect away from http(s)', async () => {
    expect(await fetchRemoteImage(`${base}/hop`, LIMITS)).toMatchObject({ loaded: true });
    const before = requests.filter((request) => request.url.startsWith('/loop')).length;
    expect(await fetchRemoteImage(`${base}/loop?n=0`, LIMITS)).toMatchObject({ loaded: false, refused: 'bad_redirect' });
    expect(requests.filter((request) => request.url.startsWith('/loop')).length - before).toBe(LIMITS.maxRedirects + 1);
    expect(await fetchRemoteImage(`${base}/to-file`, LIMITS)).toMatchObject({ loaded: false, refused: 'bad_redirect' });
  });

  it('reports error statuses, unreachable hosts and servers that never finish', async () => {
    expect(await fetchRemoteImage(`${base}/missing.png`, LIMITS)).toMatchObject({ loaded: false, refused: 'http_error' });
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    expect(await fetchRemoteImage(`http://127.0.0.1:${closedPort}/x.png`, LIMITS)).toMatchObject({ loaded: false, refused: 'unreachable' });
    expect(await fetchRemoteImage(`${base}/slow.png`, { ...LIMITS, timeoutMs: 200 })).toMatchObject({ loaded: false, refused: 'timeout' });
  });

  it('accepts only absolute http(s) URLs at the IPC edge', () => {
    const request = IPC_CHANNELS['mail:remoteImage'].request;
    expect(request.safeParse({ url: `${base}/pixel.png` }).success).toBe(true);
    for (const url of ['file:///etc/passwd', 'data:image/png;base64,AA==', 'javascript:alert(1)', '/relative.png', 'mailto:a@b.c']) {
      expect(request.safeParse({ url }).success, url).toBe(false);
    }
  });
});
