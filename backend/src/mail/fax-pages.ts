import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HttpError } from '../http/errors.js';

const run = promisify(execFile);

/** A fax page at this resolution is legible and stays around 100–300 KB as PNG. */
const RENDER_DPI = 100;
/** Pages beyond this are not rendered; the view says how many there were. */
export const MAX_FAX_PAGES = 20;
/** A hostile or broken document must not hold a request (or a core) for long. */
const RENDER_TIMEOUT_MS = 20_000;

export type FaxDocumentType = 'pdf' | 'tiff';

/** PDF and TIFF by their first bytes, whatever the declared type says. */
export function faxDocumentType(content: Buffer): FaxDocumentType | null {
  if (content.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  const head = content.subarray(0, 4).toString('hex');
  return head === '49492a00' || head === '4d4d002a' ? 'tiff' : null;
}

export interface RenderedFax {
  /** PNG images, first page first. */
  pages: Buffer[];
  /** Pages in the document (more than `pages.length` when it was cut at MAX_FAX_PAGES). */
  pageCount: number;
}

async function pageCountOf(pdf: string): Promise<number> {
  const { stdout } = await run('pdfinfo', [pdf], { timeout: RENDER_TIMEOUT_MS });
  const match = /^Pages:\s+(\d+)/m.exec(stdout);
  return match ? Number(match[1]) : 0;
}

/**
 * Renders a fax (PDF, or TIFF through tiff2pdf) to PNG pages with poppler's pdftoppm, so the
 * app shows only pixels: nothing in the document runs, loads or links anywhere. The tools run
 * as child processes on a private temporary folder with a time limit; a document they cannot
 * read is a clear `invalid_input`, never a crash.
 */
export async function renderFaxPages(content: Buffer): Promise<RenderedFax> {
  const type = faxDocumentType(content);
  if (type === null) throw new HttpError('invalid_input', 'the attachment is not a PDF or TIFF fax image');
  const dir = await mkdtemp(join(tmpdir(), 'tsunagu-fax-'));
  try {
    const source = join(dir, type === 'pdf' ? 'fax.pdf' : 'fax.tif');
    await writeFile(source, content, { mode: 0o600 });
    let pdf = source;
    if (type === 'tiff') {
      pdf = join(dir, 'fax.pdf');
      await run('tiff2pdf', ['-o', pdf, source], { timeout: RENDER_TIMEOUT_MS });
    }
    const pageCount = await pageCountOf(pdf);
    if (pageCount === 0) throw new HttpError('invalid_input', 'the fax document has no pages');
    const last = Math.min(pageCount, MAX_FAX_PAGES);
    await run('pdftoppm', ['-png', '-r', String(RENDER_DPI), '-f', '1', '-l', String(last), pdf, join(dir, 'page')], {
      timeout: RENDER_TIMEOUT_MS,
    });
    // pdftoppm pads page numbers to the width of the last one (page-01.png …): sort numerically.
    const files = (await readdir(dir))
      .filter((name) => /^page-\d+\.png$/.test(name))
      .sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
    const pages = await Promise.all(files.map((name) => readFile(join(dir, name))));
    return { pages, pageCount };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HttpError('not_configured', 'fax images need poppler-utils and libtiff-tools (scripts/setup.sh)');
    throw new HttpError('invalid_input', 'the fax document could not be read as PDF or TIFF');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
