/**
 * Derives the installers' icon files from resources/icon.png (512×512 RGBA, the one drawn
 * source): resources/icons/NxN.png for Linux (AppImage, deb), resources/icon.ico for Windows
 * (NSIS) and resources/icon.icns for macOS (dmg). The outputs are committed, because
 * electron-builder converts icons only on macOS and this machine has no ImageMagick.
 *
 *   npm run icons
 *
 * ICO and ICNS both allow PNG-compressed entries, so all three formats are PNGs underneath.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodePng, encodePng, scaleDown, type RgbaImage } from './png.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const resources = path.join(root, 'resources');

/** Linux desktop icon sizes (hicolor theme); electron-builder reads them from a folder of NxN.png. */
export const LINUX_ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512] as const;
/** Windows shell sizes; 256 is the largest an ICO entry can say it is. */
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256] as const;
/** macOS icon types that hold a PNG, by pixel size (Apple's icns OSType codes). */
export const ICNS_TYPES = { icp4: 16, icp5: 32, icp6: 64, ic07: 128, ic08: 256, ic09: 512 } as const;

export function buildIco(pngsBySize: ReadonlyMap<number, Buffer>): Buffer {
  const entries = [...pngsBySize.entries()];
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // 1 = icon (not cursor)
  header.writeUInt16LE(entries.length, 4);
  const directory = Buffer.alloc(16 * entries.length);
  let offset = header.length + directory.length;
  entries.forEach(([size, png], index) => {
    const at = index * 16;
    if (size > 256) throw new Error(`ICO entries are at most 256 px, not ${size}`);
    directory.writeUInt8(size === 256 ? 0 : size, at); // 0 means 256
    directory.writeUInt8(size === 256 ? 0 : size, at + 1);
    directory.writeUInt8(0, at + 2); // no palette
    directory.writeUInt8(0, at + 3);
    directory.writeUInt16LE(1, at + 4); // colour planes
    directory.writeUInt16LE(32, at + 6); // bits per pixel
    directory.writeUInt32LE(png.length, at + 8);
    directory.writeUInt32LE(offset, at + 12);
    offset += png.length;
  });
  return Buffer.concat([header, directory, ...entries.map(([, png]) => png)]);
}

export function buildIcns(pngsByType: ReadonlyMap<string, Buffer>): Buffer {
  const chunks = [...pngsByType.entries()].map(([type, png]) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + chunks.reduce((sum, chunk) => sum + chunk.length, 0), 4);
  return Buffer.concat([head, ...chunks]);
}

function main(): void {
  const source: RgbaImage = decodePng(fs.readFileSync(path.join(resources, 'icon.png')));
  if (source.width !== 512 || source.height !== 512) {
    throw new Error(`resources/icon.png must be 512×512, it is ${source.width}×${source.height}`);
  }
  const pngs = new Map<number, Buffer>();
  const pngOf = (size: number): Buffer => {
    let png = pngs.get(size);
    if (!png) {
      png = encodePng(scaleDown(source, size));
      pngs.set(size, png);
    }
    return png;
  };

  const linuxDir = path.join(resources, 'icons');
  fs.mkdirSync(linuxDir, { recursive: true });
  for (const size of LINUX_ICON_SIZES) fs.writeFileSync(path.join(linuxDir, `${size}x${size}.png`), pngOf(size));
  fs.writeFileSync(path.join(resources, 'icon.ico'), buildIco(new Map(ICO_SIZES.map((size) => [size, pngOf(size)]))));
  fs.writeFileSync(
    path.join(resources, 'icon.icns'),
    buildIcns(new Map(Object.entries(ICNS_TYPES).map(([type, size]) => [type, pngOf(size)]))),
  );
  console.log(`icons written to ${path.relative(root, resources)}/ (icons/*.png, icon.ico, icon.icns)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
