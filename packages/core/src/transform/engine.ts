import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import { entryFullUrl, entryUuid, joinKey } from '../bundle/ids.js';
import type { Diagnostic, InputSpan, RuleSpan } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import type { CompiledExpression, EvalReport, EvalSink } from '../expressions/types.js';
import type { KeyPart, Mapping } from '../mapping/load.js';
import { originOf, type SourceRecord } from '../sources/types.js';
import { checkDocument, documentRoot, type MappingTarget } from '../targets.js';
import { lookupProvenance } from './provenance.js';
import type { TemplateNode } from './template.js';

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

interface PendingReference {
  readonly value: string;
  readonly path: string;
  readonly span: RuleSpan;
  readonly input: InputSpan | undefined;
}

interface BuiltEntry {
  readonly fullUrl: string;
  readonly resource: FhirResource;
  readonly ruleSpan: RuleSpan;
  readonly references: PendingReference[];
  readonly provenance: ProvenanceEntry[] | undefined;
}

/** Maps one source record to a bundle. Pure and synchronous; never throws for bad data. */
export function transformRecord(mapping: Mapping, source: SourceRecord, options: TransformOptions = {}): MapResult {
  if (source.data === undefined) {
    return { key: source.key, ok: false, diagnostics: source.diagnostics, source };
  }
  const transform = new RecordTransform(mapping, source, options.provenance === true);
  return mapping.target === 'fhir-bundle' ? transform.run() : transform.runDocument(mapping.target);
}

class RecordTransform implements EvalSink {
  private readonly diagnostics: Diagnostic[];
  private expression: CompiledExpression | undefined;
  private context: unknown;
  private vars: Vars = {};
  private references: PendingReference[] = [];
  private provenance: ProvenanceEntry[] | undefined;
  /** Count of expressions that produced a value so far (to drop objects whose expressions all came out empty). */
  private produced = 0;

  constructor(
    private readonly mapping: Mapping,
    private readonly source: SourceRecord,
    private readonly trackProvenance: boolean,
  ) {
    this.diagnostics = [...source.diagnostics];
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
    const vars: Vars = { ...mapping.constants, record: data, index: 0, key: source.key };
    const key = spec.key ? this.key(spec.key, data, vars, spec.span) : source.key;
    const root = documentRoot[target];
    this.provenance = [];
    const document = this.instantiate(spec.template, data, { ...vars, key: key ?? source.key }, '');
    const provenance = this.provenance.map((p) => ({ ...p, expression: `${root}${p.expression}` }));
    if (document !== undefined) {
      for (const problem of checkDocument(target, document)) {
        const origin = problem.expression !== undefined && problem.rule === undefined ? lookupProvenance(provenance, problem.expression) : undefined;
        this.diagnostics.push(origin ? { ...problem, rule: origin.rule, ...(origin.inputs[0] ? { input: origin.inputs[0] } : {}) } : problem);
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
    const baseVars: Vars = { ...mapping.constants, record: data, index: 0, key: source.key };
    const entries: BuiltEntry[] = [];
    const byFullUrl = new Map<string, BuiltEntry>();

    for (const rule of mapping.rules) {
      const contexts: unknown[] = rule.forEach ? this.evaluate(rule.forEach, data, baseVars) : [data];
      for (let index = 0; index < contexts.length; index++) {
        const item = contexts[index];
        const vars: Vars = rule.forEach ? { ...baseVars, index, ...(rule.as !== undefined ? { [rule.as]: item } : {}) } : baseVars;
        if (rule.when && !this.truthy(rule.when, item, vars)) {
          continue;
        }
        const key = this.key(rule.key, item, vars, rule.span);
        if (key === undefined) {
          continue;
        }
        const fullUrl = entryFullUrl(mapping.namespace, rule.resourceType, key);
        this.references = [];
        this.provenance = this.trackProvenance ? [] : undefined;
        const body = this.instantiate(rule.template, item, { ...vars, key }, '') as Record<string, unknown> | undefined;
        const resource = { resourceType: rule.resourceType, ...body } as FhirResource;
        const built: BuiltEntry = { fullUrl, resource, ruleSpan: rule.span, references: this.references, provenance: this.provenance };
        const existing = byFullUrl.get(fullUrl);
        if (existing) {
          if (JSON.stringify(existing.resource) !== JSON.stringify(resource)) {
            this.diagnostics.push({
              code: 'MAP_KEY_CONFLICT',
              severity: 'warning',
              message: `Rule '${rule.id}' built two different ${rule.resourceType} resources for key '${key}'; the first is kept.`,
              hint: `Make the key unique (add the distinguishing field), or make the two identical. The first came from rule at line ${existing.ruleSpan.line}.`,
              rule: rule.span,
              ...(originOf(item) ? { input: originOf(item)!.locate() } : {}),
            });
          }
          continue;
        }
        byFullUrl.set(fullUrl, built);
        entries.push(built);
      }
    }

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
    this.references = [];
    this.provenance = this.trackProvenance ? [] : undefined;
    const bundleExtras = mapping.bundle.template ? (this.instantiate(mapping.bundle.template, data, bundleVars, '') as Record<string, unknown> | undefined) : undefined;
    const bundleProvenance = this.provenance;

    const provenance: ProvenanceEntry[] | undefined = this.trackProvenance ? [...(bundleProvenance ?? []).map((p) => ({ ...p, expression: `Bundle${p.expression}` }))] : undefined;
    const bundleEntries: BundleEntry[] = [];
    entries.forEach((entry, index) => {
      bundleEntries.push({ fullUrl: entry.fullUrl, resource: entry.resource });
      const prefix = `Bundle.entry[${index}].resource`;
      for (const reference of entry.references) {
        if (!byFullUrl.has(reference.value)) {
          this.diagnostics.push({
            code: 'MAP_DANGLING_REFERENCE',
            severity: 'error',
            message: `${prefix}${reference.path} refers to ${reference.value}, but no entry in this bundle has that fullUrl.`,
            hint: 'The rule and natural key passed to ref() must match an entry that was built; check the key values and any `when` on the target rule.',
            rule: reference.span,
            ...(reference.input ? { input: reference.input } : {}),
            expression: `${prefix}${reference.path}`,
          });
        }
      }
      if (provenance && entry.provenance) {
        for (const p of entry.provenance) {
          provenance.push({ ...p, expression: `${prefix}${p.expression}` });
        }
      }
    });

    const bundle: Bundle = {
      resourceType: 'Bundle',
      ...(bundleKey !== undefined ? { id: entryUuid(mapping.namespace, 'Bundle', bundleKey) } : {}),
      ...bundleExtras,
      type: bundleType as Bundle['type'],
      entry: bundleEntries,
    };
    return {
      key: source.key,
      ok: !hasErrors(this.diagnostics),
      bundle,
      diagnostics: distinct(this.diagnostics),
      ...(provenance ? { provenance } : {}),
      source,
    };
  }

  private evaluate(expression: CompiledExpression, context: unknown, vars: Vars): unknown[] {
    const previous = [this.expression, this.context, this.vars] as const;
    this.expression = expression;
    this.context = context;
    this.vars = vars;
    const result = expression.evaluate(context, vars, this);
    [this.expression, this.context, this.vars] = previous;
    return result;
  }

  private truthy(expression: CompiledExpression, context: unknown, vars: Vars): boolean {
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
    const values = presentValues(this.evaluate(part.expression, context, vars));
    if (values.length > 1) {
      this.multiple(part.expression, context, vars, values.length, 'a key');
    }
    const value = values[0];
    if (value === undefined) {
      return undefined;
    }
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  }

  private key(parts: readonly KeyPart[], context: unknown, vars: Vars, span: RuleSpan): string | undefined {
    const values: string[] = [];
    for (const part of parts) {
      const value = this.keyPart(part, context, vars);
      if (value === undefined) {
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
      values.push(value);
    }
    return joinKey(values);
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

  private instantiate(node: TemplateNode, item: unknown, vars: Vars, path: string): unknown {
    switch (node.kind) {
      case 'literal':
        if (this.provenance && node.value !== undefined) {
          this.provenance.push({ expression: path, rule: node.span, inputs: [], inputValues: [] });
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
        if (this.provenance) {
          this.provenance.push({ expression: path, rule: node.span, ...this.traced(node.expression, item, vars) });
        }
        return values[0];
      }
      case 'object': {
        if (node.when && !this.truthy(node.when, item, vars)) {
          return undefined;
        }
        const out: Record<string, unknown> = {};
        let filled = false;
        const producedBefore = this.produced;
        for (const [name, child] of node.entries) {
          const childPath = `${path}.${name}`;
          const value = this.instantiate(child, item, vars, childPath);
          if (value !== undefined) {
            out[name] = value;
            filled = true;
            if (name === 'reference' && typeof value === 'string' && value.startsWith('urn:uuid:')) {
              const span = child.kind === 'expression' ? child.expression.span : child.span;
              const input = child.kind === 'expression' ? this.inputOf(child.expression, item, vars) : undefined;
              this.references.push({ value, path: childPath, span, input });
            }
          }
        }
        return filled && (!node.dynamic || this.produced > producedBefore) ? out : undefined;
      }
      case 'array': {
        const out: unknown[] = [];
        for (const entry of node.items) {
          if (entry.forEach) {
            const values = this.evaluate(entry.forEach, item, vars);
            for (let index = 0; index < values.length; index++) {
              const value = values[index];
              const itemVars: Vars = { ...vars, index, ...(entry.as !== undefined ? { [entry.as]: value } : {}) };
              const built = this.instantiate(entry.node, value, itemVars, `${path}[${out.length}]`);
              if (built !== undefined) {
                out.push(built);
              }
            }
          } else if (entry.node.kind === 'expression') {
            const values = presentValues(this.evaluate(entry.node.expression, item, vars));
            this.produced += values.length;
            for (const value of values) {
              if (this.provenance) {
                this.provenance.push({ expression: `${path}[${out.length}]`, rule: entry.node.span, ...this.traced(entry.node.expression, item, vars) });
              }
              out.push(value);
            }
          } else {
            const built = this.instantiate(entry.node, item, vars, `${path}[${out.length}]`);
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
      const variableOrigin = originOf(vars[variable]);
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
      const holder = vars[variable];
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
