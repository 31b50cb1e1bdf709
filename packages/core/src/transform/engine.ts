import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import { entryUuid, fullUrlsOf, joinKey, type FullUrls } from '../bundle/ids.js';
import type { Diagnostic, InputSpan, RuleSpan } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { scalarOf } from '../expressions/compile.js';
import { SEVERAL } from '../expressions/fast.js';
import type { CompiledExpression, EvalReport } from '../expressions/types.js';
import type { CompiledRule, KeyPart, Mapping } from '../mapping/load.js';
import type { RecordBudgets } from '../mapping/model.js';
import { shorten } from '../diagnostics/text.js';
import { originOf, type SourceRecord } from '../sources/types.js';
import { checkDocument, documentRoot, type MappingTarget } from '../targets.js';
import { constantBundleBuilder, keyBuilder, keyText, nodeBuilder, ruleRunner, rulesRunner, type BundleBuilder, type RuleRunner, type TemplateHost } from './codegen.js';
import { lookupProvenance } from './provenance.js';
import type { ObjectNode, TemplateNode } from './template.js';

/** Where one output element came from: the mapping rule and the input cells it read. */
export interface ProvenanceEntry {
  /** FHIRPath of the output element, e.g. `Bundle.entry[0].resource.sent`. */
  readonly expression: string;
  readonly rule: RuleSpan;
  readonly inputs: readonly InputSpan[];
  /** The values read from those inputs, in the same order. */
  readonly inputValues: readonly unknown[];
}

/** The outcome of mapping one source record. */
export interface MapResult {
  /** Natural key of the source record (e.g. the CAD incident id). */
  readonly key: string;
  /** True when no error was found: the bundle can be used. */
  readonly ok: boolean;
  /** The bundle, when one could be built (also when `ok` is false, for explanation). */
  readonly bundle?: Bundle;
  /** True when the mapping deliberately built nothing for this record (every rule's `when` was false). */
  readonly skipped?: boolean;
  /** Non-bundle targets (e.g. `cqi-case`): the document built for the record. */
  readonly document?: unknown;
  /** The id of the rule that built each bundle entry, in entry order. */
  readonly entryRules?: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
  /** Present when provenance was requested. */
  readonly provenance?: readonly ProvenanceEntry[];
  readonly source: SourceRecord;
}

export interface TransformOptions {
  /** Record where every output element came from (costs time; off by default). */
  readonly provenance?: boolean;
}

type Vars = Record<string, unknown>;

interface MappingFrameShape {
  readonly constants: Vars;
  /** Every `as` name the mapping binds, declared up front so all frames share one hidden class. */
  readonly names: readonly string[];
  /** The variables a frame rebinds while a record is mapped: the `as` and `let` names, index and key. */
  readonly rebound: ReadonlySet<string>;
  /** Per rule, in order: the fullUrls of its resource type and the rule compiled to JavaScript. */
  readonly rules: readonly RulePlan[];
  /** Every rule's compiled function called in rule order. */
  readonly runRules: RuleRunner;
  /** The bundle as one literal, when its template is one constant object. */
  readonly constantBundle: BundleBuilder | undefined;
}

interface RulePlan {
  readonly rule: CompiledRule;
  readonly fullUrls: FullUrls;
  readonly run: RuleRunner;
}

const frameShapes = new WeakMap<Mapping, MappingFrameShape>();

function frameShape(mapping: Mapping): MappingFrameShape {
  let shape = frameShapes.get(mapping);
  if (!shape) {
    const names = new Set<string>();
    const visit = (node: TemplateNode | undefined): void => {
      if (node?.kind === 'object') {
        node.entries.forEach(([, child]) => visit(child));
      } else if (node?.kind === 'array') {
        for (const item of node.items) {
          if (item.as !== undefined) {
            names.add(item.as);
          }
          visit(item.node);
        }
      }
    };
    for (const rule of mapping.rules) {
      if (rule.as !== undefined) {
        names.add(rule.as);
      }
      for (const [name] of rule.let) {
        names.add(name);
      }
      visit(rule.template);
    }
    visit(mapping.bundle.template);
    visit(mapping.document?.template);
    const rules = mapping.rules.map((rule) => {
      const fullUrls = fullUrlsOf(mapping.namespace, rule.resourceType);
      return { rule, fullUrls, run: ruleRunner(rule, fullUrls) };
    });
    shape = {
      constants: Object.freeze(Object.assign(Object.create(null) as Vars, mapping.constants)),
      names: [...names],
      rebound: new Set([...names, 'index', 'key']),
      rules,
      runRules: rulesRunner(rules.map((plan) => plan.run)),
      constantBundle: constantBundleOf(mapping.bundle.template),
    };
    frameShapes.set(mapping, shape);
  }
  return shape;
}

function constantBundleOf(template: TemplateNode | undefined): BundleBuilder | undefined {
  const value = template?.kind === 'literal' ? template.value : undefined;
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? constantBundleBuilder(value as Record<string, unknown>) : undefined;
}

/**
 * The variables of one record: a single object whose prototype holds the constants. `forEach` iterations and
 * entry keys rebind `index`, `key` and the `as` names in place and restore them afterwards (evaluation is
 * synchronous), so no scope objects are allocated and variable lookups stay monomorphic.
 */
function recordFrame(shape: MappingFrameShape, source: SourceRecord): Vars {
  const frame = Object.create(shape.constants) as Vars;
  frame.record = source.data;
  frame.index = 0;
  frame.key = source.key;
  for (const name of shape.names) {
    frame[name] = undefined;
  }
  return frame;
}

/**
 * The values of the variables an expression reads that the frame rebinds (forEach `as`, `let`, index, key),
 * kept for diagnostics computed later; `%record` and the constants keep their values for the whole record.
 */
function snapshotOf(expression: CompiledExpression | undefined, frame: Vars, rebound: ReadonlySet<string>): Vars | undefined {
  if (expression === undefined) {
    return undefined;
  }
  let snapshot: Vars | undefined;
  const fields = expression.variableFields;
  for (let i = 0; i < fields.length; i++) {
    const variable = fields[i]![0];
    if (rebound.has(variable)) {
      (snapshot ??= {})[variable] = frame[variable];
    }
  }
  return snapshot;
}

interface PendingReference {
  /** Index of the entry holding the reference (in `entries`). */
  readonly entry: number;
  readonly value: string;
  /** Path inside the resource, when paths are tracked (provenance on); otherwise found on demand. */
  readonly path: string | undefined;
  readonly span: RuleSpan;
  /** To locate the input only when the reference turns out to dangle. */
  readonly expression: CompiledExpression | undefined;
  readonly item: unknown;
  readonly vars: Vars | undefined;
}

/**
 * The entries of one bundle, built in order as the bundle's own `{ fullUrl, resource }` objects (the rule that
 * built each, and its provenance, in parallel lists), found by fullUrl. Bundles mostly hold a handful of
 * entries: comparing fullUrls in a list is cheaper than hashing each one into a map, which is built only once
 * a bundle grows past a few.
 */
class BuiltEntries {
  readonly entries: BundleEntry[] = [];
  readonly ruleIds: string[] = [];
  /** Per entry, when provenance is tracked. */
  provenance: (ProvenanceEntry[] | undefined)[] | undefined;
  private map: Map<string, number> | undefined;

  /** Index of the entry with this fullUrl, or -1. */
  indexOf(fullUrl: string): number {
    if (this.map !== undefined) {
      return this.map.get(fullUrl) ?? -1;
    }
    const entries = this.entries;
    for (let index = 0; index < entries.length; index++) {
      if (entries[index]!.fullUrl === fullUrl) {
        return index;
      }
    }
    return -1;
  }

  add(ruleId: string, fullUrl: string, resource: FhirResource, provenance: ProvenanceEntry[] | undefined): void {
    const index = this.entries.push({ fullUrl, resource }) - 1;
    this.ruleIds.push(ruleId);
    if (provenance !== undefined) {
      (this.provenance ??= [])[index] = provenance;
    }
    if (this.map !== undefined) {
      this.map.set(fullUrl, index);
    } else if (this.entries.length > 16) {
      this.map = new Map(this.entries.map((each, at) => [each.fullUrl!, at]));
    }
  }
}

/** Maps one source record to a bundle. Pure and synchronous; never throws for bad data. */
export function transformRecord(mapping: Mapping, source: SourceRecord, options: TransformOptions = {}): MapResult {
  if (source.data === undefined) {
    return { key: source.key, ok: false, diagnostics: source.diagnostics, source };
  }
  const provenance = options.provenance === true;
  return withinBudgets(mapping, source, () => {
    const transform = new RecordTransform(mapping, source, provenance, !provenance);
    return mapping.target === 'fhir-bundle' ? transform.run() : transform.runDocument(mapping.target);
  });
}

/** A record budget spent while building (`limit` names the `budgets` key). */
class BudgetSpent extends Error {
  constructor(
    readonly limit: keyof RecordBudgets,
    readonly found: string,
  ) {
    super(`${limit}: ${found}`);
  }
}

/**
 * Runs `build` and checks its output against the mapping's budgets (elements, bytes and nesting of the built
 * bundle or document, and the time taken); a record over one is set aside with MAP_RECORD_BUDGET, its output
 * dropped, and the run goes on.
 */
function withinBudgets(mapping: Mapping, source: SourceRecord, build: () => MapResult): MapResult {
  const budgets = mapping.budgets;
  let spent: BudgetSpent | undefined;
  let result: MapResult | undefined;
  try {
    result = build();
    const output = result.bundle ?? result.document;
    spent = output === undefined ? undefined : measure(output, budgets);
  } catch (error) {
    if (!(error instanceof BudgetSpent)) {
      throw error;
    }
    spent = error;
  }
  if (spent === undefined && result !== undefined) {
    return result;
  }
  const limit = spent!.limit;
  const suggestion = limit === 'maxBytes' ? budgets.maxBytes * 4 : budgets[limit] * 10;
  const diagnostic: Diagnostic = {
    code: 'MAP_RECORD_BUDGET',
    severity: 'error',
    message: `Record '${shorten(source.key)}' builds ${spent!.found}, over the budgets.${limit} limit of ${budgets[limit]}${limit === 'maxMilliseconds' ? ' ms' : ''}; the record is set aside and the run goes on.`,
    hint: `Check the rules' forEach and $forEach for a fan-out the record should not have; if such records are expected, raise the limit in the mapping, e.g. \`budgets: { ${limit}: ${suggestion} }\`.`,
    rule: mapping.rules[0]?.span ?? mapping.document?.span ?? mapping.bundle.span,
    input: source.origin,
  };
  return { key: result?.key ?? source.key, ok: false, diagnostics: [...(result?.diagnostics ?? source.diagnostics), diagnostic], source };
}

/** The first budget `output` breaks, walking it once and stopping as soon as one is broken. */
function measure(output: unknown, budgets: RecordBudgets): BudgetSpent | undefined {
  let elements = 0;
  let bytes = 0;
  const walk = (value: unknown, depth: number): BudgetSpent | undefined => {
    if (++elements > budgets.maxElements) {
      return new BudgetSpent('maxElements', `more than ${budgets.maxElements} elements`);
    }
    if (typeof value === 'string') {
      bytes += value.length + 3;
    } else if (typeof value === 'object' && value !== null) {
      if (depth > budgets.maxDepth) {
        return new BudgetSpent('maxDepth', `elements nested more than ${budgets.maxDepth} deep`);
      }
      bytes += 2;
      if (Array.isArray(value)) {
        for (const item of value) {
          const spent = walk(item, depth + 1);
          if (spent !== undefined) {
            return spent;
          }
        }
      } else {
        for (const key in value) {
          bytes += key.length + 4;
          const spent = walk((value as Record<string, unknown>)[key], depth + 1);
          if (spent !== undefined) {
            return spent;
          }
        }
      }
    } else {
      bytes += 8;
    }
    return bytes > budgets.maxBytes ? new BudgetSpent('maxBytes', `more than ${budgets.maxBytes} bytes of JSON`) : undefined;
  };
  return walk(output, 1);
}

/**
 * transformRecord with the template interpreter only (no generated code), for tests that check both paths
 * agree. Not part of the package API.
 */
export function interpretRecord(mapping: Mapping, source: SourceRecord, options: TransformOptions = {}): MapResult {
  if (source.data === undefined) {
    return { key: source.key, ok: false, diagnostics: source.diagnostics, source };
  }
  return withinBudgets(mapping, source, () => {
    const transform = new RecordTransform(mapping, source, options.provenance === true, false);
    return mapping.target === 'fhir-bundle' ? transform.run() : transform.runDocument(mapping.target);
  });
}

/**
 * Runs without provenance use templates compiled to JavaScript (codegen.ts); with provenance the interpreter
 * below (`instantiate`) builds them, tracking the path of every element. Both give the same bundles.
 */
class RecordTransform implements TemplateHost {
  private readonly diagnostics: Diagnostic[];
  private expression: CompiledExpression | undefined;
  private context: unknown;
  private vars: Vars = {};
  /** The references noted in the record's entries, in entry order, for the dangling-reference check. */
  private readonly references: PendingReference[] = [];
  /** How many references were noted before the entry being built (to drop its own when it is not added). */
  private referencesBefore = 0;
  private provenance: ProvenanceEntry[] | undefined;
  /** Count of expressions that produced a value so far (to drop objects whose expressions all came out empty). */
  produced = 0;

  constructor(
    private readonly mapping: Mapping,
    private readonly source: SourceRecord,
    private readonly trackProvenance: boolean,
    /** Use generated template code and scalar expression forms (never together with provenance). */
    private readonly generated: boolean,
  ) {
    this.diagnostics = source.diagnostics.slice();
    this.deadline = performance.now() + mapping.budgets.maxMilliseconds;
    this.shape = frameShape(mapping);
    this.rebound = this.shape.rebound;
  }

  private readonly shape: MappingFrameShape;
  private readonly rebound: ReadonlySet<string>;
  private readonly built = new BuiltEntries();

  /** What a rule's generated runner (codegen.ts `ruleRunner`) does, interpreted, tracking paths when asked. */
  private interpretRule(rule: CompiledRule, fullUrls: FullUrls, data: unknown, vars: Vars, rootPath: string | undefined): void {
    const contexts: unknown[] = rule.forEach ? this.evaluate(rule.forEach, data, vars) : [data];
    for (let index = 0; index < contexts.length; index++) {
      const item = contexts[index];
      if (rule.forEach) {
        vars.index = index;
        if (rule.as !== undefined) {
          vars[rule.as] = item;
        }
      }
      for (const [name, expression] of rule.let) {
        vars[name] = this.evaluate(expression, item, vars);
      }
      if (rule.when && !this.condition(rule.when, item, vars)) {
        continue;
      }
      const key = this.key(rule.key, item, vars, rule.span);
      if (key === undefined) {
        continue;
      }
      const fullUrl = fullUrls.of(key);
      this.beginEntry();
      vars.key = key;
      const resource = this.instantiateResource(rule.resourceType, rule.template, item, vars, rootPath);
      vars.key = this.source.key;
      this.addEntry(rule, key, fullUrl, resource, item);
    }
  }

  /** Elements counted while building (entries and `$forEach` items); the full count is taken once built. */
  private ticks = 0;
  private readonly deadline: number;

  tick(): void {
    const ticks = ++this.ticks;
    if (ticks > this.mapping.budgets.maxElements) {
      throw new BudgetSpent('maxElements', `more than ${this.mapping.budgets.maxElements} elements`);
    }
    if ((ticks & 255) === 0 && performance.now() > this.deadline) {
      throw new BudgetSpent('maxMilliseconds', `more than ${this.mapping.budgets.maxMilliseconds} ms`);
    }
  }

  beginEntry(): void {
    this.tick();
    if (performance.now() > this.deadline) {
      throw new BudgetSpent('maxMilliseconds', `more than ${this.mapping.budgets.maxMilliseconds} ms`);
    }
    this.referencesBefore = this.references.length;
    this.provenance = this.trackProvenance ? [] : undefined;
  }

  instantiateRule(rule: CompiledRule, item: unknown, vars: Vars): Record<string, unknown> {
    return this.instantiateResource(rule.resourceType, rule.template, item, vars, undefined) as unknown as Record<string, unknown>;
  }

  addEntry(rule: CompiledRule, key: string, fullUrl: string, resource: Record<string, unknown> | FhirResource, item: unknown): void {
    const built = this.built;
    const existing = built.indexOf(fullUrl);
    if (existing === -1) {
      built.add(rule.id, fullUrl, resource as FhirResource, this.provenance);
      return;
    }
    this.references.length = this.referencesBefore;
    if (!sameJson(built.entries[existing]!.resource, resource)) {
      this.diagnostics.push({
        code: 'MAP_KEY_CONFLICT',
        severity: 'warning',
        message: `Rule '${rule.id}' built two different ${rule.resourceType} resources for key '${key}'; the first is kept.`,
        hint: `Make the key unique (add the distinguishing field), or make the two identical. The first came from rule at line ${this.mapping.rules.find((each) => each.id === built.ruleIds[existing])!.span.line}.`,
        rule: rule.span,
        ...(originOf(item) ? { input: originOf(item)!.locate() } : {}),
      });
    }
  }

  report(report: EvalReport): void {
    const expression = this.expression;
    const input = expression ? this.inputOf(expression, this.context, this.vars) : this.source.origin;
    this.diagnostics.push({
      code: report.code,
      severity: report.severity,
      message: report.message,
      ...(report.hint !== undefined ? { hint: report.hint } : {}),
      ...(expression ? { rule: expression.span } : {}),
      ...(input ? { input } : {}),
    });
  }

  /** Builds the one document of a non-bundle target, checks it against the target's model and links problems back. */
  runDocument(target: Exclude<MappingTarget, 'fhir-bundle'>): MapResult {
    const { mapping, source } = this;
    const data = source.data!;
    const spec = mapping.document!;
    const vars = recordFrame(this.shape, source);
    const key = spec.key ? this.key(spec.key, data, vars, spec.span) : source.key;
    const root = documentRoot[target];
    this.provenance = [];
    vars.key = key ?? source.key;
    const document = this.instantiate(spec.template, data, vars, '');
    const provenance = this.provenance.map((p) => ({ ...p, expression: `${root}${p.expression}` }));
    if (document !== undefined) {
      for (const problem of checkDocument(target, document)) {
        const origin = problem.expression !== undefined && problem.rule === undefined ? lookupProvenance(provenance, problem.expression) : undefined;
        // A missing member has no provenance: point at the document template and the record.
        this.diagnostics.push({ ...problem, rule: problem.rule ?? origin?.rule ?? spec.template.span, input: problem.input ?? origin?.inputs[0] ?? source.origin });
      }
    } else {
      this.diagnostics.push({
        code: 'MAP_RECORD_SKIPPED',
        severity: 'information',
        message: `The document template built nothing for record '${source.key}'.`,
        hint: 'Check the `$when` conditions of the document template.',
        rule: spec.span,
        input: source.origin,
      });
    }
    const ok = !hasErrors(this.diagnostics);
    return {
      key: key ?? source.key,
      ok,
      ...(document === undefined && ok ? { skipped: true } : {}),
      ...(document !== undefined ? { document } : {}),
      diagnostics: distinct(this.diagnostics),
      ...(this.trackProvenance ? { provenance } : {}),
      source,
    };
  }

  run(): MapResult {
    const { mapping, source } = this;
    const data = source.data!;
    const baseVars = recordFrame(this.shape, source);
    const rootPath = this.trackProvenance ? '' : undefined;
    const built = this.built;
    const entries = built.entries;

    if (this.generated) {
      this.shape.runRules(this, data, baseVars);
    } else {
      for (const plan of this.shape.rules) {
        this.interpretRule(plan.rule, plan.fullUrls, data, baseVars, rootPath);
      }
    }

    baseVars.index = 0;
    if (entries.length === 0) {
      this.diagnostics.push({
        code: 'MAP_RECORD_SKIPPED',
        severity: 'information',
        message: `No rule built an entry for record '${source.key}', so it has no bundle.`,
        hint: 'This is expected when `when` conditions filter records out (e.g. test calls); otherwise check the conditions.',
        rule: mapping.rules[0]?.span ?? mapping.bundle.span,
        input: source.origin,
      });
      const ok = !hasErrors(this.diagnostics);
      return { key: source.key, ok, ...(ok ? { skipped: true } : {}), diagnostics: this.diagnostics, source };
    }
    const bundleVars = baseVars;
    const bundleKey = mapping.bundle.key ? this.key(mapping.bundle.key, data, bundleVars, mapping.bundle.span) : source.key;
    const bundleType = this.keyPart(mapping.bundle.type, data, bundleVars) ?? 'collection';
    // references in the bundle's own elements are not entries' references: they are not checked
    const entryReferences = this.references.length;
    this.provenance = this.trackProvenance ? [] : undefined;
    const bundleTemplate = mapping.bundle.template;
    const constantBundle = this.generated ? this.shape.constantBundle : undefined;
    const bundleExtras = (
      bundleTemplate === undefined || constantBundle !== undefined
        ? undefined
        : this.generated
          ? nodeBuilder(bundleTemplate)(this, data, bundleVars)
          : this.instantiate(bundleTemplate, data, bundleVars, rootPath)
    ) as Record<string, unknown> | undefined;
    const bundleProvenance = this.provenance;

    const provenance: ProvenanceEntry[] | undefined = this.trackProvenance ? [...(bundleProvenance ?? []).map((p) => ({ ...p, expression: `Bundle${p.expression}` }))] : undefined;
    if (provenance) {
      for (let index = 0; index < entries.length; index++) {
        const prefix = `Bundle.entry[${index}].resource`;
        for (const p of built.provenance?.[index] ?? []) {
          provenance.push({ ...p, expression: `${prefix}${p.expression}` });
        }
      }
    }
    const references = this.references;
    for (let k = 0; k < entryReferences; k++) {
      const reference = references[k]!;
      // any text is noted under `reference`; only a urn:uuid: one must name an entry of this bundle
      if (built.indexOf(reference.value) === -1 && reference.value.startsWith('urn:uuid:')) {
        const entry = entries[reference.entry]!;
        const path = `Bundle.entry[${reference.entry}].resource${reference.path ?? pathOfValue(entry.resource, 'reference', reference.value) ?? ''}`;
        const vars: Vars = reference.vars ? Object.assign<Vars, Vars>(Object.create(baseVars) as Vars, reference.vars) : baseVars;
        const input = reference.expression ? this.inputOf(reference.expression, reference.item, vars) : undefined;
        this.diagnostics.push({
          code: 'MAP_DANGLING_REFERENCE',
          severity: 'error',
          message: `${path} refers to ${reference.value}, but no entry in this bundle has that fullUrl.`,
          hint: 'The rule and natural key passed to ref() must match an entry that was built; check the key values and any `when` on the target rule.',
          rule: reference.span,
          ...(input ? { input } : {}),
          expression: path,
        });
      }
    }

    const type = bundleType as Bundle['type'];
    // one literal per case, each allocated with its final shape (the template's elements may replace the id)
    let bundle: Bundle;
    if (constantBundle !== undefined) {
      bundle = constantBundle(bundleKey === undefined ? undefined : entryUuid(mapping.namespace, 'Bundle', bundleKey), type, entries) as unknown as Bundle;
    } else if (bundleKey === undefined) {
      bundle = bundleExtras === undefined ? { resourceType: 'Bundle', type, entry: entries } : { resourceType: 'Bundle', ...bundleExtras, type, entry: entries };
    } else {
      const id = entryUuid(mapping.namespace, 'Bundle', bundleKey);
      bundle = bundleExtras === undefined ? { resourceType: 'Bundle', id, type, entry: entries } : { resourceType: 'Bundle', id, ...bundleExtras, type, entry: entries };
    }
    const ok = !hasErrors(this.diagnostics);
    const diagnostics = distinct(this.diagnostics);
    const entryRules = built.ruleIds;
    return provenance
      ? { key: source.key, ok, bundle, entryRules, diagnostics, provenance, source }
      : { key: source.key, ok, bundle, entryRules, diagnostics, source };
  }

  private evaluate(expression: CompiledExpression, context: unknown, vars: Vars): unknown[] {
    const previousExpression = this.expression;
    const previousContext = this.context;
    const previousVars = this.vars;
    this.expression = expression;
    this.context = context;
    this.vars = vars;
    const result = expression.evaluate(context, vars, this);
    this.expression = previousExpression;
    this.context = previousContext;
    this.vars = previousVars;
    return result;
  }

  /** Makes `expression` at `context` the one reports are attributed to (generated code evaluating a scalar form). */
  enter(expression: CompiledExpression, context: unknown, vars: Vars): void {
    this.expression = expression;
    this.context = context;
    this.vars = vars;
  }

  /** The value of a scalar form: one value, undefined for none, or SEVERAL (evaluate the collection then). */
  private scalar(expression: CompiledExpression, context: unknown, vars: Vars): unknown {
    const scalar = this.generated ? scalarOf(expression) : undefined;
    if (!scalar) {
      return SEVERAL;
    }
    if (!scalar.reports) {
      return scalar.evaluate(context, vars, this);
    }
    const previousExpression = this.expression;
    const previousContext = this.context;
    const previousVars = this.vars;
    this.enter(expression, context, vars);
    const value = scalar.evaluate(context, vars, this);
    this.expression = previousExpression;
    this.context = previousContext;
    this.vars = previousVars;
    return value;
  }

  collection(expression: CompiledExpression, context: unknown, vars: Vars): unknown[] {
    return this.evaluate(expression, context, vars);
  }

  /** An expression in a value slot (provenance off). */
  slot(expression: CompiledExpression, context: unknown, vars: Vars): unknown {
    const values = presentValues(this.evaluate(expression, context, vars));
    if (values.length === 0) {
      return undefined;
    }
    this.produced++;
    if (values.length > 1) {
      this.multiple(expression, context, vars, values.length, 'this element');
    }
    return values[0];
  }

  /** An expression list item (provenance off). */
  spread(expression: CompiledExpression, context: unknown, vars: Vars): unknown[] {
    const values = presentValues(this.evaluate(expression, context, vars));
    this.produced += values.length;
    return values;
  }

  /** A rule's `when`: the scalar form when it has one. */
  private condition(expression: CompiledExpression, context: unknown, vars: Vars): boolean {
    const value = this.scalar(expression, context, vars);
    return value === SEVERAL ? this.truthy(expression, context, vars) : value !== undefined && value !== false;
  }

  truthy(expression: CompiledExpression, context: unknown, vars: Vars): boolean {
    const result = this.evaluate(expression, context, vars);
    if (result.length > 1) {
      this.multiple(expression, context, vars, result.length, 'a condition');
    }
    return result.length > 0 && result[0] !== false;
  }

  private keyPart(part: KeyPart, context: unknown, vars: Vars): string | undefined {
    if (part.kind === 'literal') {
      return part.value;
    }
    const scalar = this.scalar(part.expression, context, vars);
    if (scalar !== SEVERAL) {
      return scalar === undefined || scalar === null || scalar === '' ? undefined : keyText(scalar);
    }
    const values = presentValues(this.evaluate(part.expression, context, vars));
    if (values.length > 1) {
      this.multiple(part.expression, context, vars, values.length, 'a key');
    }
    const value = values[0];
    if (value === undefined) {
      return undefined;
    }
    return keyText(value);
  }

  /** The natural key of an entry: generated code when there is some, else part by part. */
  private key(parts: readonly KeyPart[], context: unknown, vars: Vars, span: RuleSpan): string | undefined {
    return this.generated ? keyBuilder(parts, span)(this, context, vars) : this.keyFrom(parts, 0, [], context, vars, span);
  }

  keyFrom(parts: readonly KeyPart[], from: number, values: string[], context: unknown, vars: Vars, span: RuleSpan): string | undefined {
    for (let index = from; index < parts.length; index++) {
      const part = parts[index]!;
      const value = this.keyPart(part, context, vars);
      if (value === undefined) {
        return this.emptyKey(part, context, vars, span);
      }
      values.push(value);
    }
    return joinKey(values);
  }

  emptyKey(part: KeyPart, context: unknown, vars: Vars, span: RuleSpan): undefined {
    const expression = part.kind === 'expression' ? part.expression : undefined;
    const input = expression ? this.inputOf(expression, context, vars) : undefined;
    this.diagnostics.push({
      code: 'MAP_EMPTY_KEY',
      severity: 'error',
      message: `The natural key ${expression ? `'=${expression.text}'` : ''} is empty, so the entry cannot be identified and is not built.`,
      hint: 'Every entry needs a key: fill the field in the export, or choose a key that is always present.',
      rule: expression?.span ?? span,
      ...(input ? { input } : {}),
    });
    return undefined;
  }

  private multiple(expression: CompiledExpression, context: unknown, vars: Vars, count: number, what: string): void {
    const input = this.inputOf(expression, context, vars);
    this.diagnostics.push({
      code: 'MAP_MULTIPLE_VALUES',
      severity: 'error',
      message: `'=${expression.text}' returned ${count} values where ${what} takes one.`,
      hint: 'Select one value (e.g. `.first()` or a `where(…)`), or put the expression in a list item to keep them all.',
      rule: expression.span,
      ...(input ? { input } : {}),
    });
  }

  /** Builds a resource: `resourceType` first, then the template's elements in the order written. */
  private instantiateResource(resourceType: string, node: TemplateNode, item: unknown, vars: Vars, path: string | undefined): FhirResource {
    if (node.kind === 'object') {
      const seed: Record<string, unknown> = { resourceType };
      this.fillObject(node, item, vars, path, seed);
      return seed as unknown as FhirResource;
    }
    const body = this.instantiate(node, item, vars, path) as Record<string, unknown> | undefined;
    return { resourceType, ...body } as FhirResource;
  }

  /** Fills `out` with an object node's elements; returns whether any element was set (and counts as produced). */
  private fillObject(node: ObjectNode, item: unknown, vars: Vars, path: string | undefined, out: Record<string, unknown>): boolean {
    const producedBefore = this.produced;
    const filled = objectFiller(node)(this, node.entries, item, vars, path, out);
    return filled && (!node.dynamic || this.produced > producedBefore);
  }

  /** Called by generated fillers for elements named `reference`. */
  noteReference(child: TemplateNode, value: unknown, item: unknown, vars: Vars, path: string | undefined): void {
    if (typeof value === 'string') {
      const expression = child.kind === 'expression' ? child.expression : undefined;
      this.references.push({ entry: this.built.entries.length, value, path, span: expression?.span ?? child.span, expression, item, vars: snapshotOf(expression, vars, this.rebound) });
    }
  }

  /** Instantiates a template node; `path` (relative FHIRPath) is tracked only when provenance is on. */
  instantiate(node: TemplateNode, item: unknown, vars: Vars, path: string | undefined): unknown {
    switch (node.kind) {
      case 'literal':
        if (this.provenance && path !== undefined && node.value !== undefined) {
          // A whole template folded to one literal is recorded per element, never as the resource or bundle itself.
          const elements = path === '' && typeof node.value === 'object' && !Array.isArray(node.value) ? Object.keys(node.value as object) : [''];
          for (const element of elements) {
            this.provenance.push({ expression: element === '' ? path : `.${element}`, rule: node.span, inputs: [], inputValues: [] });
          }
        }
        return node.value;
      case 'expression': {
        const values = presentValues(this.evaluate(node.expression, item, vars));
        if (values.length === 0) {
          return undefined;
        }
        this.produced++;
        if (values.length > 1) {
          this.multiple(node.expression, item, vars, values.length, 'this element');
        }
        if (this.provenance && path !== undefined) {
          this.provenance.push({ expression: path, rule: node.span, ...this.traced(node.expression, item, vars) });
        }
        return values[0];
      }
      case 'object': {
        if (node.when && !this.truthy(node.when, item, vars)) {
          return undefined;
        }
        const out: Record<string, unknown> = {};
        return this.fillObject(node, item, vars, path, out) ? out : undefined;
      }
      case 'array': {
        const out: unknown[] = [];
        for (const entry of node.items) {
          if (entry.forEach) {
            const values = this.evaluate(entry.forEach, item, vars);
            const savedIndex = vars.index;
            const savedItem = entry.as !== undefined ? vars[entry.as] : undefined;
            for (let index = 0; index < values.length; index++) {
              this.tick();
              const value = values[index];
              vars.index = index;
              if (entry.as !== undefined) {
                vars[entry.as] = value;
              }
              const built = this.instantiate(entry.node, value, vars, path === undefined ? undefined : `${path}[${out.length}]`);
              if (built !== undefined) {
                out.push(built);
              }
            }
            vars.index = savedIndex;
            if (entry.as !== undefined) {
              vars[entry.as] = savedItem;
            }
          } else if (entry.node.kind === 'expression') {
            const values = presentValues(this.evaluate(entry.node.expression, item, vars));
            this.produced += values.length;
            for (const value of values) {
              if (this.provenance && path !== undefined) {
                this.provenance.push({ expression: `${path}[${out.length}]`, rule: entry.node.span, ...this.traced(entry.node.expression, item, vars) });
              }
              out.push(value);
            }
          } else {
            const built = this.instantiate(entry.node, item, vars, path === undefined ? undefined : `${path}[${out.length}]`);
            if (built !== undefined) {
              out.push(built);
            }
          }
        }
        return out.length > 0 ? out : undefined;
      }
    }
  }

  private inputsOf(expression: CompiledExpression, context: unknown, vars: Vars): InputSpan[] {
    const inputs: InputSpan[] = [];
    const origin = originOf(context);
    if (origin) {
      for (const field of expression.fields) {
        inputs.push(origin.locate(field));
      }
    }
    for (const [variable, field] of expression.variableFields) {
      const variableOrigin = originOf(firstOf(vars[variable]));
      if (variableOrigin) {
        inputs.push(variableOrigin.locate(field));
      }
    }
    return inputs;
  }

  private traced(expression: CompiledExpression, context: unknown, vars: Vars): { inputs: InputSpan[]; inputValues: unknown[] } {
    const inputs: InputSpan[] = [];
    const inputValues: unknown[] = [];
    const origin = originOf(context);
    if (origin) {
      for (const field of expression.fields) {
        inputs.push(origin.locate(field));
        inputValues.push((context as Record<string, unknown>)[field]);
      }
    }
    for (const [variable, field] of expression.variableFields) {
      const holder = firstOf(vars[variable]);
      const variableOrigin = originOf(holder);
      if (variableOrigin) {
        inputs.push(variableOrigin.locate(field));
        inputValues.push((holder as Record<string, unknown>)[field]);
      }
    }
    return { inputs, inputValues };
  }

  private inputOf(expression: CompiledExpression, context: unknown, vars: Vars): InputSpan | undefined {
    return this.inputsOf(expression, context, vars)[0] ?? originOf(context)?.locate() ?? this.source.origin;
  }
}

/** The same problem found twice in one record (e.g. one patient listed under two responses) is reported once. */
function distinct(diagnostics: Diagnostic[]): Diagnostic[] {
  if (diagnostics.length < 2) {
    return diagnostics;
  }
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const signature = `${d.code}\u0000${d.message}\u0000${d.rule?.file}:${d.rule?.line}:${d.rule?.column}\u0000${d.input?.file}:${d.input?.line}:${d.input?.column}:${d.input?.field}:${d.input?.xpath}:${d.input?.pointer}`;
    if (seen.has(signature)) {
      return false;
    }
    seen.add(signature);
    return true;
  });
}

type ObjectFiller = (
  engine: RecordTransform,
  entries: ObjectNode['entries'],
  item: unknown,
  vars: Vars,
  path: string | undefined,
  out: Record<string, unknown>,
) => boolean;

const fillers = new WeakMap<ObjectNode, ObjectFiller>();

/**
 * A filler specialised to one template object: one statement per element with the property name as a literal,
 * so every store site sees one name (a generic loop's `out[name] = value` is megamorphic and dominated the
 * profile). Names are embedded with JSON.stringify; no mapping expression is ever turned into code.
 */
function objectFiller(node: ObjectNode): ObjectFiller {
  let filler = fillers.get(node);
  if (!filler) {
    const lines = ['let filled = false;', 'let value;', 'let childPath;'];
    node.entries.forEach(([name, child], index) => {
      const key = JSON.stringify(name);
      lines.push(
        `childPath = path === undefined ? undefined : path + ${JSON.stringify(`.${name}`)};`,
        child.kind === 'literal'
          ? `value = childPath === undefined ? entries[${index}][1].value : engine.instantiate(entries[${index}][1], item, vars, childPath);`
          : `value = engine.instantiate(entries[${index}][1], item, vars, childPath);`,
        'if (value !== undefined) {',
        // a template key `__proto__` is data: defined, never assigned (assignment would replace the prototype)
        name === '__proto__' ? `  Object.defineProperty(out, ${key}, { value, enumerable: true, writable: true, configurable: true });` : `  out[${key}] = value;`,
        '  filled = true;',
        name === 'reference' ? `  engine.noteReference(entries[${index}][1], value, item, vars, childPath);` : '',
        '}',
      );
    });
    lines.push('return filled;');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from template keys only (see above)
    filler = new Function('engine', 'entries', 'item', 'vars', 'path', 'out', lines.join('\n')) as ObjectFiller;
    fillers.set(node, filler);
  }
  return filler;
}

/** Whether two built values serialise to the same JSON (compared without serialising them when they are plain JSON). */
function sameJson(a: unknown, b: unknown): boolean {
  const same = compareJson(a, b);
  return same === undefined ? JSON.stringify(a) === JSON.stringify(b) : same;
}

/** Structural comparison of plain JSON values; undefined when either holds anything else (JSON.stringify decides). */
function compareJson(a: unknown, b: unknown): boolean | undefined {
  if (!plainJson(a) || !plainJson(b)) {
    return undefined;
  }
  if (a === b) {
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return false;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      return false;
    }
    let result: boolean | undefined = true;
    for (let i = 0; i < a.length && result !== undefined; i++) {
      const same = compareJson(a[i], b[i]);
      result = same === undefined ? undefined : result && same;
    }
    return result;
  }
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  let result: boolean | undefined = aKeys.length === bKeys.length;
  for (let i = 0; i < aKeys.length && result !== undefined; i++) {
    const value = (a as Record<string, unknown>)[aKeys[i]!];
    const same = compareJson(value, i < bKeys.length ? (b as Record<string, unknown>)[bKeys[i]!] : undefined);
    result = same === undefined ? undefined : result && same && aKeys[i] === bKeys[i];
  }
  for (let i = aKeys.length; i < bKeys.length && result !== undefined; i++) {
    result = plainJson((b as Record<string, unknown>)[bKeys[i]!]) ? result : undefined;
  }
  return result;
}

/** A string, boolean, finite number, null, array or object without toJSON (whose parts are checked as met). */
function plainJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      return value === null || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON !== 'function';
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      return false;
  }
}

/** A `let` variable holds a collection: its first item locates it. */
const firstOf = (value: unknown): unknown => (Array.isArray(value) ? (value as unknown[])[0] : value);

/** The relative FHIRPath (`.subject.reference`) of the first element named `name` holding `value`. */
function pathOfValue(node: unknown, name: string, value: unknown, path = ''): string | undefined {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const found = pathOfValue(node[i], name, value, `${path}[${i}]`);
      if (found !== undefined) {
        return found;
      }
    }
  } else if (node !== null && typeof node === 'object') {
    for (const [key, child] of Object.entries(node)) {
      if (key === name && child === value) {
        return `${path}.${key}`;
      }
      const found = pathOfValue(child, name, value, `${path}.${key}`);
      if (found !== undefined) {
        return found;
      }
    }
  }
  return undefined;
}

/** FHIR has no empty strings or nulls: such values count as absent. */
function presentValues(values: unknown[]): unknown[] {
  let clean = true;
  for (const value of values) {
    if (value === '' || value === null || value === undefined) {
      clean = false;
      break;
    }
  }
  return clean ? values : values.filter((value) => value !== '' && value !== null && value !== undefined);
}
