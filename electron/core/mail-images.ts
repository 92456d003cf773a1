import { REMOTE_IMAGE_TYPES, toRemoteImageUrl, type RemoteImageRefusal, type RemoteImageResult } from '../../shared/ipc.js';
import { CodedError } from '../../shared/result.js';

/**
 * The core's image proxy for mail (mail:remoteImage). The renderer's top-level CSP admits no
 * http(s) images, and a srcdoc mail frame inherits that policy, so remote images of a mail are
 * fetched here after the operator asked for them and handed back as data: URLs.
 *
 * Node's fetch sends no cookies and no credentials of the app (it has no cookie jar and we pass
 * no headers but Accept); redirects are followed by hand so each hop is checked again.
 */

export interface RemoteImageLimits {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

export const DEFAULT_REMOTE_IMAGE_LIMITS: RemoteImageLimits = { timeoutMs: 10_000, maxBytes: 5 * 1024 * 1024, maxRedirects: 5 };

class Refused extends Error {
  constructor(
    readonly refusal: RemoteImageRefusal,
    message: string,
  ) {
    super(message);
  }
}

export async function fetchRemoteImage(rawUrl: string, limits: RemoteImageLimits = DEFAULT_REMOTE_IMAGE_LIMITS): Promise<RemoteImageResult> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    return await follow(rawUrl, limits, signal);
  } catch (error) {
    if (error instanceof CodedError) throw error;
    if (error instanceof Refused) return { loaded: false, refused: error.refusal, message: error.message };
    if (signal.aborted) return { loaded: false, refused: 'timeout', message: `no complete answer within ${limits.timeoutMs} ms` };
    return { loaded: false, refused: 'unreachable', message: error instanceof Error ? error.message : String(error) };
  }
}

async function follow(rawUrl: string, limits: RemoteImageLimits, signal: AbortSignal): Promise<RemoteImageResult> {
  let url = toRemoteImageUrl(rawUrl);
  // The request schema refused anything else already; this keeps the promise in the types.
  if (url === null) throw new CodedError('invalid_input', 'url: must be an absolute http(s) URL');
  for (let hop = 0; ; hop += 1) {
    const response = await fetch(url, {
      redirect: 'manual',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      headers: { accept: REMOTE_IMAGE_TYPES.join(', ') },
      signal,
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get('location');
      if (location === null) throw new Refused('http_error', `redirect (${response.status}) without a Location`);
      if (hop >= limits.maxRedirects) throw new Refused('bad_redirect', `more than ${limits.maxRedirects} redirects`);
      const next = toRemoteImageUrl(new URL(location, url).href);
      if (next === null) throw new Refused('bad_redirect', `redirect to something other than http(s): ${location}`);
      url = next;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Refused('http_error', `the server answered ${response.status}`);
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!(REMOTE_IMAGE_TYPES as readonly string[]).includes(type)) {
      await response.body?.cancel();
      throw new Refused('not_an_image', `content type ${JSON.stringify(type)} is not one of ${REMOTE_IMAGE_TYPES.join(', ')}`);
    }
    const body = await readCapped(response, limits.maxBytes);
    return { loaded: true, dataUrl: `data:${type};base64,${body.toString('base64')}` };
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new Refused('too_large', `the image is larger than ${maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  // Important: counted while reading, since a server may send no Content-Length or a false one.
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    total += read.value.byteLength;
    if (total > maxBytes) {
      // The rest is never downloaded: the connection is dropped.
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(Buffer.from(read.value));
  }
  return Buffer.concat(chunks);
}
