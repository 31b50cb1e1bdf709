import type { OperationOutcome } from 'fhir/r4.js';
import type { ConformanceIssue } from './codes.js';
import { toOperationOutcome } from './outcome.js';
import { FhirPackageRegistry } from './registry.js';
import { Validator } from './validator.js';
import type { BestPracticeMode } from './validator.js';

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
}

/** Per-call options. */
export interface CheckOptions {
  /** Profiles to check the (top-level) resource against, in addition to its `meta.profile`. */
  readonly profiles?: readonly string[];
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

export interface Checker {
  checkResource(resource: unknown, options?: CheckOptions): CheckResult;
  checkBundle(bundle: unknown, options?: CheckOptions): BundleCheckResult;
  /** Problems met loading packages or generating snapshots, as CONF_PACKAGE issues. */
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
  });
  const reg = registry;
  const check = (resource: unknown, checkOptions?: CheckOptions): CheckResult => {
    const issues = validator.validate(resource, checkOptions?.profiles ?? []);
    return { valid: !issues.some(isError), issues, outcome: toOperationOutcome(issues) };
  };
  return {
    registry: reg,
    get loadIssues(): ConformanceIssue[] {
      return reg.problems.map((p) => ({ code: 'CONF_PACKAGE', severity: 'error', expression: '', message: `${p.source}: ${p.message}` }));
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
