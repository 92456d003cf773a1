/**
 * Small but valid fax documents, as a fax gateway sends them: a one-page PDF with a few lines
 * of text and a bilevel TIFF. The demo seed files them as faxes and the tests render them, so
 * both exercise the real tools rather than a stand-in.
 */

/** A one-page A4 PDF showing `lines` (ASCII) in Helvetica, with a correct cross-reference table. */
export function faxPdf(lines: readonly string[]): Buffer {
  const escape = (text: string) => text.replace(/[^\x20-\x7e]/g, '?').replace(/([\\()])/g, '\\$1');
  const text = lines.map((line, index) => `BT /F1 18 Tf 60 ${760 - index * 28} Td (${escape(line)}) Tj ET`).join('\n');
  const content = `0 0 0 RG 4 w 40 40 515 762 re S\n${text}\n`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}endstream`,
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/**
 * An uncompressed little-endian bilevel TIFF of `width`×`height` pixels (white, with a black
 * frame and a diagonal), 1 bit per pixel as Group 3 fax machines scan.
 */
export function faxTiff(width = 64, height = 64): Buffer {
  const rowBytes = Math.ceil(width / 8);
  const pixels = Buffer.alloc(rowBytes * height);
  const setBlack = (x: number, y: number) => {
    // WhiteIsZero (photometric 0): a set bit is black.
    pixels[y * rowBytes + (x >> 3)] = (pixels[y * rowBytes + (x >> 3)] ?? 0) | (0x80 >> (x & 7));
  };
  for (let i = 0; i < Math.max(width, height); i += 1) {
    if (i < width) { setBlack(i, 0); setBlack(i, height - 1); }
    if (i < height) { setBlack(0, i); setBlack(width - 1, i); }
    if (i < width && i < height) setBlack(i, i);
  }
  const entries: Array<[tag: number, type: number, value: number]> = [
    [256, 3, width], // ImageWidth
    [257, 3, height], // ImageLength
    [258, 3, 1], // BitsPerSample
    [259, 3, 1], // Compression: none
    [262, 3, 0], // PhotometricInterpretation: WhiteIsZero
    [273, 4, 0], // StripOffsets (filled in below)
    [277, 3, 1], // SamplesPerPixel
    [278, 3, height], // RowsPerStrip
    [279, 4, pixels.length], // StripByteCounts
    [282, 5, 0], // XResolution (rational, filled in below)
    [283, 5, 0], // YResolution
    [296, 3, 2], // ResolutionUnit: inch
  ];
  const ifdAt = 8;
  const ifdSize = 2 + entries.length * 12 + 4;
  const rationalAt = ifdAt + ifdSize;
  const pixelsAt = rationalAt + 8;
  const out = Buffer.alloc(pixelsAt + pixels.length);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdAt, 4);
  out.writeUInt16LE(entries.length, ifdAt);
  entries.forEach(([tag, type, value], index) => {
    const at = ifdAt + 2 + index * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(1, at + 4);
    const actual = tag === 273 ? pixelsAt : type === 5 ? rationalAt : value;
    if (type === 3) out.writeUInt16LE(actual, at + 8);
    else out.writeUInt32LE(actual, at + 8);
  });
  out.writeUInt32LE(0, ifdAt + 2 + entries.length * 12);
  // 200 dpi, a fine-mode fax.
  out.writeUInt32LE(200, rationalAt);
  out.writeUInt32LE(1, rationalAt + 4);
  pixels.copy(out, pixelsAt);
  return out;
}
