import fs from 'node:fs';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
};

export type StaticFile = { ok: true; file: string; contentType: string } | { ok: false; status: 400 | 404; message: string };

/**
 * The file of the built renderer a URL path names, for both shells (the browser shell's HTTP
 * host and Electron's app protocol). Any path without an extension is one of the renderer's
 * own routes and gets index.html. The result never lies outside `staticDir`, symlinks
 * included: it is a real path inside the root's real path.
 */
export function resolveStaticFile(staticDir: string, urlPathname: string): StaticFile {
  let pathname: string;
  try {
    pathname = decodeURIComponent(urlPathname);
  } catch {
    return { ok: false, status: 400, message: 'Bad request' };
  }
  if (pathname.includes('\0')) return { ok: false, status: 400, message: 'Bad request' };
  const root = realPath(path.resolve(staticDir));
  if (root === null) return { ok: false, status: 404, message: 'The renderer is not built (no index.html)' };
  const candidate = path.resolve(root, `.${pathname}`);
  if (!isInside(root, candidate)) return { ok: false, status: 404, message: 'Not found' };
  // Important: the lexical check above is not enough; a symlink inside the root may point
  // anywhere, so the file served is decided by its real path.
  let file = realPath(candidate);
  if (file !== null && !isInside(root, file)) return { ok: false, status: 404, message: 'Not found' };
  if (file === null || !isFile(file)) {
    if (path.extname(pathname) !== '') return { ok: false, status: 404, message: 'Not found' };
    file = realPath(path.join(root, 'index.html'));
    if (file === null || !isInside(root, file) || !isFile(file)) {
      return { ok: false, status: 404, message: 'The renderer is not built (no index.html)' };
    }
  }
  return { ok: true, file, contentType: CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
}

function isInside(root: string, file: string): boolean {
  return file === root || file.startsWith(root + path.sep);
}

function realPath(file: string): string | null {
  try {
    return fs.realpathSync(file);
  } catch {
    return null;
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
