import { describe, expect, it } from 'vitest';
import type { EvalReport, ExpressionEnv } from './types.js';
import { compileExpression } from './index.js';

const env: ExpressionEnv = {
  timeZone: 'Europe/London',
  dateFormats: ['yyyy-MM-dd'],
  ambiguousTime: 'earlier',
  lookups: new Map(),
  namespace: '00000000-0000-0000-0000-000000000000',
  rules: new Map(),
  variables: new Set(['record']),
};
const span = { file: 'mapping.yaml', line: 1, column: 1 };

function run(text: string, context: unknown) {
  const compiled = compileExpression(text, span, env);
  expect(compiled.diagnostics).toEqual([]);
  const reports: EvalReport[] = [];
  const values = compiled.expression!.evaluate(context, {}, { report: (r) => reports.push(r) });
  return { values, reports };
}

describe('regular expressions run in linear time', () => {
  it('answers patterns that backtrack catastrophically elsewhere at once', () => {
    const text = `${'a'.repeat(30)}!`;
    expect(run("v.matches('^(a+)+$')", { v: text }).values).toEqual([false]);
    expect(run("v.replaceMatches('^(a|a)*$', 'x')", { v: 'a'.repeat(31) }).values).toEqual(['x']);
    expect(run("v.matchesFull('(a|aa)*')", { v: text }).values).toEqual([false]);
    expect(run("v.matches('^(a+)+$')", { v: 'a'.repeat(100_000) }).values).toEqual([true]);
  });

  it('keeps the FHIRPath semantics: single-line mode, i and m flags, $1 substitutions, empty in empty out', () => {
    expect(run("v.matches('a.b')", { v: 'a\nb' }).values).toEqual([true]);
    expect(run("v.matches('^B$', 'im')", { v: 'a\nb' }).values).toEqual([true]);
    expect(run("v.matches('^B$')", { v: 'a\nb' }).values).toEqual([false]);
    expect(run("v.matchesFull('\\\\d+')", { v: '123' }).values).toEqual([true]);
    expect(run("v.matchesFull('\\\\d+')", { v: '123a' }).values).toEqual([false]);
    expect(run("v.replaceMatches('(\\\\d+)-(\\\\d+)', '$2/$1')", { v: '12-34 5-6' }).values).toEqual(['34/12 6/5']);
    expect(run("v.replaceMatches('\\\\p{L}+', '_')", { v: 'héllo wörld' }).values).toEqual(['_ _']);
    expect(run("missing.matches('a')", {}).values).toEqual([]);
  });

  it('reports a pattern built from data that RE2 cannot run as an evaluation error', () => {
    const { values, reports } = run('v.matches(p)', { v: 'aa', p: '(a)\\1' });
    expect(values).toEqual([]);
    expect(reports).toMatchObject([{ code: 'MAP_EVAL_ERROR', message: expect.stringContaining("linear-time engine: invalid escape sequence: `\\1`") as string }]);
  });

  it('refuses literal patterns and flags RE2 cannot run when the mapping is loaded (so lint reports them)', () => {
    for (const [text, column] of [
      ["v.matches('(a)\\\\1')", 11],
      ["v.matchesFull('(?=a)a')", 15],
      ["v.replaceMatches('(?<!a)b', 'c')", 18],
      ["v.matches('a', 'x')", 11],
    ] as const) {
      const compiled = compileExpression(text, span, env);
      expect(compiled.diagnostics).toMatchObject([{ code: 'MAP_REGEX_UNSUPPORTED', severity: 'error', rule: { line: 1, column } }]);
    }
  });
});
