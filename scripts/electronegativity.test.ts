import { describe, expect, it } from 'vitest';
import { judge, type AllowedFinding } from './electronegativity.js';

const finding = (id: string, severity: string, file: string, sample: string) => ({
  id,
  severity: { name: severity },
  confidence: { name: 'FIRM' },
  file,
  location: { line: 1, column: 0 },
  sample,
  description: `${id} description`,
});

const allowed: AllowedFinding[] = [{ check: 'OPEN_EXTERNAL_JS_CHECK', file: 'electron/main.ts', sample: 'shell.openExternal(checked.url)', reason: 'checked first' }];

describe('judging the electronegativity report', () => {
  it('blocks HIGH and MEDIUM findings unless the allow list names check, file and code; LOW and INFORMATIONAL pass', () => {
    const verdict = judge(
      {
        globalChecks: 1,
        atomicChecks: 1,
        errors: [],
        issues: [
          finding('OPEN_EXTERNAL_JS_CHECK', 'MEDIUM', 'electron/main.ts', 'await shell.openExternal(checked.url);'),
          finding('OPEN_EXTERNAL_JS_CHECK', 'MEDIUM', 'electron/main.ts', 'void shell.openExternal(url);'),
          finding('OPEN_EXTERNAL_JS_CHECK', 'MEDIUM', 'electron/other.ts', 'await shell.openExternal(checked.url);'),
          finding('LIMIT_NAVIGATION_GLOBAL_CHECK', 'HIGH', 'N/A', ''),
          finding('CSP_GLOBAL_CHECK', 'LOW', 'electron/csp.ts', ''),
          finding('SOMETHING', 'INFORMATIONAL', 'electron/main.ts', ''),
        ],
      },
      allowed,
    );
    expect(verdict.accepted.map(({ finding: f }) => f.sample)).toEqual(['await shell.openExternal(checked.url);']);
    expect(verdict.blocking.map((f) => `${f.id} ${f.file} ${f.sample}`)).toEqual([
      'OPEN_EXTERNAL_JS_CHECK electron/main.ts void shell.openExternal(url);',
      'OPEN_EXTERNAL_JS_CHECK electron/other.ts await shell.openExternal(checked.url);',
      'LIMIT_NAVIGATION_GLOBAL_CHECK N/A ',
    ]);
    expect(verdict.unused).toEqual([]);
  });

  it('fails when a file could not be analysed, and names allow-list entries that matched nothing', () => {
    const verdict = judge({ globalChecks: 1, atomicChecks: 1, errors: [{ file: 'x.ts', message: 'Unexpected token', tolerable: false }], issues: [] }, allowed);
    expect(verdict.unparsed).toHaveLength(1);
    expect(verdict.unused).toEqual(allowed);
  });
});
