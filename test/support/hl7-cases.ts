/**
 * Runs the HL7 Java validator's own R4 test cases (../shared/reference/fhir-test-cases-r4, see its README) through
 * the cadmap checker in one process and scores the outcomes: a check agrees when the checker reports an error or
 * fatal issue exactly when the expected OperationOutcome has one. Used by the floor test and by `npm run bench`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FhirPackageRegistry, createChecker } from '../../packages/conformance/src/index.js';
import type { CheckerOptions, ConformanceIssue } from '../../packages/conformance/src/index.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The suite's folder: `validator/manifest.json` and the files it names. */
export const hl7CasesDir = join(process.env.FHIR_REFERENCE_DIR ?? join(projectRoot, '..', 'shared', 'reference'), 'fhir-test-cases-r4', 'validator');
export const hasHl7Cases = existsSync(join(hl7CasesDir, 'manifest.json'));

interface ManifestStep {
  readonly source?: string;
  readonly supporting?: readonly string[];
  readonly packages?: readonly string[];
  readonly java?: string | { readonly errorCount?: number };
}

interface ManifestCase extends ManifestStep {
  readonly name: string;
  readonly file: string;
  readonly module: string;
  readonly profiles?: readonly string[];
  /** Supporting files in R5 form (definitions the R4 checker can still read). */
  readonly supporting5?: readonly string[];
  readonly profile?: ManifestStep;
  readonly 'package-map'?: Readonly<Record<string, string>>;
  readonly 'best-practice'?: string;
  readonly 'allowed-extension-domain'?: string | readonly string[];
}

/** One scored check: a case's base step or its profile step. */
export interface CheckOutcome {
  readonly name: string;
  readonly step: 'base' | 'profile';
  readonly module: string;
  readonly format: 'json' | 'xml';
  readonly expectedErrors: number;
  /** Expected error locations (FHIRPath, normalised), where the expected outcome gives them. */
  readonly expectedLocations: readonly string[];
  readonly errors: readonly ConformanceIssue[];
  readonly agrees: boolean;
  /** Expected locations that one of the checker's errors points at (the same element, an ancestor or a descendant). */
  readonly locatedErrors: number;
  readonly crash: string | undefined;
}

export interface ModuleScore {
  readonly module: string;
  readonly checks: number;
  readonly agreed: number;
  /** Expected valid, but the checker reported errors. */
  readonly falseErrors: number;
  /** Expected invalid, but the checker reported no error. */
  readonly missedErrors: number;
  readonly expectedLocations: number;
  readonly locatedErrors: number;
  readonly crashes: number;
}

export interface Hl7CasesReport {
  readonly cases: number;
  readonly checks: readonly CheckOutcome[];
  readonly modules: readonly ModuleScore[];
  readonly total: ModuleScore;
  readonly milliseconds: number;
}

/** Runs every case of the manifest; one shared R4 core registry, a small registry per case on top of it. */
export function runHl7Cases(dir = hl7CasesDir): Hl7CasesReport {
  const started = performance.now();
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { 'test-cases': ManifestCase[] };
  const core = new FhirPackageRegistry();
  core.loadR4Core();
  const checks: CheckOutcome[] = [];
  for (const entry of manifest['test-cases']) {
    checks.push(runStep(dir, core, entry, 'base'));
    if (entry.profile) {checks.push(runStep(dir, core, entry, 'profile'));}
  }
  const byModule = new Map<string, CheckOutcome[]>();
  for (const check of checks) {
    const list = byModule.get(check.module) ?? [];
    list.push(check);
    byModule.set(check.module, list);
  }
  const modules = [...byModule.entries()].map(([module, list]) => score(module, list)).sort((a, b) => b.checks - a.checks || a.module.localeCompare(b.module));
  return { cases: manifest['test-cases'].length, checks, modules, total: score('all', checks), milliseconds: performance.now() - started };
}

function runStep(dir: string, core: FhirPackageRegistry, entry: ManifestCase, step: 'base' | 'profile'): CheckOutcome {
  const format = entry.file.endsWith('.xml') ? 'xml' : 'json';
  const expected = expectedOutcome(dir, entry, step);
  const base = { name: entry.name, step, module: entry.module, format, expectedErrors: expected.errors, expectedLocations: expected.locations } as const;
  try {
    const registry = new FhirPackageRegistry({ parent: core });
    const sources = [...(entry.supporting ?? []), ...(entry.supporting5 ?? []), ...(entry.profiles ?? []), ...(entry.packages ?? []), ...Object.values(entry['package-map'] ?? {})];
    const profiles: string[] = [];
    if (step === 'profile' && entry.profile) {
      sources.push(...(entry.profile.supporting ?? []), ...(entry.profile.packages ?? []));
      const source = entry.profile.source;
      if (source !== undefined && existsSync(join(dir, source))) {
        sources.push(source);
        profiles.push(canonicalOf(join(dir, source), registry));
      } else if (source !== undefined) {
        profiles.push(source);
      }
    }
    const options: CheckerOptions = {
      registry,
      // The HL7 validator (as run for these outcomes) does not fetch profiles a resource only claims: a warning.
      unresolvedClaims: 'warning',
      packages: sources.map((s) => join(dir, s)),
      ...(entry['best-practice'] === 'Ignore' ? { bestPractice: 'ignore' as const } : entry['best-practice'] === 'Hint' ? { bestPractice: 'information' as const } : {}),
    };
    const checker = createChecker(options);
    const result = checker.checkText(readFileSync(join(dir, entry.file), 'utf8'), { file: entry.file, format, ...(profiles.length ? { profiles } : {}) });
    const errors = result.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    const agrees = expected.errors === 0 ? errors.length === 0 : errors.length > 0;
    const ours = errors.map((e) => normaliseExpression(e.expression));
    const locatedErrors = expected.locations.filter((l) => ours.some((o) => related(l, o))).length;
    return { ...base, errors, agrees, locatedErrors, crash: undefined };
  } catch (error) {
    return { ...base, errors: [], agrees: false, locatedErrors: 0, crash: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

/** The url of the profile in a file (read with a throwaway registry so the case's own registry stays as loaded). */
function canonicalOf(file: string, core: FhirPackageRegistry): string {
  const probe = new FhirPackageRegistry({ parent: core });
  return probe.loadPackage(file)?.urls?.[0] ?? file;
}

function expectedOutcome(dir: string, entry: ManifestCase, step: 'base' | 'profile'): { errors: number; locations: string[] } {
  const java = step === 'base' ? entry.java : entry.profile?.java;
  if (typeof java === 'object') {return { errors: java.errorCount ?? 0, locations: [] };}
  const named = typeof java === 'string' ? join(dir, 'outcomes', java) : undefined;
  const file = named && existsSync(named) ? named : join(dir, 'outcomes', 'java', `R4.${entry.name.replace(/\//g, '-')}-${step}.json`);
  const outcome = JSON.parse(readFileSync(file, 'utf8')) as { issue?: { severity: string; expression?: string[] }[] };
  const errors = (outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  return { errors: errors.length, locations: errors.map((i) => normaliseExpression(i.expression?.[0] ?? '')) };
}

/** HL7's `a.value.ofType(Quantity)` and `/*comment*\/` forms, and the checker's `a.valueQuantity`, made comparable. */
export function normaliseExpression(expression: string): string {
  return expression
    .replace(/\/\*.*?\*\//g, '')
    .replace(/\[url='[^']*'\]/g, '')
    .replace(/\.(\w+)\.ofType\((\w+)\)/g, (_, name: string, type: string) => `.${name}${type.charAt(0).toUpperCase()}${type.slice(1)}`);
}

function related(a: string, b: string): boolean {
  if (a === b) {return true;}
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  return longer.startsWith(shorter) && (longer[shorter.length] === '.' || longer[shorter.length] === '[');
}

function score(module: string, checks: readonly CheckOutcome[]): ModuleScore {
  return {
    module,
    checks: checks.length,
    agreed: checks.filter((c) => c.agrees).length,
    falseErrors: checks.filter((c) => !c.agrees && c.expectedErrors === 0).length,
    missedErrors: checks.filter((c) => !c.agrees && c.expectedErrors > 0).length,
    expectedLocations: checks.filter((c) => c.errors.length > 0).reduce((n, c) => n + c.expectedLocations.length, 0),
    locatedErrors: checks.reduce((n, c) => n + c.locatedErrors, 0),
    crashes: checks.filter((c) => c.crash !== undefined).length,
  };
}

const percent = (n: number, of: number): string => (of === 0 ? '–' : `${((100 * n) / of).toFixed(1)}%`);

/** The report as Markdown: one row per module (category) and a total, then every disagreement. */
export function formatHl7Report(report: Hl7CasesReport, options: { readonly disagreements?: boolean } = {}): string {
  const lines = [
    `HL7 validator R4 test cases: ${report.cases} cases, ${report.checks.length} checks, ${(report.milliseconds / 1000).toFixed(1)} s in one process`,
    '',
    '| category | checks | agree | agreement | false errors | missed errors | located errors | crashes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const m of [...report.modules, report.total]) {
    const name = m === report.total ? '**all**' : m.module;
    lines.push(`| ${name} | ${m.checks} | ${m.agreed} | ${percent(m.agreed, m.checks)} | ${m.falseErrors} | ${m.missedErrors} | ${m.locatedErrors}/${m.expectedLocations} | ${m.crashes} |`);
  }
  for (const format of ['json', 'xml'] as const) {
    const subset = report.checks.filter((c) => c.format === format);
    lines.push(`${format.toUpperCase()} instances: ${subset.filter((c) => c.agrees).length}/${subset.length} agree (${percent(subset.filter((c) => c.agrees).length, subset.length)})`);
  }
  if (options.disagreements) {
    lines.push('', 'Disagreements:');
    for (const c of report.checks.filter((x) => !x.agrees)) {
      const what = c.crash ? `CRASH ${c.crash.split('\n')[0] ?? ''}` : c.expectedErrors === 0 ? `false error: ${c.errors.slice(0, 3).map((e) => `${e.code} ${e.expression} ${e.message}`).join(' | ')}` : `missed ${c.expectedErrors} error(s) at ${c.expectedLocations.slice(0, 3).join(', ')}`;
      lines.push(`- ${c.module} ${c.name} [${c.step}, ${c.format}]: ${what}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
