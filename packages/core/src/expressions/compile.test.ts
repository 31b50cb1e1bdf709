import { describe, expect, it } from 'vitest';
import { entryFullUrl } from '../bundle/ids.js';
import type { LookupTable } from '../mapping/model.js';
import { compileExpression } from './compile.js';
import type { EvalReport, ExpressionEnv } from './types.js';

const lookup: LookupTable = {
  name: 'callOrigin',
  system: 'urn:origin',
  entries: new Map([['999', { code: '01', display: '999' }]]),
  caseSensitive: false,
  onMissing: 'warning',
  span: { file: 'm.yaml', line: 2, column: 3 },
};
const env: ExpressionEnv = {
  timeZone: 'Europe/London',
  dateFormats: ['yyyy-MM-dd HH:mm:ss', 'dd/MM/yyyy HH:mm'],
  ambiguousTime: 'earlier',
  lookups: new Map([['callOrigin', lookup]]),
  namespace: '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f',
  rules: new Map([
    ['call', 'Communication'],
    ['encounter', 'Encounter'],
  ]),
  variables: new Set(['record', 'contact', 'submitterOds']),
};
const span = { file: 'maps/acme.yaml', line: 12, column: 14, ruleId: 'call' };
const node = (fields: Record<string, unknown>): Record<string, unknown> => Object.assign(Object.create(null) as Record<string, unknown>, fields);
const record = node({
  IncidentId: 'INC1',
  CallConnected: '2024-10-27 01:30:00',
  Origin: ' 999 ',
  Nhs: '943 476 5919',
  Pc: 'sw1a1aa',
  Ods: 'rx9',
  'Call Type': 'Cardiac',
  contacts: [node({ PatientNo: '1' }), node({ PatientNo: '2' })],
});

function compile(text: string, engine: 'auto' | 'fhirpath' = 'auto') {
  return compileExpression(text, span, env, { engine });
}
function evaluate(text: string, engine: 'auto' | 'fhirpath' = 'auto') {
  const { expression, diagnostics } = compile(text, engine);
  expect(diagnostics).toEqual([]);
  const reports: EvalReport[] = [];
  const result = expression?.evaluate(record, { record, contact: record['contacts'], submitterOds: 'RX9' }, { report: (r) => reports.push(r) });
  return { result, reports: reports.map((r) => r.code), expression };
}

describe('compile diagnostics point inside the expression', () => {
  const cases: [string, string, number, RegExp?][] = [
    ["CallConnected.dateTime(", 'MAP_EXPRESSION_SYNTAX', 14 + 23],
    ["a = 'x' and", 'MAP_EXPRESSION_SYNTAX', 14 + 11],
    ['Origin.tranlate(\'callOrigin\')', 'MAP_UNKNOWN_FUNCTION', 14 + 7, /translate\(\)/],
    ['IncidentId.substing(1)', 'MAP_UNKNOWN_FUNCTION', 14 + 11, /substring\(\)/],
    ['%record.x & %nope', 'MAP_UNKNOWN_VARIABLE', 14 + 12],
    ["ref('vehicle', IncidentId)", 'MAP_UNKNOWN_RULE', 14 + 4],
    ["Origin.translate('origin')", 'MAP_UNKNOWN_LOOKUP', 14 + 17],
    ["Origin.coding('nope')", 'MAP_UNKNOWN_LOOKUP', 14 + 14],
    ['Origin.translate()', 'MAP_BAD_ARGUMENT', 14 + 7],
    ["a.substring(1, 2, 3)", 'MAP_BAD_ARGUMENT', 14 + 2],
    ['not(a)', 'MAP_BAD_ARGUMENT', 14],
    ["ref('call')", 'MAP_BAD_ARGUMENT', 14],
    ['Origin.translate(Origin)', 'MAP_BAD_ARGUMENT', 14 + 17],
    ["CallConnected.dateTime('dd/MM/yyyy Q')", 'MAP_BAD_ARGUMENT', 14 + 23],
  ];
  it.each(cases)('%s ⟶ %s at column %d', (text, code, column, hint) => {
    const { expression, diagnostics } = compile(text);
    expect(expression).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual([code]);
    expect(diagnostics[0]?.rule).toMatchObject({ file: 'maps/acme.yaml', line: 12, column, ruleId: 'call' });
    expect(diagnostics[0]?.severity).toBe('error');
    if (hint) {
      expect(diagnostics[0]?.hint).toMatch(hint);
    }
  });
  it('reports a syntax error each time the text is compiled (a text that does not parse is not kept)', () => {
    for (let round = 0; round < 2; round++) {
      expect(compile("a = 'x' and").diagnostics.map((d) => d.code)).toEqual(['MAP_EXPRESSION_SYNTAX']);
    }
  });
  it('positions on a later line of a multi-line expression', () => {
    const { diagnostics } = compile("iif(a,\n  %nope, 'x')");
    expect(diagnostics[0]?.rule).toMatchObject({ line: 13, column: 3 });
  });
  it('reports an unknown time zone when dates are converted', () => {
    const bad = compileExpression('CallConnected.dateTime()', span, { ...env, timeZone: 'Europe/Lndon' });
    expect(bad.diagnostics.map((d) => d.code)).toEqual(['MAP_TIME_ZONE']);
    expect(compileExpression('IncidentId', span, { ...env, timeZone: 'Europe/Lndon' }).diagnostics).toEqual([]);
  });
  it('reports every problem, not only the first', () => {
    const { diagnostics } = compile("foo() & %nope & ref('x', 1)");
    expect(diagnostics.map((d) => d.code)).toEqual(['MAP_UNKNOWN_FUNCTION', 'MAP_UNKNOWN_VARIABLE', 'MAP_UNKNOWN_RULE']);
  });
});

describe('fields read', () => {
  it.each([
    ['CallConnected.dateTime()', ['CallConnected'], []],
    ['`Call Type` & %record.IncidentId', ['Call Type'], [['record', 'IncidentId']]],
    ["contacts.where(PatientNo = '1').PatientNo", ['contacts'], []],
    ["iif(Origin.exists(), Origin, 'x')", ['Origin'], []],
    ["ref('encounter', %record.IncidentId, %contact.PatientNo)", [], [['record', 'IncidentId'], ['contact', 'PatientNo']]],
    ['IncidentId.matches(Pc)', ['IncidentId', 'Pc'], []],
  ])('%s', (text, fields, variableFields) => {
    const { expression } = compile(text);
    expect(expression?.fields).toEqual(fields);
    expect(expression?.variableFields).toEqual(variableFields);
  });
});

describe('cadmap functions on both paths', () => {
  const cases: [string, unknown[], string[]][] = [
    ['CallConnected.dateTime()', ['2024-10-27T01:30:00+01:00'], ['MAP_DATE_OVERLAP']],
    ["'27/10/2024 01:30'.dateTime('dd/MM/yyyy HH:mm')", ['2024-10-27T01:30:00+01:00'], ['MAP_DATE_OVERLAP']],
    ['CallConnected.date()', ['2024-10-27'], []],
    ["'soon'.dateTime()", [], ['MAP_DATE_UNPARSEABLE']],
    ["Origin.translate('callOrigin')", ['01'], []],
    ["Origin.coding('callOrigin')", [{ system: 'urn:origin', code: '01', display: '999' }], []],
    ["'111'.translate('callOrigin')", [], ['MAP_LOOKUP_MISS']],
    ['Nhs.nhsNumber()', ['9434765919'], []],
    ["'123'.nhsNumber()", [], ['MAP_NHS_NUMBER_INVALID']],
    ['Nhs.isNhsNumber()', [true], []],
    ['Pc.postcode()', ['SW1A 1AA'], []],
    ['Ods.odsCode()', ['RX9'], []],
    ["ref('call', IncidentId)", [entryFullUrl(env.namespace, 'Communication', 'INC1')], []],
    ["contacts.select(ref('encounter', %record.IncidentId, PatientNo))", ['1', '2'].map((p) => entryFullUrl(env.namespace, 'Encounter', `INC1|${p}`)), []],
    ["ref('encounter', IncidentId, Missing)", [], []],
    ["ref('call', %submitterOds)", [entryFullUrl(env.namespace, 'Communication', 'RX9')], []],
  ];
  it.each(cases)('%s', (text, expected, reports) => {
    const fast = evaluate(text, 'auto');
    const slow = evaluate(text, 'fhirpath');
    expect(fast.expression?.fast).toBe(true);
    expect(fast.result).toEqual(expected);
    expect(fast.reports).toEqual(reports);
    expect(slow.result).toEqual(expected);
    expect(slow.reports).toEqual(reports);
  });
  it('uuid5() on both paths', () => {
    const fast = evaluate('IncidentId.uuid5()');
    expect(fast.result).toEqual(evaluate('IncidentId.uuid5()', 'fhirpath').result);
    expect(String(fast.result?.[0])).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('evaluation', () => {
  it('falls back to fhirpath.js outside the fast subset, with cadmap functions available', () => {
    const { result, expression } = evaluate("IncidentId.matches('^INC') and Pc.postcode().exists()");
    expect(expression?.fast).toBe(false);
    expect(result).toEqual([true]);
  });
  it('never throws: runtime failures become MAP_EVAL_ERROR and an empty result', () => {
    for (const engine of ['auto', 'fhirpath'] as const) {
      const plus = evaluate('contacts.PatientNo + 1', engine);
      expect(plus.result).toEqual([]);
      expect(plus.reports).toEqual(['MAP_EVAL_ERROR']);
    }
    const slow = evaluate("contacts.PatientNo.matches('1')");
    expect(slow.expression?.fast).toBe(false);
    expect(slow.reports).toEqual(['MAP_EVAL_ERROR']);
  });
  it('reads backtick names, variables, unions and indexers', () => {
    expect(evaluate('`Call Type`').result).toEqual(['Cardiac']);
    expect(evaluate('%contact.PatientNo | %record.contacts.PatientNo | IncidentId').result).toEqual(['1', '2', 'INC1']);
    expect(evaluate('contacts[1].PatientNo').result).toEqual(['2']);
    expect(evaluate("IncidentId + {}").result).toEqual([]);
    expect(evaluate("IncidentId & {}").result).toEqual(['INC1']);
  });
  it('treats a field holding undefined (an empty CSV cell) as absent, also when comparing rows', () => {
    const rows = [node({ PatientNo: '1', Note: undefined }), node({ PatientNo: '1' }), node({ PatientNo: '1', Note: 'x' })];
    const { expression } = compile('%contact[0] = %contact[1]');
    const equal = (a: number, b: number): unknown => expression?.evaluate(record, { record, contact: [rows[a], rows[b]] }, { report: () => undefined });
    expect(expression?.fast).toBe(true);
    expect(equal(0, 1)).toEqual([true]);
    expect(equal(1, 0)).toEqual([true]);
    expect(equal(0, 2)).toEqual([false]);
    expect(compile('%contact.Note.exists()').expression?.evaluate(record, { record, contact: [rows[0]] }, { report: () => undefined })).toEqual([false]);
  });
  it('leaves null items of a list out of a member path, from the item and from a variable', () => {
    const data = node({ Codes: ['a', null, 'b'], Kept: ['a', 'b'], Kids: [node({ Codes: [null] }), null, node({ Codes: ['c'] })] });
    const read = (text: string): unknown => compile(text).expression?.evaluate(data, { record: data }, { report: () => undefined });
    expect(read('Codes')).toEqual(['a', 'b']);
    expect(read('%record.Codes')).toEqual(['a', 'b']);
    expect(read('Kept')).toEqual(['a', 'b']);
    expect(read('Kids.Codes')).toEqual(['c']);
    expect(read('Codes.count()')).toEqual([2]);
  });
  it('compiles the fast subset to closures', () => {
    for (const text of ['IncidentId', 'a.b.c', "'x'", '42', 'true', '{}', "iif(a = 'x', b.upper(), c.lower())", "a.where($this != '').first().substring(0, 2)", 'a.trim().replace(\' \', \'\').length() > 3 xor b.empty()', "a.toInteger() * 2 - 1 / 4", 'arr.distinct().join(\', \')', "a.startsWith('x') implies b.contains('y')", 'a.toString() & b.toDecimal().toString()', 'a.last() | b.count().toString()', 'a.exists(b) or b.not()']) {
      expect(compile(text).expression?.fast, text).toBe(true);
    }
  });
});
