import type { OperationOutcome } from 'fhir/r4.js';
import type { ConformanceIssue } from './codes.js';
import { readFhirJson } from './json.js';
import { toOperationOutcome } from './outcome.js';
import { FhirPackageRegistry } from './registry.js';
import type { PackageProblem } from './registry.js';
import { readFhirXml } from './xml.js';
import type { ParsedResource } from './xml.js';
import { Validator } from './validator.js';
import type { BestPracticeMode, UnknownExtensionMode } from './validator.js';

/** Options of {@link createChecker}. */
export interface CheckerOptions {
  /** FHIR packages to load: package folders, flat folders of resources, `.tgz` files or `name#version`. */
  readonly packages?: readonly string[];
  /** A registry already loaded (then `packages`, `coreCacheDir` and `fhirCacheDir` add to it). */
  readonly registry?: FhirPackageRegistry;
  /** Folder of the split R4 core cache (built on first use); without it the R4 bundles are parsed whole. */
  readonly coreCacheDir?: string;
  /** Standard FHIR package cache for `name#version` sources; default `~/.fhir/packages`. */
  readonly fhirCacheDir?: string;
  /** Canonical aliases: a URL used in data or configuration ⟶ the URL of the loaded definition. */
  readonly canonicalAliases?: Readonly<Record<string, string>>;
  /** Profiles applied by resource type when a resource has no `meta.profile`. */
  readonly defaultProfiles?: Readonly<Record<string, string | readonly string[]>>;
  /** Reporting of best-practice invariants such as dom-6; default `warning` (as the HL7 validator). */
  readonly bestPractice?: BestPracticeMode;
  /**
   * The checker fails closed: a package that fails to load, a profile (meta.profile, `profiles`, type profile)
   * that cannot be resolved and a snapshot that cannot be generated are errors. `true` makes them all warnings;
   * a list makes warnings of those it names (canonical URLs, with or without `|version`, or package sources).
   */
  readonly allowUnresolved?: boolean | readonly string[];
  /**
   * Severity of a profile that only a resource's own `meta.profile` claims and that cannot be resolved; default
   * `error`. The HL7 validator reports these as warnings (claims it does not check).
   */
  readonly unresolvedClaims?: 'error' | 'warning';
  /** Severity of an extension no loaded package defines; default `error` (as the HL7 validator). */
  readonly unknownExtensions?: UnknownExtensionMode;
  /** URL prefixes of extensions accepted without a definition (besides example.org, acme.com and nema.org). */
  readonly extensionDomains?: readonly string[];
}

/** Per-call options. */
export interface CheckOptions {
  /** Profiles to check the (top-level) resource against, in addition to its `meta.profile`. */
  readonly profiles?: readonly string[];
}

/** Options of {@link Checker.checkText}. */
export interface TextCheckOptions extends CheckOptions {
  /** `json` or `xml`; by default XML when the text starts with `<`, else JSON. */
  readonly format?: 'json' | 'xml';
  /** The file name put in each issue's `input` span (with the line and column of the element). */
  readonly file?: string;
}

export interface CheckResult {
  /** No issue of severity error or fatal. */
  readonly valid: boolean;
  readonly issues: readonly ConformanceIssue[];
  readonly outcome: OperationOutcome;
}

export interface EntryCheckResult {
  readonly index: number;
  readonly fullUrl: string | undefined;
  readonly issues: readonly ConformanceIssue[];
  readonly outcome: OperationOutcome;
}

export interface BundleCheckResult extends CheckResult {
  /** The issues of each entry (expression under `Bundle.entry[i]`), as an OperationOutcome per resource. */
  readonly entries: readonly EntryCheckResult[];
}

export interface TextCheckResult extends CheckResult {
  /** The resource read from the text (FHIR JSON form; XML is converted), undefined when it could not be read. */
  readonly resource: Record<string, unknown> | undefined;
}

export interface Checker {
  checkResource(resource: unknown, options?: CheckOptions): CheckResult;
  checkBundle(bundle: unknown, options?: CheckOptions): BundleCheckResult;
  /**
   * Reads FHIR JSON or XML text and checks the resource in it; every issue carries an `input` span with the file,
   * line and column of the element concerned. Problems of the format itself (not well-formed, element order,
   * unknown attributes, duplicate JSON properties …) are issues too.
   */
  checkText(text: string, options?: TextCheckOptions): TextCheckResult;
  /**
   * Problems met loading packages (known as soon as the checker is created, and included in every result so that
   * a check fails closed) and generating snapshots (met as profiles are first used), as CONF_PACKAGE issues.
   */
  readonly loadIssues: readonly ConformanceIssue[];
  readonly registry: FhirPackageRegistry;
}

/** Creates a conformance checker over R4 core plus the given packages. Reuse it: it caches everything it compiles. */
export function createChecker(options: CheckerOptions = {}): Checker {
  let registry = options.registry;
  if (!registry) {
    registry = new FhirPackageRegistry();
    registry.loadR4Core(options.coreCacheDir !== undefined ? { cacheDir: options.coreCacheDir } : {});
  }
  for (const source of options.packages ?? []) {
    registry.loadPackage(source, options.fhirCacheDir !== undefined ? { fhirCacheDir: options.fhirCacheDir } : {});
  }
  for (const [from, to] of Object.entries(options.canonicalAliases ?? {})) {registry.addAlias(from, to);}
  const validator = new Validator(registry, {
    ...(options.defaultProfiles ? { defaultProfiles: options.defaultProfiles } : {}),
    ...(options.bestPractice ? { bestPractice: options.bestPractice } : {}),
    ...(options.allowUnresolved !== undefined ? { allowUnresolved: options.allowUnresolved } : {}),
    ...(options.unknownExtensions ? { unknownExtensions: options.unknownExtensions } : {}),
    ...(options.unresolvedClaims ? { unresolvedClaims: options.unresolvedClaims } : {}),
    ...(options.extensionDomains ? { extensionDomains: options.extensionDomains } : {}),
  });
  const reg = registry;
  const allowed = (source: string): boolean => options.allowUnresolved === true || (Array.isArray(options.allowUnresolved) && options.allowUnresolved.includes(source));
  const asIssue = (p: PackageProblem): ConformanceIssue => ({ code: 'CONF_PACKAGE', severity: allowed(p.source) ? 'warning' : 'error', expression: '', message: `${p.source}: ${p.message}`, ...(allowed(p.source) ? {} : { hint: 'Fix or remove the package, or accept it with --allow-unresolved.' }) });
  const packageIssues: readonly ConformanceIssue[] = registry.problems.map(asIssue);
  const withLoadIssues = (issues: ConformanceIssue[]): ConformanceIssue[] => (packageIssues.length > 0 ? [...packageIssues, ...issues] : issues);
  const check = (resource: unknown, checkOptions?: CheckOptions): CheckResult => {
    const issues = withLoadIssues(validator.validate(resource, checkOptions?.profiles ?? []));
    return { valid: !issues.some(isError), issues, outcome: toOperationOutcome(issues) };
  };
  const checkText = (text: string, textOptions: TextCheckOptions = {}): TextCheckResult => {
    const format = textOptions.format ?? (/^\uFEFF?\s*</.test(text) ? 'xml' : 'json');
    const parsed: ParsedResource = format === 'xml' ? readFhirXml(text, (name) => reg.coreStructure(name)) : readFhirJson(text);
    const file = textOptions.file ?? '';
    const located = (issue: ConformanceIssue): ConformanceIssue => {
      if (issue.input) {return { ...issue, input: { ...issue.input, file } };}
      const at = parsed.positionOf(issue.expression);
      return { ...issue, input: { file, ...(at ? { line: at.line, column: at.column } : {}) } };
    };
    const issues = [...packageIssues, ...parsed.issues.map(located)];
    if (parsed.resource) {
      for (const issue of validator.validate(parsed.resource, textOptions.profiles ?? [])) {issues.push(located(issue));}
    }
    return { valid: !issues.some(isError), issues, outcome: toOperationOutcome(issues), resource: parsed.resource };
  };
  return {
    registry: reg,
    checkText,
    get loadIssues(): ConformanceIssue[] {
      return [...reg.problems, ...validator.snapshots.problems].map(asIssue);
    },
    checkResource: check,
    checkBundle(bundle, checkOptions) {
      const result = check(bundle, checkOptions);
      const byEntry = new Map<number, ConformanceIssue[]>();
      for (const issue of result.issues) {
        const m = /^Bundle\.entry\[(\d+)\]/.exec(issue.expression);
        if (!m?.[1]) {continue;}
        const index = Number(m[1]);
        const list = byEntry.get(index) ?? [];
        list.push(issue);
        byEntry.set(index, list);
      }
      const entries = isRecord(bundle) && Array.isArray(bundle['entry']) ? bundle['entry'] : [];
      return {
        ...result,
        entries: entries.map((entry: unknown, index: number) => {
          const issues = byEntry.get(index) ?? [];
          const fullUrl = isRecord(entry) && typeof entry['fullUrl'] === 'string' ? entry['fullUrl'] : undefined;
          return { index, fullUrl, issues, outcome: toOperationOutcome(issues) };
        }),
      };
    },
  };
}

function isError(issue: ConformanceIssue): boolean {
  return issue.severity === 'error' || issue.severity === 'fatal';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
