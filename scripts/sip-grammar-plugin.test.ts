import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSipGrammarOnce, SIP_GRAMMAR_FILE } from './sip-grammar-plugin.js';

const grammarFile = fs.realpathSync(path.join(path.dirname(createRequire(import.meta.url).resolve('sip.js')), 'grammar', 'pegjs', 'dist', 'grammar.js'));
const original = fs.readFileSync(grammarFile, 'utf8');
const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-sip-grammar-'));
afterAll(() => fs.rmSync(tempDir, { recursive: true, force: true }));

/** What the grammar leaves in `options.data` for one input (as sip.js's Grammar.parse reads it). */
function parsed(grammar: Awaited<ReturnType<typeof loadGrammar>>, input: string, startRule: string): string {
  const options: { startRule: string; data?: unknown } = { startRule };
  grammar.parse(input, options);
  return JSON.stringify(options.data);
}

/** The grammar module from `source`, its relative imports pointed at the installed sip.js. */
async function loadGrammar(name: string, source: string): Promise<{ parse(input: string, options: { startRule: string; data?: unknown }): unknown }> {
  const absolute = source.replace(/from "(\.\.\/[^"]+)"/g, (_match, relative: string) => `from ${JSON.stringify(pathToFileURL(path.resolve(path.dirname(grammarFile), relative)).href)}`);
  const file = path.join(tempDir, `${name}.mjs`);
  fs.writeFileSync(file, absolute);
  return import(pathToFileURL(file).href);
}

const HEADERS: Array<[string, string]> = [
  ['"山田 太郎" <sip:0312345678@trunk.example;user=phone>;tag=a73kszlfl', 'From'],
  ['<sip:2001@127.0.0.1;transport=ws>;tag=9fxced76sl', 'To'],
  ['SIP/2.0/WSS 127.0.0.1:5066;branch=z9hG4bK776asdhds;rport', 'Via'],
  ['314159 INVITE', 'CSeq'],
  ['<sip:abc@127.0.0.1:5066;transport=ws;ob>;expires=600', 'Contact'],
  ['<sip:127.0.0.1;lr;r2=on>', 'Record_Route'],
  ['application/sdp', 'Content_Type'],
];

describe("the renderer build's sip.js grammar (decoded once)", () => {
  it('applies to the installed sip.js grammar file', () => {
    expect(SIP_GRAMMAR_FILE.test(grammarFile)).toBe(true);
    const patched = decodeSipGrammarOnce(original);
    expect(patched).toContain('const peg$bytecode = peg$bytecodeDecoded ??= [');
    expect(patched.length - original.length).toBeLessThan(100);
  });

  it('parses every header exactly as the original grammar does, on the first parse and every later one', async () => {
    const before = await loadGrammar('original', original);
    const after = await loadGrammar('decoded-once', decodeSipGrammarOnce(original));
    for (let round = 0; round < 3; round += 1) {
      for (const [input, startRule] of HEADERS) {
        expect(parsed(after, input, startRule)).toBe(parsed(before, input, startRule));
      }
    }
    expect(() => after.parse('not a header', { startRule: 'Via' })).toThrow();
    expect(parsed(after, HEADERS[0]![0], 'From')).toContain('0312345678');
    expect(parsed(after, HEADERS[0]![0], 'From')).toContain('a73kszlfl');
  });

  it('fails the build, naming what it expected, for a grammar of another shape', () => {
    expect(() => decodeSipGrammarOnce('function peg$parse(input, options) { const table = []; }')).toThrow(/expected "const peg\$bytecode = \[" once, found it 0 times/);
  });
});
