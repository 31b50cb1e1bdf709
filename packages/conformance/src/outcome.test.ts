import { describe, expect, it } from 'vitest';
import type { ConformanceIssue } from './codes.js';
import { attachProvenance, conformanceCodeSystem, parentPath, renderJson, renderSarif, renderText, toOperationOutcome } from './outcome.js';

const issues: ConformanceIssue[] = [
  { code: 'CONF_CARDINALITY', severity: 'error', expression: 'Bundle.entry[2].resource.identifier[0].system', message: 'Identifier.system is required.', hint: 'Add system.' },
  { code: 'CONF_NOT_CHECKED_OFFLINE', severity: 'information', expression: 'Bundle.entry[3].resource.code', message: 'SNOMED not checked.' },
];

describe('outputs', () => {
  it('OperationOutcome carries severity, IssueType, CONF code, text and FHIRPath expression', () => {
    const outcome = toOperationOutcome(issues);
    expect(outcome.issue[0]).toEqual({
      severity: 'error',
      code: 'structure',
      details: { coding: [{ system: conformanceCodeSystem, code: 'CONF_CARDINALITY' }], text: 'Identifier.system is required.' },
      diagnostics: 'Add system.',
      expression: ['Bundle.entry[2].resource.identifier[0].system'],
    });
    expect(outcome.issue[1]?.code).toBe('informational');
    expect(toOperationOutcome([]).issue).toEqual([{ severity: 'information', code: 'informational', details: { text: 'No issues found.' } }]);
    expect(JSON.parse(renderJson(issues))).toEqual(outcome);
  });

  it('parentPath walks up indexes, then names', () => {
    const steps: string[] = [];
    let p: string | undefined = 'Bundle.entry[2].resource.identifier[0].system';
    while (p) {
      steps.push(p);
      p = parentPath(p);
    }
    expect(steps).toEqual([
      'Bundle.entry[2].resource.identifier[0].system',
      'Bundle.entry[2].resource.identifier[0]',
      'Bundle.entry[2].resource.identifier',
      'Bundle.entry[2].resource',
      'Bundle.entry[2]',
      'Bundle.entry',
      'Bundle',
    ]);
  });

  it('attachProvenance prefers the exact path and leaves unknown paths alone', () => {
    const rule = { file: 'm.yaml', line: 3, column: 5 };
    const exact = { file: 'm.yaml', line: 9, column: 7 };
    const table = new Map([
      ['Bundle.entry[2].resource', { rule, input: { file: 'calls.csv', row: 4, field: 'Id' } }],
      ['Bundle.entry[2].resource.identifier[0].system', { rule: exact }],
    ]);
    const [first, second] = attachProvenance(issues, (p) => table.get(p));
    expect(first?.rule).toEqual(exact);
    expect(first?.input).toBeUndefined();
    expect(second).toEqual(issues[1]);
  });

  it('text lists errors first with rule, input, hint and a frame hook', () => {
    const text = renderText([issues[1] as ConformanceIssue, { ...(issues[0] as ConformanceIssue), rule: { file: 'm.yaml', line: 3, column: 5 }, input: { file: 'calls.csv', line: 5, row: 4, field: 'Id' } }], {
      frame: (i) => (i.rule ? '> 3 | system: x' : undefined),
    });
    expect(text).toMatchInlineSnapshot(`
      "error CONF_CARDINALITY at Bundle.entry[2].resource.identifier[0].system
        Identifier.system is required.
        rule: m.yaml:3:5
        input: calls.csv:5, row 4, field Id
        hint: Add system.
        > 3 | system: x
      information CONF_NOT_CHECKED_OFFLINE at Bundle.entry[3].resource.code
        SNOMED not checked.

      1 error, 1 information
      "
    `);
  });

  it('SARIF 2.1.0 with CONF rules, levels and locations', () => {
    const log = JSON.parse(renderSarif([{ ...(issues[0] as ConformanceIssue), rule: { file: 'm.yaml', line: 3, column: 5 } }, issues[1] as ConformanceIssue], { toolVersion: '0.1.0', artifactUri: 'bundle.json' }));
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(['CONF_CARDINALITY', 'CONF_NOT_CHECKED_OFFLINE']);
    expect(run.results[0]).toMatchObject({ ruleId: 'CONF_CARDINALITY', level: 'error', locations: [{ physicalLocation: { artifactLocation: { uri: 'm.yaml' }, region: { startLine: 3, startColumn: 5 } } }] });
    expect(run.results[1]).toMatchObject({ level: 'note', locations: [{ physicalLocation: { artifactLocation: { uri: 'bundle.json' } } }], logicalLocations: [{ fullyQualifiedName: 'Bundle.entry[3].resource.code' }] });
  });
});
