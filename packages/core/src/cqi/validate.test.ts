import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { canonicalCqiCase, nodeKindOf, type CqiCase } from './model.js';
import { schemaAjvOptions } from '../precompiled-validators.js';
import { cqiCaseSchemaPath, standaloneCqiValidator, validateCqiCase } from './validate.js';

const line = (sequence: number, overrides: Partial<CqiCase['triageLines'][number]> = {}): CqiCase['triageLines'][number] => ({
  sequence,
  userId: 'JW',
  timeIn: `2024-03-01T11:15:${String(sequence).padStart(2, '0')}.1234567Z`,
  timeOut: `2024-03-01T11:15:${String(sequence).padStart(2, '0')}.7654321Z`,
  pathwayId: 'PW1751',
  orderNumber: String(sequence * 100),
  nodeId: `Tx22${String(sequence).padStart(4, '0')}`,
  nodeKind: 'question',
  questionText: 'Is the patient breathing?',
  answerNumber: 1,
  answerText: 'Yes',
  includeInReport: true,
  action: 'Next',
  interfaceId: 0,
  ...overrides,
});

function validCase(): CqiCase {
  return {
    schemaVersion: 'cqi-case/1.0.0',
    status: 'complete',
    case: {
      caseId: '00000000-0000-4000-8000-000000000001',
      triageStart: '2024-03-01T11:14:52.4312169Z',
      triageEnd: '2024-03-01T11:17:20.2037808Z',
      pathwaysReleaseId: '25.2.0',
      pathwaysReleaseLabel: '25.2.0_internalV3',
      party: 1,
      trauma: { id: 0, description: 'Non Trauma' },
    },
    operator: { callHandlerUserId: 'JW', skillset: { id: 5, description: '111 Call Handler' } },
    startingPathway: { id: 'PW1751', description: 'Mental Health Problems' },
    symptomGroup: { system: 'https://fhir.nhs.uk/Id/pathways-sg-code', code: '1203' },
    finalDisposition: { system: 'https://fhir.nhs.uk/Id/pathways-dx-code', code: 'Dx012', cmsId: 11012 },
    triageLines: [line(1), line(2), line(3, { nodeId: 'Dx220041', nodeKind: 'disposition', disposition: { code: 'Dx012' } })],
  };
}

const codes = (value: unknown): string[] => validateCqiCase(value).diagnostics.map((d) => `${d.code} ${d.severity} ${d.expression ?? ''}`);

describe('validateCqiCase', () => {
  it('accepts a valid case with no diagnostics and returns it typed', () => {
    const result = validateCqiCase(validCase());
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.case?.case.caseId).toBe('00000000-0000-4000-8000-000000000001');
  });

  it('reports a line whose time out is before its time in, naming the case and line, with a Case path', () => {
    const value = validCase();
    value.triageLines[1] = line(2, { timeIn: '2024-03-01T11:15:02.0000002Z', timeOut: '2024-03-01T11:15:02.0000001Z' });
    const [problem, ...rest] = validateCqiCase(value).diagnostics;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ code: 'CQI_LINE_TIME_ORDER', severity: 'error', expression: 'Case.triageLines[1].timeOut' });
    expect(problem?.message).toContain('Case 00000000-0000-4000-8000-000000000001, line 2 (sequence 2)');
  });

  it('compares instants across zones and to the nanosecond', () => {
    const value = validCase();
    value.case.triageStart = '2024-03-01T12:00:00+01:00';
    value.case.triageEnd = '2024-03-01T10:59:59.999999999Z';
    expect(codes(value)).toEqual(['CQI_TRIAGE_TIME_ORDER error Case.case.triageEnd']);
    value.case.triageEnd = '2024-03-01T11:00:00Z';
    expect(codes(value)).toEqual([]);
  });

  it('requires a final disposition on a complete case only', () => {
    const value = validCase();
    delete value.finalDisposition;
    expect(codes(value)).toEqual(['CQI_FINAL_DISPOSITION_MISSING error Case.finalDisposition']);
    value.status = 'partial';
    expect(codes(value)).toEqual([]);
  });

  it('keeps Dx codes as strings: a number is a schema error, a malformed or node id a warning', () => {
    const value = validCase() as unknown as { finalDisposition: { code: unknown } };
    value.finalDisposition.code = 12;
    expect(codes(value)).toEqual(['CQI_SCHEMA error Case.finalDisposition.code']);
    value.finalDisposition.code = 'Dx220041';
    const [warning] = validateCqiCase(value).diagnostics;
    expect(warning).toMatchObject({ code: 'CQI_DX_CODE', severity: 'warning' });
    expect(warning?.hint).toMatch(/disposition node id/);
  });

  it('checks SG, SD, pathway, release and node-kind formats as warnings', () => {
    const value = validCase();
    value.symptomGroup = { system: 'https://fhir.nhs.uk/Id/pathways-sg-code', code: 'SG1203' };
    value.symptomDiscriminators = [{ system: 'https://fhir.nhs.uk/Id/pathways-sd-code', code: '0' }];
    value.case.pathwaysReleaseId = '25.2';
    value.triageLines[0] = line(1, { pathwayId: 'pw1751', nodeKind: 'careAdvice' });
    expect(codes(value).sort()).toEqual([
      'CQI_NODE_KIND warning Case.triageLines[0].nodeKind',
      'CQI_PATHWAY_ID warning Case.triageLines[0].pathwayId',
      'CQI_RELEASE_ID warning Case.case.pathwaysReleaseId',
      'CQI_RELEASE_ID warning Case.case.pathwaysReleaseLabel',
      'CQI_SD_CODE warning Case.symptomDiscriminators[0].code',
      'CQI_SG_CODE warning Case.symptomGroup.code',
    ]);
    expect(validateCqiCase(value).valid).toBe(true);
  });

  it('maps schema problems to paths: missing, unknown, wrong type, empty, bad version, unordered lines', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test breaks the types on purpose
    const value = validCase() as unknown as Record<string, any>;
    delete value.case.caseId;
    value.case.colour = 'red';
    value.triageLines[0].answerNumber = '1';
    value.triageLines[0].answerText = '';
    value.triageLines[2].sequence = 2;
    value.schemaVersion = 'cqi-case/2.0.0';
    expect(codes(value).sort()).toEqual([
      'CQI_LINE_SEQUENCE error Case.triageLines[2].sequence',
      'CQI_SCHEMA error Case.case.caseId',
      'CQI_SCHEMA error Case.case.colour',
      'CQI_SCHEMA error Case.triageLines[0].answerNumber',
      'CQI_SCHEMA error Case.triageLines[0].answerText',
      'CQI_SCHEMA_VERSION error Case.schemaVersion',
    ]);
    const typeProblem = validateCqiCase(value).diagnostics.find((d) => d.expression === 'Case.triageLines[0].answerNumber');
    expect(typeProblem?.message).toBe('The case on triage line 1: Case.triageLines[0].answerNumber must be an integer; found "1".');
    expect(typeProblem?.hint).toMatch(/toInteger/);
  });

  it('reports a non-object without throwing', () => {
    expect(codes('not a case')).toEqual(['CQI_SCHEMA error Case']);
    expect(codes(null)).toEqual(['CQI_SCHEMA error Case']);
  });

  it('publishes the schema file with its $id and derives node kinds', () => {
    const schema = JSON.parse(readFileSync(cqiCaseSchemaPath, 'utf8')) as { $id: string };
    expect(schema.$id).toMatch(/cqi-case-1\.0\.0/);
    expect(['Tx1', 'Cx2', 'Dx220041', 'Dx75', 'DOS', 'PW1'].map(nodeKindOf)).toEqual(['question', 'careAdvice', 'disposition', 'other', 'dosSearch', 'other']);
  });

  it('canonicalises null, empty objects and empty lists away', () => {
    const value = { ...validCase(), patient: { nhsNumber: null }, symptomDiscriminators: [], selectedService: null };
    expect(canonicalCqiCase(value)).toEqual(validCase());
  });
});

/**
 * The build writes the case schema's validator as standalone code (scripts/precompile-schema.mjs;
 * test/build.test.ts checks it did); it must judge every value exactly as the schema compiled at run time does,
 * errors included (the diagnostics are made from them).
 */
describe('precompiled CQI case validator', () => {
  it('accepts and rejects the same values with the same errors', () => {
    const module = { exports: {} as Record<string, unknown> };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the code is ajv's own output for our schema
    new Function('exports', 'require', 'module', standaloneCqiValidator())(module.exports, createRequire(import.meta.url), module);
    const standalone = module.exports['cqiCase'] as ValidateFunction;
    const compiled = new Ajv(schemaAjvOptions).compile(JSON.parse(readFileSync(cqiCaseSchemaPath, 'utf8')) as Record<string, unknown>);
    const broken = validCase() as unknown as Record<string, unknown>;
    broken['schemaVersion'] = 'cqi-case/2';
    broken['extra'] = true;
    (broken['case'] as Record<string, unknown>)['party'] = 'one';
    const values: unknown[] = [validCase(), {}, null, [], 'case', broken, { ...validCase(), triageLines: [line(1, { sequence: -1, nodeKind: 'bogus' as never })] }];
    for (const value of values) {
      expect(standalone(value)).toBe(compiled(value));
      expect(JSON.stringify(standalone.errors ?? null)).toBe(JSON.stringify(compiled.errors ?? null));
    }
    expect(compiled(broken)).toBe(false);
  });
});
