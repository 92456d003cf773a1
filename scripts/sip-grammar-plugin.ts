import type { Plugin } from 'vite';

/**
 * sip.js's SIP parser (a peggy grammar built for size) decodes its whole bytecode table, a few
 * hundred strings turned into arrays, at the start of every parse, and sip.js parses each
 * header of each message on its own: that decoding was the largest single JS cost of a ringing
 * call in the renderer (bench:screenpop's trace: `peg$decode`, plus the garbage it leaves),
 * paid again for every INVITE of a burst. The table never changes, so the renderer's build
 * keeps the first decoding for every later parse. Nothing else in the parser changes.
 *
 * Important: a sip.js whose grammar no longer has the expected shape fails the build here
 * rather than shipping silently slower (or differently patched) code.
 */
export const SIP_GRAMMAR_FILE = /node_modules\/sip\.js\/lib\/grammar\/pegjs\/dist\/grammar\.js$/;

const PARSE_FUNCTION = 'function peg$parse(input, options) {';
const BYTECODE_TABLE = 'const peg$bytecode = [';

/** The grammar's source with its bytecode table decoded once per page instead of once per parse. */
export function decodeSipGrammarOnce(source: string): string {
  for (const expected of [PARSE_FUNCTION, BYTECODE_TABLE]) {
    const found = source.split(expected).length - 1;
    if (found !== 1) throw new Error(`sip.js grammar: expected "${expected}" once, found it ${found} times; check scripts/sip-grammar-plugin.ts against this sip.js version`);
  }
  return source
    .replace(PARSE_FUNCTION, `let peg$bytecodeDecoded;\n${PARSE_FUNCTION}`)
    .replace(BYTECODE_TABLE, 'const peg$bytecode = peg$bytecodeDecoded ??= [');
}

export function sipGrammarPlugin(): Plugin {
  return {
    name: 'tsunagu-sip-grammar-decoded-once',
    transform(code, id) {
      if (!SIP_GRAMMAR_FILE.test(id.split('?')[0] ?? id)) return null;
      return { code: decodeSipGrammarOnce(code), map: null };
    },
  };
}
