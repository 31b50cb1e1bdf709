import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpression, scalarOf } from './compile.js';
import { SEVERAL } from './fast.js';
import type { EvalReport, ExpressionEnv } from './types.js';

const env: ExpressionEnv = {
  timeZone: 'Europe/London',
  dateFormats: ['yyyy-MM-dd HH:mm:ss'],
  ambiguousTime: 'earlier',
  lookups: new Map(),
  namespace: '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f',
  rules: new Map([['call', 'Communication']]),
  variables: new Set(['record', 'v', 'w']),
};
const span = { file: 'm.yaml', line: 1, column: 1 };

const node = (fields: Record<string, unknown>): Record<string, unknown> => Object.assign(Object.create(null) as Record<string, unknown>, fields);
const text = fc.constantFrom('', 'x', 'X', ' x ', 'ab', 'abc', 'p', 'q', '5', '12', '-3', '2.5', 'a b');
const record = fc
  .record({
    a: text,
    // an empty CSV cell is held as undefined (rows keep one shape): absent, as a missing key is
    b: fc.oneof(text, fc.constant(undefined)),
    n: fc.constantFrom('0', '1', '7', '42', '-5', '3.5', 'z'),
    arr: fc.array(text, { maxLength: 4 }),
    kids: fc.array(fc.record({ k: fc.oneof(text, fc.constant(undefined)), m: fc.array(text, { maxLength: 2 }) }).map(node), { maxLength: 3 }),
  }, { requiredKeys: ['a', 'n'] })
  .map(node);

const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Expressions within the fast subset, typed loosely as strings, booleans, numbers or collections. */
const { expr } = fc.letrec<{ expr: string; s: string; b: string; n: string; c: string }>((tie) => ({
  expr: fc.oneof(tie('s'), tie('b'), tie('n'), tie('c')),
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', '`a`', 'n', '%v', '%record.a', 'arr[0]', 'kids.k.first()', 'kids.last().k', "arr.join(',')", 'arr.join()', '{}', '$this.a'),
    text.map(str),
    tie('s').map((s) => `(${s}).trim()`),
    tie('s').map((s) => `(${s}).upper()`),
    tie('s').map((s) => `(${s}).lower()`),
    fc.tuple(tie('s'), fc.integer({ min: -1, max: 4 })).map(([s, i]) => `(${s}).substring(${i})`),
    fc.tuple(tie('s'), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([s, i, j]) => `(${s}).substring(${i}, ${j})`),
    fc.tuple(tie('s'), text, text).map(([s, p, r]) => `(${s}).replace(${str(p)}, ${str(r)})`),
    fc.tuple(tie('s'), tie('s')).map(([x, y]) => `(${x} + ${y})`),
    fc.tuple(tie('s'), tie('s')).map(([x, y]) => `(${x} & ${y})`),
    fc.tuple(tie('b'), tie('s'), tie('s')).map(([c, x, y]) => `iif(${c}, ${x}, ${y})`),
    fc.tuple(tie('b'), tie('s')).map(([c, x]) => `iif(${c}, ${x})`),
    tie('n').map((n) => `(${n}).toString()`),
  ),
  b: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('true', 'false', 'a.exists()', 'b.empty()', 'arr.exists()', "kids.exists(k = 'x')", 'kids.m.exists()'),
    fc.tuple(fc.constantFrom('kids', '%record.kids', '%w'), tie('b'), fc.constantFrom('exists', 'empty')).map(([c, b, test]) => `${c}.where(${b}).${test}()`),
    fc.tuple(fc.constantFrom('kids', '%record.kids'), fc.constantFrom('k', 'm'), tie('s'), fc.constantFrom('exists', 'empty')).map(([c, f, x, test]) => `${c}.where(${f} = ${x} or ${f} = %v).${test}()`),
    fc.tuple(tie('s'), tie('s'), fc.constantFrom('=', '!=', '<', '>', '<=', '>=')).map(([x, y, op]) => `(${x} ${op} ${y})`),
    fc.tuple(tie('n'), tie('n'), fc.constantFrom('=', '!=', '<', '>=')).map(([x, y, op]) => `(${x} ${op} ${y})`),
    fc.tuple(tie('c'), tie('c')).map(([x, y]) => `(${x} = ${y})`),
    fc.tuple(tie('b'), tie('b'), fc.constantFrom('and', 'or', 'xor', 'implies')).map(([x, y, op]) => `(${x} ${op} ${y})`),
    tie('b').map((b) => `(${b}).not()`),
    fc.tuple(tie('s'), tie('s')).map(([x, y]) => `(${x}).startsWith(${y})`),
    fc.tuple(tie('s'), tie('s')).map(([x, y]) => `(${x}).contains(${y})`),
  ),
  n: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: 0, max: 20 }).map(String),
    fc.constantFrom('n.toInteger()', 'n.toDecimal()', 'a.length()', 'arr.count()', 'kids.count()', 'b.toInteger()'),
    fc.tuple(tie('n'), tie('n'), fc.constantFrom('+', '-', '*', '/')).map(([x, y, op]) => `(${x} ${op} ${y})`),
  ),
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('arr', 'kids.k', 'kids.m', '%w', 'arr.distinct()', 'kids', 'kids.first()'),
    fc.tuple(tie('c'), tie('c')).map(([x, y]) => `(${x} | ${y})`),
    tie('c').map((c) => `(${c}).select($this & '!')`),
    fc.tuple(tie('c'), text).map(([c, t]) => `(${c}).where($this = ${str(t)})`),
    fc.tuple(text).map(([t]) => `kids.where(k = ${str(t)}).m`),
    fc.tuple(tie('c'), fc.integer({ min: 0, max: 3 })).map(([c, i]) => `(${c})[${i}]`),
    tie('c').map((c) => `(${c}).first()`),
  ),
}));

function run(text: string, engine: 'auto' | 'fhirpath', context: unknown, vars: Record<string, unknown>) {
  const compiled = compileExpression(text, span, env, { engine });
  expect(compiled.diagnostics).toEqual([]);
  const reports: EvalReport[] = [];
  const result = compiled.expression?.evaluate(context, vars, { report: (r) => reports.push(r) });
  return { fast: compiled.expression?.fast, result, failed: reports.some((r) => r.code === 'MAP_EVAL_ERROR') };
}

describe('fast path ≡ fhirpath.js', () => {
  it('gives the same results (and fails on the same inputs) for generated expressions and records', () => {
    fc.assert(
      fc.property(expr, record, (text, rec) => {
        const vars = { record: rec, v: 'vv', w: ['w1', 'w2', 'w1'] };
        const fast = run(text, 'auto', rec, vars);
        const slow = run(text, 'fhirpath', rec, vars);
        expect(fast.fast).toBe(true);
        expect(slow.fast).toBe(false);
        expect({ result: fast.result, failed: fast.failed }).toEqual({ result: slow.result, failed: slow.failed });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('scalar form ≡ collection form', () => {
  it('gives the one value of the collection (undefined for none) or SEVERAL, and the same reports', () => {
    let scalars = 0;
    fc.assert(
      fc.property(expr, record, (text, rec) => {
        const vars = { record: rec, v: 'vv', w: ['w1', 'w2', 'w1'] };
        const { expression } = compileExpression(text, span, env);
        const scalar = expression ? scalarOf(expression) : undefined;
        if (!expression || !scalar) {
          return;
        }
        scalars++;
        const scalarReports: EvalReport[] = [];
        const value = scalar.evaluate(rec, vars, { report: (r) => scalarReports.push(r) });
        if (value === SEVERAL) {
          expect(scalarReports).toEqual([]);
          return;
        }
        const reports: EvalReport[] = [];
        const collection = expression.evaluate(rec, vars, { report: (r) => reports.push(r) });
        expect(collection.length).toBeLessThanOrEqual(1);
        expect(value).toEqual(collection[0]);
        expect(scalarReports.map((r) => r.code)).toEqual(reports.map((r) => r.code));
      }),
      { numRuns: 2000 },
    );
    expect(scalars).toBeGreaterThan(200);
  });
});
