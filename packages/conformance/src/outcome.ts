import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';
import { conformanceCodes } from './codes.js';
import type { ConformanceIssue, Diagnostic, InputSpan, RuleSpan } from './codes.js';

/** Coding system of the CONF_* codes in `OperationOutcome.issue.details.coding`. */
export const conformanceCodeSystem = 'https://cadmap.dev/CodeSystem/conformance-issue';

/** Turns issues into one FHIR OperationOutcome (an `informational` "all OK" issue when there are none). */
export function toOperationOutcome(issues: readonly ConformanceIssue[]): OperationOutcome {
  if (issues.length === 0) {
    return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', details: { text: 'No issues found.' } }] };
  }
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i): OperationOutcomeIssue => ({
      severity: i.severity,
      code: conformanceCodes[i.code].issueType,
      details: { coding: [{ system: conformanceCodeSystem, code: i.code }], text: i.message },
      ...(i.hint !== undefined ? { diagnostics: i.hint } : {}),
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  };
}

/** Where an output element came from: the mapping rule and the source datum. */
export interface ProvenanceEntry {
  readonly rule?: RuleSpan;
  readonly input?: InputSpan;
}

/** Looks up the provenance of an exact output FHIRPath such as `Bundle.entry[0].resource.sent`. */
export type ProvenanceLookup = (expression: string) => ProvenanceEntry | undefined;

/** A conformance issue as a cadmap Diagnostic, with rule and input filled when provenance knows them. */
export type ConformanceDiagnostic = ConformanceIssue & Pick<Diagnostic, 'rule' | 'input'>;

/**
 * Fills `rule` and `input` of each issue from provenance. A path with no exact entry walks up to its nearest
 * ancestor (`…identifier[0].system` ⟶ `…identifier[0]` ⟶ `…identifier` ⟶ …).
 */
export function attachProvenance(issues: readonly ConformanceIssue[], lookup: ProvenanceLookup): ConformanceDiagnostic[] {
  return issues.map((issue) => {
    let path: string | undefined = issue.expression;
    let found: ProvenanceEntry | undefined;
    while (path) {
      found = lookup(path);
      if (found?.rule || found?.input) {break;}
      path = parentPath(path);
    }
    if (!found) {return issue;}
    return { ...issue, ...(found.rule ? { rule: found.rule } : {}), ...(found.input ? { input: found.input } : {}) };
  });
}

/** The FHIRPath one step up: drops a trailing `[n]`, else the last `.name`. */
export function parentPath(path: string): string | undefined {
  if (path.endsWith(']')) {return path.slice(0, path.lastIndexOf('['));}
  const dot = path.lastIndexOf('.');
  return dot > 0 ? path.slice(0, dot) : undefined;
}

export interface TextRenderOptions {
  /** Returns extra lines (e.g. YAML and source code frames from core's renderer) shown under an issue. */
  readonly frame?: (issue: ConformanceDiagnostic) => string | undefined;
}

/** A human-readable list, one issue per paragraph, errors first. */
export function renderText(issues: readonly ConformanceDiagnostic[], options: TextRenderOptions = {}): string {
  if (issues.length === 0) {return 'No conformance issues.\n';}
  const order = { fatal: 0, error: 1, warning: 2, information: 3 } as const;
  const sorted = [...issues].sort((a, b) => order[a.severity] - order[b.severity]);
  const lines: string[] = [];
  for (const i of sorted) {
    lines.push(`${i.severity} ${i.code} at ${i.expression || '(package)'}`);
    lines.push(`  ${i.message}`);
    if (i.rule) {lines.push(`  rule: ${i.rule.file}:${i.rule.line}:${i.rule.column}${i.rule.yamlPath ? ` (${i.rule.yamlPath})` : ''}`);}
    if (i.input) {lines.push(`  input: ${describeInput(i.input)}`);}
    if (i.hint) {lines.push(`  hint: ${i.hint}`);}
    const frame = options.frame?.(i);
    if (frame) {lines.push(...frame.split('\n').map((l) => `  ${l}`));}
  }
  const counts = (['fatal', 'error', 'warning', 'information'] as const).map((s) => [s, issues.filter((i) => i.severity === s).length] as const).filter(([, n]) => n > 0);
  lines.push('', counts.map(([s, n]) => `${n} ${s}${n === 1 ? '' : s === 'information' ? '' : 's'}`).join(', '));
  return `${lines.join('\n')}\n`;
}

function describeInput(input: InputSpan): string {
  const parts = [input.file];
  if (input.line !== undefined) {parts[0] = `${input.file}:${input.line}${input.column !== undefined ? `:${input.column}` : ''}`;}
  if (input.row !== undefined) {parts.push(`row ${input.row}`);}
  if (input.field !== undefined) {parts.push(`field ${input.field}`);}
  if (input.pointer !== undefined) {parts.push(`pointer ${input.pointer}`);}
  if (input.xpath !== undefined) {parts.push(`xpath ${input.xpath}`);}
  if (input.recordKey !== undefined) {parts.push(`record ${input.recordKey}`);}
  return parts.join(', ');
}

/** The JSON renderer: the issues as one OperationOutcome. */
export function renderJson(issues: readonly ConformanceIssue[]): string {
  return `${JSON.stringify(toOperationOutcome(issues), null, 2)}\n`;
}

export interface SarifOptions {
  readonly toolVersion?: string;
  /** URI of the checked file (used when an issue has no input or rule span). */
  readonly artifactUri?: string;
}

/** SARIF 2.1.0 log with one run; rule ids are the CONF_* codes; locations from rule/input spans when present. */
export function renderSarif(issues: readonly ConformanceDiagnostic[], options: SarifOptions = {}): string {
  const usedCodes = [...new Set(issues.map((i) => i.code))].sort();
  const level = (s: ConformanceIssue['severity']): string => (s === 'fatal' || s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note');
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'cadmap-conformance',
            ...(options.toolVersion ? { version: options.toolVersion } : {}),
            informationUri: 'https://hl7.org/fhir/R4/validation.html',
            rules: usedCodes.map((code) => ({ id: code, shortDescription: { text: conformanceCodes[code].meaning } })),
          },
        },
        results: issues.map((i) => {
          const locations: unknown[] = [];
          if (i.rule) {
            locations.push({ physicalLocation: { artifactLocation: { uri: i.rule.file }, region: { startLine: i.rule.line, startColumn: i.rule.column } } });
          }
          if (i.input) {
            locations.push({
              physicalLocation: {
                artifactLocation: { uri: i.input.file },
                ...(i.input.line !== undefined ? { region: { startLine: i.input.line, ...(i.input.column !== undefined ? { startColumn: i.input.column } : {}) } } : {}),
              },
            });
          }
          if (locations.length === 0 && options.artifactUri) {locations.push({ physicalLocation: { artifactLocation: { uri: options.artifactUri } } });}
          return {
            ruleId: i.code,
            level: level(i.severity),
            message: { text: i.hint ? `${i.message} ${i.hint}` : i.message },
            ...(locations.length ? { locations } : {}),
            logicalLocations: [{ fullyQualifiedName: i.expression, kind: 'element' }],
          };
        }),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
