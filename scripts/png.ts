/**
 * Just enough PNG for the build's icons (scripts/make-icons.ts) and for the test that checks
 * them: 8-bit RGBA, non-interlaced, read and written with node:zlib.
 */
import zlib from 'node:zlib';

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, straight (not premultiplied) alpha. */
  pixels: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || !png.subarray(0, 8).equals(SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG file');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export function decodePng(png: Buffer): RgbaImage {
  const { width, height } = pngSize(png);
  const bitDepth = png[24];
  const colourType = png[25];
  const interlace = png[28];
  if (bitDepth !== 8 || colourType !== 6 || interlace !== 0) {
    throw new Error(`only 8-bit RGBA non-interlaced PNGs are read (bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace})`);
  }
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const previous = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let x = 0; x < stride; x++) {
      const left = x >= 4 ? out[x - 4]! : 0;
      const up = previous[x]!;
      const upLeft = x >= 4 ? previous[x - 4]! : 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = left;
          break;
        case 2:
          predictor = up;
          break;
        case 3:
          predictor = (left + up) >> 1;
          break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default:
          throw new Error(`PNG row ${y} has an unknown filter type ${filter}`);
      }
      out[x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width, height, pixels };
}

/** Area-averaged, in premultiplied alpha so that transparent pixels do not darken the edges. */
export function scaleDown(image: RgbaImage, size: number): RgbaImage {
  if (size > image.width || size > image.height) throw new Error(`cannot scale ${image.width}×${image.height} up to ${size}`);
  const pixels = Buffer.alloc(size * size * 4);
  const sx = image.width / size;
  const sy = image.height / size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      let count = 0;
      for (let v = Math.floor(y * sy); v < Math.floor((y + 1) * sy); v++) {
        for (let u = Math.floor(x * sx); u < Math.floor((x + 1) * sx); u++) {
          const at = (v * image.width + u) * 4;
          const alpha = image.pixels[at + 3]!;
          r += image.pixels[at]! * alpha;
          g += image.pixels[at + 1]! * alpha;
          b += image.pixels[at + 2]! * alpha;
          a += alpha;
          count++;
        }
      }
      const at = (y * size + x) * 4;
      if (a > 0) {
        pixels[at] = Math.round(r / a);
        pixels[at + 1] = Math.round(g / a);
        pixels[at + 2] = Math.round(b / a);
      }
      pixels[at + 3] = Math.round(a / count);
    }
  }
  return { width: size, height: size, pixels };
}

export function encodePng(image: RgbaImage): Buffer {
  const stride = image.width * 4;
  const raw = Buffer.alloc((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    // Filter "up" on every row but the first: the icons are flat colour, so it compresses well.
    raw[y * (stride + 1)] = y === 0 ? 0 : 2;
    for (let x = 0; x < stride; x++) {
      const value = image.pixels[y * stride + x]!;
      const up = y === 0 ? 0 : image.pixels[(y - 1) * stride + x]!;
      raw[y * (stride + 1) + 1 + x] = (value - up) & 0xff;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
