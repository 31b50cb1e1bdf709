import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isDiagnosticCode, loadMapping, runMapping, type Diagnostic } from '../packages/core/src/index.js';
import { fuzzRunner, longRunBudgetMs, longRunCases } from './support/fuzzing.js';

/**
 * Fuzzing with hostile mappings generated from scratch: files named by absolute paths, `../` climbs, links out of
 * the mapping folder, devices and secrets; regular expressions built from the pieces that make backtracking
 * engines blow up (nested and alternated repetitions, backreferences, lookarounds) run on long texts; and templates
 * fanning out through nested `$forEach`. Every mapping must load or be refused with coded diagnostics, never read
 * or quote a file outside its root, and map each record — or set it aside with a coded diagnostic — in bounded
 * time (each case is time-boxed: a regular expression that backtracks would hang it).
 *
 * The CI size fits a few seconds; `npm run fuzz` sets FUZZ_RUNS, the number of cases of this property.
 */
const runs = longRunCases ?? 300;
const budgetMs = longRunCases !== undefined ? longRunBudgetMs : 4_000;
const caseTimeoutMs = 20_000;
const runFuzz = fuzzRunner('fuzz-mappings');

const secret = 'FUZZ-SECRET-0c8f2e';
const top = mkdtempSync(join(tmpdir(), 'cadmap-fuzz-mappings-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));
const folder = join(top, 'supplier');
mkdirSync(join(folder, 'lookups'), { recursive: true });
writeFileSync(join(top, 'secret.csv'), `source,code\n${secret},${secret}\n`);
writeFileSync(join(top, 'secret.yaml'), `constants:\n  leaked: ${secret}\n`);
writeFileSync(join(top, 'secret.json'), `{"resourceType":"ConceptMap","group":[{"element":[{"code":"${secret}","target":[{"code":"${secret}"}]}]}]}`);
writeFileSync(join(folder, 'lookups', 'codes.csv'), 'source,code\nA,1\n');
writeFileSync(join(folder, 'lookups', 'bad.csv'), `${secret}\n"unclosed\n`);
writeFileSync(join(folder, 'library.yaml'), 'constants:\n  fromLibrary: yes\n');
symlinkSync(join(top, 'secret.csv'), join(folder, 'lookups', 'link.csv'));
symlinkSync(top, join(folder, 'up'));
const mappingFile = join(folder, 'mapping.yaml');
writeFileSync(mappingFile, '');
const input = join(folder, 'calls.ndjson');
writeFileSync(input, `${JSON.stringify({ id: '1', text: `${'a'.repeat(40)}!`, items: Array.from({ length: 40 }, (_, k) => String(k)) })}\n${JSON.stringify({ id: '2', text: 'ab', items: ['x'] })}\n`);

const paths = fc.constantFrom(
  '/etc/passwd',
  '/etc/shadow.csv',
  '/proc/self/environ',
  '/dev/zero.csv',
  '../secret.csv',
  '../secret.yaml',
  '../secret.json',
  '../../secret.csv',
  'up/secret.csv',
  'lookups/link.csv',
  'lookups/../../secret.csv',
  './lookups/codes.csv',
  'lookups/codes.csv',
  'lookups/bad.csv',
  'lookups',
  'library.yaml',
  'mapping.yaml',
  'missing.csv',
  'lookups/codes.csv\u0000.yaml',
  '%2e%2e/secret.csv',
  '..\\secret.csv',
);

const regexPiece = fc.constantFrom('a', 'a+', 'a*', '(a+)+', '(a|a)*', '(a|aa)*', '(a*)*', '.*', '.*.*=.*', '\\d+', '[a-z]{1,30}', '(?:a?){20}a{20}', '\\1', '(a)\\1', '(?=a)', '(?!b)', '(?<=a)', '^', '$', '(', ')', '[', '{1000}', '\\p{L}', '(?i)', '\\');
const regex = fc.array(regexPiece, { minLength: 1, maxLength: 6 }).map((pieces) => pieces.join(''));
const quoted = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const hostileMapping = fc.record({
  imports: fc.array(paths, { maxLength: 2 }),
  lookup: fc.option(fc.record({ kind: fc.constantFrom('file', 'conceptMap'), path: paths }), { nil: undefined }),
  regex,
  replace: fc.boolean(),
  depth: fc.integer({ min: 0, max: 3 }),
  maxElements: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
});

type HostileMapping = typeof hostileMapping extends fc.Arbitrary<infer T> ? T : never;

/** `depth` levels of `extension` lists, each item one per record item, under a note at `indent`. */
function fanOut(depth: number, indent: string): string[] {
  if (depth === 0) {
    return [];
  }
  return [`${indent}extension:`, `${indent}  - $forEach: =%record.items`, `${indent}    url: =$this`, ...fanOut(depth - 1, `${indent}    `)];
}

function mappingText(value: HostileMapping): string {
  const lines = ['cadmap: 1', 'id: hostile'];
  if (value.imports.length > 0) {
    lines.push(`imports: [${value.imports.map((path) => JSON.stringify(path)).join(', ')}]`);
  }
  if (value.lookup !== undefined) {
    lines.push('lookups:', `  l: { ${value.lookup.kind}: ${JSON.stringify(value.lookup.path)} }`);
  }
  if (value.maxElements !== undefined) {
    lines.push(`budgets: { maxElements: ${value.maxElements} }`);
  }
  const call = value.replace ? `%record.text.replaceMatches(${quoted(value.regex)}, 'x')` : `%record.text.matches(${quoted(value.regex)}).toString()`;
  lines.push(
    'source:',
    '  format: ndjson',
    '  key: id',
    'resources:',
    '  - id: c',
    '    resourceType: Communication',
    '    key: =id',
    '    template:',
    '      status: completed',
    '      note:',
    '        - $forEach: =items',
    `          text: ${JSON.stringify(`=${call}`)}`,
    ...fanOut(value.depth, '          '),
  );
  return `${lines.join('\n')}\n`;
}

function expectCoded(diagnostics: readonly Diagnostic<string>[]): void {
  for (const d of diagnostics) {
    if (!isDiagnosticCode(d.code) || d.message === '') {
      expect.fail(`uncoded or empty diagnostic: ${JSON.stringify(d)}`);
    }
  }
}

describe('fuzzing hostile mappings', () => {
  it(
    'load or are refused with coded diagnostics, read nothing outside their root, and map in bounded time',
    async () => {
      await runFuzz(
        'hostile mappings',
        hostileMapping,
        async (value) => {
          const text = mappingText(value);
          const loaded = await loadMapping(mappingFile, { readText: (path) => (path === mappingFile ? Promise.resolve(text) : readFile(path, 'utf8')) });
          expectCoded(loaded.diagnostics);
          expect(JSON.stringify(loaded.diagnostics)).not.toContain(secret);
          if (loaded.mapping === undefined) {
            expect(loaded.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal')).toBe(true);
            return;
          }
          expect(JSON.stringify([...loaded.mapping.lookups.values()].map((table) => [...table.entries]))).not.toContain(secret);
          expect(JSON.stringify(loaded.mapping.constants)).not.toContain(secret);
          const run = await runMapping(loaded.mapping, [{ path: input }]);
          expectCoded(run.diagnostics);
          for await (const result of run.results()) {
            expectCoded(result.diagnostics);
            if (!result.ok && !result.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal')) {
              expect.fail(`record ${result.key} failed without an error: ${JSON.stringify(result.diagnostics)}`);
            }
          }
        },
        { runs, budgetMs, caseTimeoutMs },
      );
    },
    2 * budgetMs + 60_000,
  );

  it('has a mapping folder whose secrets sit beside it, as the property assumes', () => {
    expect(readFileSync(join(folder, 'up', 'secret.csv'), 'utf8')).toContain(secret);
  });
});
