import { createRequire } from 'node:module';
import { compareDateTimes } from './datetime.js';
import type fhirpathModule from 'fhirpath';
import type r4ModelModule from 'fhirpath/fhir-context/r4';

let engine: { fhirpath: typeof fhirpathModule; model: typeof r4ModelModule } | undefined;

/** fhirpath.js is loaded on the first invariant that needs it: most checks are decided natively (cold start). */
function fhirpathEngine(): { fhirpath: typeof fhirpathModule; model: typeof r4ModelModule } {
  if (!engine) {
    const require = createRequire(import.meta.url);
    engine = { fhirpath: require('fhirpath') as typeof fhirpathModule, model: require('fhirpath/fhir-context/r4') as typeof r4ModelModule };
  }
  return engine;
}

type Compiled = (data: unknown, env?: Record<string, unknown>) => unknown[];

/** Outcome of one invariant evaluation. */
export type InvariantResult = { readonly ok: boolean } | { readonly error: string };

/**
 * Evaluates FHIRPath invariants with the fhirpath.js R4 model. Each (base path, expression) pair is compiled once
 * and cached for the life of the engine.
 */
export class InvariantEngine {
  private readonly compiled = new Map<string, Compiled | string>();

  /** Number of distinct compiled expressions (tests use it to prove caching). */
  get size(): number {
    return this.compiled.size;
  }

  /** Evaluations per expression (diagnostics for benchmarks and tests). */
  readonly evaluations = new Map<string, number>();

  /** The items an expression selects from a resource (for FHIRPath extension contexts), or an error text. */
  select(expression: string, resource: unknown, rootResource: unknown): unknown[] | string {
    const fn = this.compile('', expression);
    if (typeof fn === 'string') {return fn;}
    try {
      return fn(resource, { resource, rootResource });
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  private compile(basePath: string, expression: string): Compiled | string {
    const key = `${basePath}\u0000${expression}`;
    let fn = this.compiled.get(key);
    if (fn === undefined) {
      try {
        const { fhirpath, model } = fhirpathEngine();
        fn = fhirpath.compile(basePath ? { base: basePath, expression } : expression, model, { traceFn: () => undefined }) as Compiled;
      } catch (error) {
        fn = `does not compile: ${error instanceof Error ? error.message : String(error)}`;
      }
      this.compiled.set(key, fn);
    }
    return fn;
  }

  evaluate(expression: string, basePath: string, data: unknown, resource: unknown, rootResource: unknown): InvariantResult {
    this.evaluations.set(expression, (this.evaluations.get(expression) ?? 0) + 1);
    const fn = this.compile(basePath, expression);
    if (typeof fn === 'string') {return { error: fn };}
    try {
      const result = fn(data, { resource, rootResource });
      // As in the HL7 validator, an invariant holds when it yields true (or a non-empty, non-boolean collection):
      // an empty result, such as an indeterminate date comparison, is not a pass.
      return { ok: result.length === 1 && typeof result[0] === 'boolean' ? result[0] : result.length > 0 };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }
}

/**
 * R4 core invariants published with a wrong expression, and the expression that says what their text says (the
 * HL7 validator applies the same corrections). Keyed by the exact published expression.
 */
const correctedExpressions: ReadonlyMap<string, string> = new Map([
  // que-12: "If there are more than one enableWhen, enableBehavior must be specified" (published as > 2).
  ['enableWhen.count() > 2 implies enableBehavior.exists()', 'enableWhen.count() > 1 implies enableBehavior.exists()'],
  // ras-2 fails on a RiskAssessment without probability.
  ['probability is decimal implies (probability as decimal) <= 100', 'probability.empty() or ((probability is decimal) implies ((probability as decimal) <= 100))'],
  // ref-1 is empty (so fails) on a display-only reference, and `#` alone refers to the container.
  [
    "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
    "reference.exists() implies (reference = '#' or reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids')))",
  ],
  // que-7 means the FHIR boolean type (`Boolean` is FHIRPath's System.Boolean, which an answerBoolean is not).
  ["operator = 'exists' implies (answer is Boolean)", "operator = 'exists' implies (answer is boolean)"],
  // The canonical resources' name rule (…-0) holds when there is no name, and must match the whole name.
  [String.raw`name.matches('[A-Z]([A-Za-z0-9_]){0,254}')`, String.raw`name.exists() implies name.matches('^[A-Z]([A-Za-z0-9_]){0,254}$')`],
  // eld-19 and eld-20 are meant to match the whole path.
  [String.raw`path.matches('[^\\s\\.,:;\\\'"\\/|?!@#$%&*()\\[\\]{}]{1,64}(\\.[^\\s\\.,:;\\\'"\\/|?!@#$%&*()\\[\\]{}]{1,64}(\\[x\\])?(\\:[^\\s\\.]+)?)*')`, String.raw`path.matches('^[^\\s\\.,:;\\\'"\\/|?!@#$%&*()\\[\\]{}]{1,64}(\\.[^\\s\\.,:;\\\'"\\/|?!@#$%&*()\\[\\]{}]{1,64}(\\[x\\])?(\\:[^\\s\\.]+)?)*$')`],
  [String.raw`path.matches('[A-Za-z][A-Za-z0-9]*(\\.[a-z][A-Za-z0-9]*(\\[x])?)*')`, String.raw`path.matches('^[A-Za-z][A-Za-z0-9]*(\\.[a-z][A-Za-z0-9]*(\\[x])?)*$')`],
]);

/** The expression to evaluate for a published invariant expression (corrected where R4 published it wrong). */
export function invariantExpression(expression: string): string {
  return correctedExpressions.get(expression) ?? expression;
}

type Json = Record<string, unknown>;
type FastCheck = (value: Json) => boolean | undefined;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: Json): Json[] => (Array.isArray(v['entry']) ? v['entry'].filter(isRecord) : []);
const noContained: FastCheck = (v) => (v['contained'] === undefined ? true : undefined);
const UCUM = 'http://unitsofmeasure.org';

/**
 * Native equivalents of the hottest R4 core invariants, keyed by constraint key and guarded by the exact R4
 * expression text (a profile that reuses a key with another expression falls back to FHIRPath). A check returns
 * true/false when it can decide, undefined to defer to FHIRPath.
 */
const fastInvariants: ReadonlyMap<string, { expression: string; check: FastCheck }> = new Map([
  ['dom-2', { expression: 'contained.contained.empty()', check: noContained }],
  ['dom-3', { expression: "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()", check: noContained }],
  ['org-1', { expression: '(identifier.count() + name.count()) > 0', check: (v) => (Array.isArray(v['identifier']) && v['identifier'].length > 0) || v['name'] !== undefined || (v['_name'] === undefined ? false : undefined) }],
  ['dom-4', { expression: 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()', check: noContained }],
  ['dom-5', { expression: 'contained.meta.security.empty()', check: noContained }],
  ['dom-6', { expression: 'text.`div`.exists()', check: (v) => isRecord(v['text']) && v['text']['div'] !== undefined }],
  ['ref-1', { expression: "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))", check: (v) => (typeof v['reference'] !== 'string' || !v['reference'].startsWith('#') ? true : undefined) }],
  ['per-1', { expression: 'start.hasValue().not() or end.hasValue().not() or (start <= end)', check: (v) => (typeof v['start'] !== 'string' || typeof v['end'] !== 'string' ? (v['start'] === undefined || v['end'] === undefined ? true : undefined) : (compareDateTimes(v['start'], v['end']) ?? 1) <= 0) }],
  ['cpt-2', { expression: 'value.empty() or system.exists()', check: (v) => (v['_value'] !== undefined ? undefined : v['value'] === undefined || v['system'] !== undefined) }],
  ['qty-3', { expression: 'code.empty() or system.exists()', check: (v) => (v['_code'] !== undefined ? undefined : v['code'] === undefined || v['system'] !== undefined) }],
  ['att-1', { expression: 'data.empty() or contentType.exists()', check: (v) => (v['_data'] !== undefined ? undefined : v['data'] === undefined || v['contentType'] !== undefined) }],
  ['sqty-1', { expression: 'comparator.empty()', check: (v) => (v['_comparator'] !== undefined ? undefined : v['comparator'] === undefined) }],
  ['drt-1', { expression: 'code.exists() implies ((system = %ucum) and value.exists())', check: (v) => (v['code'] === undefined && v['_code'] === undefined ? true : v['system'] === UCUM && v['value'] !== undefined) }],
  ['bdl-1', { expression: "total.empty() or (type = 'searchset') or (type = 'history')", check: (v) => v['total'] === undefined || v['type'] === 'searchset' || v['type'] === 'history' }],
  ['bdl-2', { expression: "entry.search.empty() or (type = 'searchset')", check: (v) => v['type'] === 'searchset' || entries(v).every((e) => e['search'] === undefined) }],
  ['bdl-3', { expression: "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))", check: (v) => { const want = v['type'] === 'batch' || v['type'] === 'transaction' || v['type'] === 'history'; return entries(v).every((e) => (e['request'] !== undefined) === want); } }],
  ['bdl-4', { expression: "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))", check: (v) => { const want = v['type'] === 'batch-response' || v['type'] === 'transaction-response' || v['type'] === 'history'; return entries(v).every((e) => (e['response'] !== undefined) === want); } }],
  // bdl-7 (unique fullUrl + versionId) is checked natively, in one pass, as CONF_DUPLICATE_FULLURL.
  ['bdl-7', { expression: "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()", check: () => true }],
  ['bdl-9', { expression: "type = 'document' implies (identifier.system.exists() and identifier.value.exists())", check: (v) => (v['type'] !== 'document' ? true : undefined) }],
  ['bdl-10', { expression: "type = 'document' implies (timestamp.hasValue())", check: (v) => (v['type'] !== 'document' ? true : undefined) }],
  ['bdl-11', { expression: "type = 'document' implies entry.first().resource.is(Composition)", check: (v) => (v['type'] !== 'document' ? true : undefined) }],
  ['bdl-12', { expression: "type = 'message' implies entry.first().resource.is(MessageHeader)", check: (v) => (v['type'] !== 'message' ? true : undefined) }],
  ['bdl-5', { expression: 'resource.exists() or request.exists() or response.exists()', check: (v) => v['resource'] !== undefined || v['request'] !== undefined || v['response'] !== undefined }],
  ['bdl-8', { expression: "fullUrl.exists() implies fullUrl.contains('/_history/').not()", check: (v) => (typeof v['fullUrl'] !== 'string' ? (v['fullUrl'] === undefined ? true : undefined) : !v['fullUrl'].includes('/_history/')) }],
]);

/** Decides a core invariant natively when it can (see {@link fastInvariants}); undefined means "evaluate FHIRPath". */
export function fastInvariant(key: string, expression: string, value: unknown): boolean | undefined {
  const fast = fastInvariants.get(key);
  if (!fast || fast.expression !== expression || !isRecord(value)) {return undefined;}
  return fast.check(value);
}
