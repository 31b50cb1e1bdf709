/**
 * Micro-benchmark of expression evaluation: the closure fast path against fhirpath.js.
 * Run: npx tsx packages/core/bench/expressions.bench.ts   (prints figures; no assertions)
 */
import { compileExpression } from '../src/expressions/index.js';
import type { ExpressionEnv } from '../src/expressions/types.js';

const env: ExpressionEnv = {
  timeZone: 'Europe/London',
  dateFormats: ['yyyy-MM-dd HH:mm:ss'],
  ambiguousTime: 'earlier',
  lookups: new Map([
    ['origin', { name: 'origin', system: 'urn:o', entries: new Map([['999', { code: '01' }]]), caseSensitive: false, onMissing: 'error', span: { file: 'b', line: 1, column: 1 } }],
  ]),
  namespace: '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f',
  rules: new Map([['call', 'Communication']]),
  variables: new Set(['record']),
};
const node = (fields: Record<string, unknown>) => Object.assign(Object.create(null) as Record<string, unknown>, fields);
const record = node({
  IncidentId: 'INC000123',
  CallConnected: '2024-06-15 14:32:10',
  Origin: '999',
  Address: node({ Postcode: 'sw1a1aa' }),
  contacts: [node({ PatientNo: '1' }), node({ PatientNo: '2' })],
});
const sink = { report: () => undefined };
const vars = { record };

const expressions = [
  'IncidentId',
  'Address.Postcode',
  "'completed'",
  'CallConnected.dateTime()',
  "Origin.translate('origin')",
  "iif(Origin = '999', 'a', 'b')",
  "ref('call', %record.IncidentId)",
  "contacts.where(PatientNo = '2').PatientNo.first()",
];

function rate(evaluate: () => unknown, minMs = 300): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 1000; i++) {
      evaluate();
    }
    n += 1000;
    elapsed = performance.now() - start;
  }
  return (n / elapsed) * 1000;
}

const fmt = (perSecond: number): string => `${(perSecond / 1e6).toFixed(2)} M/s`.padStart(11);
console.log(`${'expression'.padEnd(52)} ${'fast'.padStart(11)} ${'fhirpath.js'.padStart(11)}  speed-up`);
for (const text of expressions) {
  const span = { file: 'bench', line: 1, column: 1 };
  const fast = compileExpression(text, span, env).expression;
  const slow = compileExpression(text, span, env, { engine: 'fhirpath' }).expression;
  if (!fast || !slow) {
    throw new Error(`does not compile: ${text}`);
  }
  const fastRate = rate(() => fast.evaluate(record, vars, sink));
  const slowRate = rate(() => slow.evaluate(record, vars, sink), 150);
  console.log(`${text.padEnd(52)} ${fmt(fastRate)} ${fmt(slowRate)}  ${(fastRate / slowRate).toFixed(0)}×${fast.fast ? '' : ' (not fast)'}`);
}
