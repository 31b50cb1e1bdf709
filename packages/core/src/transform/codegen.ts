import { collectionPlanOf, scalarOf } from '../expressions/compile.js';
import { asCollection, memberPathItems, SEVERAL, valuesEqual, type ChainPlan, type OnError, type ScalarPlan } from '../expressions/fast.js';
import { keyPartText } from '../functions/identifiers.js';
import type { CompiledExpression, EvalSink, EvalVariables } from '../expressions/types.js';
import { joinKey, joinKeyPair, type FullUrls } from '../bundle/ids.js';
import type { RuleSpan } from '../diagnostics/diagnostic.js';
import type { CompiledRule, KeyPart } from '../mapping/load.js';
import type { ObjectNode, TemplateNode } from './template.js';

/**
 * What generated template code needs from the record transform. Each method does exactly what the
 * interpreter (`RecordTransform.instantiate`) does for the same node, so both paths give the same results.
 */
export interface TemplateHost extends EvalSink {
  /** Count of expressions that produced a value so far (objects whose expressions all came out empty are dropped). */
  produced: number;
  /** Makes `expression` at `item` the one reports are attributed to. */
  enter(expression: CompiledExpression, item: unknown, vars: EvalVariables): void;
  /** An expression in a value slot: its one present value (counted as produced), MAP_MULTIPLE_VALUES on several. */
  slot(expression: CompiledExpression, item: unknown, vars: EvalVariables): unknown;
  /** The present values of an expression list item (counted as produced). */
  spread(expression: CompiledExpression, item: unknown, vars: EvalVariables): unknown[];
  /** A `$when` condition. */
  truthy(expression: CompiledExpression, item: unknown, vars: EvalVariables): boolean;
  /** A `$forEach` collection. */
  collection(expression: CompiledExpression, item: unknown, vars: EvalVariables): unknown[];
  /** Records an element named `reference` for the dangling-reference check. */
  noteReference(child: TemplateNode, value: unknown, item: unknown, vars: EvalVariables, path: undefined): void;
  /**
   * The natural key from part `from` on, evaluated part by part as the interpreter does (`values` holds the texts
   * of the parts before it); undefined after reporting an empty part.
   */
  keyFrom(parts: readonly KeyPart[], from: number, values: string[], item: unknown, vars: EvalVariables, span: RuleSpan): string | undefined;
  /** Reports key part `part` as empty (MAP_EMPTY_KEY). */
  emptyKey(part: KeyPart, item: unknown, vars: EvalVariables, span: RuleSpan): undefined;
  /** Starts an entry: the references noted from here on belong to it. */
  beginEntry(): void;
  /** Counts one more element built by a `$forEach` item against the record's budgets (throws when one is spent). */
  tick(): void;
  /** Builds a rule's resource with the interpreter (a template whose root is not an object). */
  instantiateRule(rule: CompiledRule, item: unknown, vars: EvalVariables): Record<string, unknown>;
  /** Adds a built entry to the bundle (or reports a different resource already built under its fullUrl). */
  addEntry(rule: CompiledRule, key: string, fullUrl: string, resource: Record<string, unknown>, item: unknown): void;
}

/** Computes the natural key of an entry for a context item; undefined when a part is empty (reported). */
export type KeyBuilder = (host: TemplateHost, item: unknown, vars: Record<string, unknown>) => string | undefined;

/** Builds the entries of one rule for a record: forEach, let, when, key, fullUrl and resource, in that order. */
export type RuleRunner = (host: TemplateHost, data: unknown, vars: Record<string, unknown>) => void;

/** Builds one resource (`resourceType` first, then the template's elements) for a context item. */
export type ResourceBuilder = (host: TemplateHost, item: unknown, vars: Record<string, unknown>) => Record<string, unknown>;
/** Instantiates one template node; undefined when it builds nothing. */
export type NodeBuilder = (host: TemplateHost, item: unknown, vars: Record<string, unknown>) => unknown;

const resourceBuilders = new WeakMap<CompiledRule, ResourceBuilder | null>();
const nodeBuilders = new WeakMap<TemplateNode, NodeBuilder>();

/**
 * The rule's template compiled to one JavaScript function, or undefined when the template's root is not an
 * object (the interpreter handles it). Only for runs without provenance: the generated code tracks no paths.
 */
export function resourceBuilder(rule: CompiledRule): ResourceBuilder | undefined {
  let builder = resourceBuilders.get(rule);
  if (builder === undefined) {
    builder = rule.template.kind === 'object' ? generateResource(rule.resourceType, rule.template, `cadmapBuild_${identifierPart(rule.id)}`) : null;
    resourceBuilders.set(rule, builder);
  }
  return builder ?? undefined;
}

/** A template node compiled to one JavaScript function (same results as `instantiate` without provenance). */
export function nodeBuilder(node: TemplateNode): NodeBuilder {
  let builder = nodeBuilders.get(node);
  if (!builder) {
    const generator = new Generator();
    const value = generator.node(node, 'item');
    builder = generator.finish(`${value.lines.join('\n')}\nreturn ${value.result};`, 'cadmapTemplate') as NodeBuilder;
    nodeBuilders.set(node, builder);
  }
  return builder;
}

const keyBuilders = new WeakMap<readonly KeyPart[], KeyBuilder>();

/**
 * A natural key compiled to one JavaScript function: each part's scalar form inlined, the texts joined as
 * `joinKey` joins them. A part that may have several values hands over to the interpreter from that part on
 * (nothing has run for it yet); an empty part is reported as the interpreter reports it.
 */
export function keyBuilder(parts: readonly KeyPart[], span: RuleSpan): KeyBuilder {
  let builder = keyBuilders.get(parts);
  if (!builder) {
    const generator = new Generator();
    const lines: string[] = [];
    // each part's text in a local t0, t1…; an array is built only to hand over or to join three parts or more
    const texts = (count: number): string => `[${Array.from({ length: count }, (_, k) => `t${k}`).join(', ')}]`;
    parts.forEach((part, index) => {
      if (part.kind === 'literal') {
        lines.push(`const t${index} = ${JSON.stringify(part.value)};`);
        return;
      }
      const value = `k${index}`;
      const scalar = generator.keyPart(part.expression, value);
      const handOver = `return host.keyFrom(${generator.constantOf(parts)}, ${index}, ${texts(index)}, item, vars, ${generator.constantOf(span)});`;
      lines.push(
        `let ${value};`,
        ...(scalar ?? [`${value} = SEVERAL;`]),
        `if (${value} === SEVERAL) ${handOver}`,
        `if (${value} === undefined || ${value} === null || ${value} === '') return host.emptyKey(${generator.constantOf(part)}, item, vars, ${generator.constantOf(span)});`,
        `const t${index} = typeof ${value} === 'string' ? ${value} : ${generator.constantOf(keyText)}(${value});`,
      );
    });
    lines.push(
      parts.length === 1 ? 'return t0;' : parts.length === 2 ? `return ${generator.constantOf(joinKeyPair)}(t0, t1);` : `return ${generator.constantOf(joinKey)}(${texts(parts.length)});`,
    );
    builder = generator.finish(lines.join('\n'), 'cadmapKey') as KeyBuilder;
    keyBuilders.set(parts, builder);
  }
  return builder;
}

/**
 * A whole rule compiled to one function, doing what the interpreter's rule loop does (`RecordTransform.run`):
 * for each `forEach` item (or the record), bind index and `as`, compute the `let` values, test `when`, compute
 * the key (skipped when empty), then build the resource under the key's fullUrl. The key, builder and fullUrl
 * table are called from this function only, so each of those call sites sees one target.
 */
export function ruleRunner(rule: CompiledRule, fullUrls: FullUrls): RuleRunner {
  const generator = new Generator();
  const build = resourceBuilder(rule);
  const lines = ['const recordKey = vars.key;'];
  if (rule.forEach) {
    lines.push(
      'let contexts;',
      ...generator.collectionOf(rule.forEach, 'item', 'contexts'),
      'for (let index = 0; index < contexts.length; index++) {',
      'const each = contexts[index];',
      'vars.index = index;',
      ...(rule.as !== undefined ? [`vars[${JSON.stringify(rule.as)}] = each;`] : []),
    );
  } else {
    lines.push('{', 'const each = item;');
  }
  lines.push('entry: {');
  for (const [name, expression] of rule.let) {
    lines.push('{', 'let value;', ...generator.collectionOf(expression, 'each', 'value'), `vars[${JSON.stringify(name)}] = value;`, '}');
  }
  if (rule.when) {
    const when = generator.conditionOf(rule.when, 'each');
    lines.push(...when.lines, `if (!${when.result}) break entry;`);
  }
  const ruleConstant = generator.constantOf(rule);
  lines.push(
    `const key = ${generator.constantOf(keyBuilder(rule.key, rule.span))}(host, each, vars);`,
    'if (key === undefined) break entry;',
    `const fullUrl = ${generator.constantOf(fullUrls)}.of(key);`,
    'host.beginEntry();',
    'vars.key = key;',
    build ? `const resource = ${generator.constantOf(build)}(host, each, vars);` : `const resource = host.instantiateRule(${ruleConstant}, each, vars);`,
    'vars.key = recordKey;',
    `host.addEntry(${ruleConstant}, key, fullUrl, resource, each);`,
    '}',
    '}',
  );
  return generator.finish(lines.join('\n'), `cadmapRule_${identifierPart(rule.id)}`) as RuleRunner;
}

/**
 * The rule runners called one after another from one function, each from its own call site (a loop calling
 * them through one site made that call megamorphic, with no inlining).
 */
export function rulesRunner(runners: readonly RuleRunner[]): RuleRunner {
  const generator = new Generator();
  const calls = runners.map((runner) => `${generator.constantOf(runner)}(host, item, vars);`);
  return generator.finish(calls.join('\n'), 'cadmapRules') as RuleRunner;
}

/** Builds a bundle around its entries: its id (when it has a key), type and entries. */
export type BundleBuilder = (id: string | undefined, type: string, entry: unknown[]) => Record<string, unknown>;

/**
 * A bundle whose template is one constant object, built as one object literal: the members
 * `{ resourceType: 'Bundle', id, ...template, type, entry }` has, in the same order with the same values
 * (a template member named like one of the others takes its place), without spreading the template per record.
 */
export function constantBundleBuilder(template: Readonly<Record<string, unknown>>): BundleBuilder {
  const generator = new Generator();
  const members = (withId: boolean): string => {
    const values = new Map<string, string>([['resourceType', "'Bundle'"]]);
    if (withId) {
      values.set('id', 'id');
    }
    for (const name of Object.keys(template)) {
      values.set(name, generator.constantOf(template[name]));
    }
    values.set('type', 'type');
    values.set('entry', 'entry');
    // a quoted `__proto__` key in a literal would set the prototype: computed keys define own properties
    return [...values].map(([name, value]) => `${name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name)}: ${value}`).join(', ');
  };
  return generator.finish(`return id === undefined ? { ${members(false)} } : { ${members(true)} };`, 'cadmapBundle', 'id, type, entry') as BundleBuilder;
}

/** The text of a key part's value (as `keyPart` in the interpreter). */
export const keyText = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);

function generateResource(resourceType: string, node: ObjectNode, name: string): ResourceBuilder {
  const generator = new Generator();
  // The root object's `$when` is not consulted and it is kept even when empty, as in the interpreter.
  const lines = ['let out;', ...generator.build(node, 'item', 'out', undefined, [['resourceType', JSON.stringify(resourceType)]])];
  return generator.finish(`${lines.join('\n')}\nreturn out;`, name) as ResourceBuilder;
}

interface Generated {
  readonly lines: string[];
  /** A JavaScript expression (a local name or `undefined`) holding the node's value after the lines ran. */
  readonly result: string;
}

/**
 * Emits straight-line code for a template. Only element names and `$as` names from the mapping reach the code,
 * always quoted with JSON.stringify; expressions, nodes and literal values are passed in as constants.
 */
class Generator {
  private readonly constants: unknown[] = [];
  private counter = 0;

  /** `name` (letters, digits and `_` only) names the function, so profiles and stack traces tell them apart. */
  finish(body: string, name: string, parameters = 'host, item, vars'): unknown {
    const prologue = this.constants.map((_, index) => `const c${index} = C[${index}];`).join('\n');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- mapping text is only ever embedded JSON-quoted
    const factory = new Function('C', 'SEVERAL', `'use strict';\n${prologue}\nreturn function ${name}(${parameters}) {\n${body}\n};`) as (
      constants: unknown[],
      several: symbol,
    ) => unknown;
    return factory(this.constants, SEVERAL);
  }

  /** Lines that set `target` to a key part's scalar value, or undefined when it has no scalar form. */
  keyPart(expression: CompiledExpression, target: string): string[] | undefined {
    return this.scalar(expression, 'item', target);
  }

  constantOf(value: unknown): string {
    return this.constant(value);
  }

  /**
   * Lines setting `target` (declared by the caller) to an expression's collection at `item`: a member path read
   * directly, a path filtered by a pure where() as a loop with the criterion inlined (the closures evaluate it
   * again when the criterion has several values for an item), anything else through the host.
   */
  collectionOf(expression: CompiledExpression, item: string, target: string): string[] {
    const plan = collectionPlanOf(expression);
    const start = (variable: string | undefined): string => (variable === undefined ? item : `vars[${JSON.stringify(variable)}]`);
    if (plan?.kind === 'path') {
      return [`${target} = ${this.constant(memberPathItems)}(${start(plan.variable)}, ${this.constant(plan.keys)});`];
    }
    if (plan?.kind === 'where') {
      const items = this.name('items');
      const index = this.name('i');
      const each = this.name('each');
      const kept = this.name('kept');
      return [
        `const ${items} = ${this.constant(memberPathItems)}(${start(plan.variable)}, ${this.constant(plan.keys)});`,
        `${target} = [];`,
        `for (let ${index} = 0; ${index} < ${items}.length; ${index}++) {`,
        `const ${each} = ${items}[${index}];`,
        `let ${kept};`,
        ...this.plan(plan.criterion, each, kept),
        `if (${kept} === SEVERAL) { ${target} = undefined; break; }`,
        `if (${kept} !== undefined && ${kept} !== null && ${kept} !== false) ${target}.push(${each});`,
        '}',
        `if (${target} === undefined) ${target} = host.collection(${this.constant(expression)}, ${item}, vars);`,
      ];
    }
    return [`${target} = host.collection(${this.constant(expression)}, ${item}, vars);`];
  }

  /** Lines computing a `when` condition at `item` (scalar form when it has one). */
  conditionOf(expression: CompiledExpression, item: string): Generated {
    return this.condition(expression, item);
  }

  private constant(value: unknown): string {
    let index = this.constants.indexOf(value);
    if (index < 0) {
      index = this.constants.push(value) - 1;
    }
    return `c${index}`;
  }

  private name(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  node(node: TemplateNode, item: string): Generated {
    switch (node.kind) {
      case 'literal':
        return { lines: [], result: node.value === undefined ? 'undefined' : this.constant(node.value) };
      case 'expression':
        return this.slot(node.expression, item);
      case 'object':
        return this.object(node, item);
      case 'array':
        return this.array(node, item);
    }
  }

  /**
   * The lines that compute each element of `node` and then build `out` from them (`leading` first, e.g. the
   * resourceType); `filled` (when given) is set when an element is present. When every element came out
   * present — the common case — `out` is built as one object literal, so it is allocated with its final shape
   * (cheaper to build and to serialise than adding properties one by one); otherwise element by element.
   */
  build(node: ObjectNode, item: string, out: string, filled: string | undefined, leading: readonly (readonly [string, string])[] = []): string[] {
    const lines: string[] = [];
    const parts: { readonly key: string; readonly value: string; readonly always: boolean }[] = [];
    for (const [name, child] of node.entries) {
      const value = this.node(child, item);
      lines.push(...value.lines);
      if (value.result === 'undefined') {
        continue;
      }
      // a quoted `__proto__` key in a literal would set the prototype: computed keys define own properties
      const key = name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name);
      const always = child.kind === 'literal';
      parts.push({ key, value: value.result, always });
      if (name === 'reference') {
        lines.push(`if (${value.result} !== undefined) host.noteReference(${this.constant(child)}, ${value.result}, ${item}, vars, undefined);`);
      }
    }
    const fixed = leading.map(([name, value]) => `${JSON.stringify(name)}: ${value}`);
    const literal = `{ ${[...fixed, ...parts.map((part) => `${part.key}: ${part.value}`)].join(', ')} }`;
    const optional = parts.filter((part) => !part.always);
    if (optional.length === 0) {
      lines.push(`${out} = ${literal};`);
    } else {
      lines.push(
        `if (${optional.map((part) => `${part.value} !== undefined`).join(' && ')}) ${out} = ${literal};`,
        'else {',
        `${out} = { ${fixed.join(', ')} };`,
        ...parts.map((part) => `${part.always ? '' : `if (${part.value} !== undefined) `}${defineKey(out, part.key, part.value)};`),
        '}',
      );
    }
    if (filled !== undefined && parts.length > 0) {
      lines.push(parts.some((part) => part.always) ? `${filled} = true;` : `${filled} = ${optional.map((part) => `${part.value} !== undefined`).join(' || ')};`);
    }
    return lines;
  }

  private object(node: ObjectNode, item: string): Generated {
    const result = this.name('o');
    const out = this.name('out');
    const filled = this.name('filled');
    const before = this.name('before');
    const body = [
      `let ${out};`,
      `let ${filled} = false;`,
      ...(node.dynamic ? [`const ${before} = host.produced;`] : []),
      ...this.build(node, item, out, filled),
      node.dynamic ? `if (${filled} && host.produced > ${before}) ${result} = ${out};` : `if (${filled}) ${result} = ${out};`,
    ];
    if (!node.when) {
      return { lines: [`let ${result};`, '{', ...body, '}'], result };
    }
    const condition = this.condition(node.when, item);
    return { lines: [`let ${result};`, ...condition.lines, `if (${condition.result}) {`, ...body, '}'], result };
  }

  private array(node: Extract<TemplateNode, { kind: 'array' }>, item: string): Generated {
    if (node.items.every((entry) => !entry.forEach && entry.node.kind !== 'expression')) {
      return this.fixedItemsArray(node.items.map((entry) => entry.node), item);
    }
    const [only] = node.items;
    if (node.items.length === 1 && only !== undefined && !only.forEach && only.node.kind === 'expression') {
      return this.singleExpressionArray(only.node.expression, item);
    }
    const out = this.name('list');
    const lines = [`const ${out} = [];`];
    for (const entry of node.items) {
      if (entry.forEach) {
        const values = this.name('values');
        const index = this.name('i');
        const value = this.name('each');
        const savedIndex = this.name('savedIndex');
        const savedItem = this.name('savedItem');
        const as = entry.as === undefined ? undefined : `vars[${JSON.stringify(entry.as)}]`;
        const built = this.node(entry.node, value);
        const variable = bareVariable(entry.forEach);
        lines.push(
          // `%name` alone: the variable as a collection, exactly what its closure returns, without evaluating it
          ...(variable !== undefined
            ? [`const ${values} = ${this.constant(asCollection)}(vars[${JSON.stringify(variable)}]);`]
            : [`let ${values};`, ...this.collectionOf(entry.forEach, item, values)]),
          `const ${savedIndex} = vars.index;`,
          ...(as ? [`const ${savedItem} = ${as};`] : []),
          `for (let ${index} = 0; ${index} < ${values}.length; ${index}++) {`,
          'host.tick();',
          `const ${value} = ${values}[${index}];`,
          `vars.index = ${index};`,
          ...(as ? [`${as} = ${value};`] : []),
          ...built.lines,
          ...(built.result === 'undefined' ? [] : [`if (${built.result} !== undefined) ${out}.push(${built.result});`]),
          '}',
          `vars.index = ${savedIndex};`,
          ...(as ? [`${as} = ${savedItem};`] : []),
        );
      } else if (entry.node.kind === 'expression') {
        lines.push(...this.spread(entry.node.expression, item, out));
      } else {
        const built = this.node(entry.node, item);
        lines.push(...built.lines);
        if (built.result !== 'undefined') {
          lines.push(`if (${built.result} !== undefined) ${out}.push(${built.result});`);
        }
      }
    }
    const result = this.name('a');
    lines.push(`const ${result} = ${out}.length > 0 ? ${out} : undefined;`);
    return { lines, result };
  }

  /**
   * A list of items that are each one value or none (objects and literals, no `$forEach`, no expression that
   * may spread): an array literal of the values when all are present, so it is allocated at its size (`[value]`
   * for one); otherwise the present ones pushed.
   */
  private fixedItemsArray(children: readonly TemplateNode[], item: string): Generated {
    const lines: string[] = [];
    const values: string[] = [];
    for (const child of children) {
      const built = this.node(child, item);
      lines.push(...built.lines);
      if (built.result !== 'undefined') {
        values.push(built.result);
      }
    }
    const result = this.name('a');
    if (values.length === 0) {
      return { lines, result: 'undefined' };
    }
    const [only] = values;
    if (values.length === 1 && only !== undefined) {
      return { lines: [...lines, `const ${result} = ${only} !== undefined ? [${only}] : undefined;`], result };
    }
    const present = this.name('present');
    lines.push(
      `const ${present} = ${values.map((value) => `(${value} !== undefined ? 1 : 0)`).join(' + ')};`,
      `let ${result};`,
      `if (${present} === ${values.length}) ${result} = [${values.join(', ')}];`,
      `else if (${present} > 0) {`,
      `${result} = [];`,
      ...values.map((value) => `if (${value} !== undefined) ${result}.push(${value});`),
      '}',
    );
    return { lines, result };
  }

  /**
   * A list of one expression item (`coding: [=X]`): `[value]`, allocated at its size rather than grown by a
   * push; when the expression has several values they spread as in any list.
   */
  private singleExpressionArray(expression: CompiledExpression, item: string): Generated {
    const result = this.name('a');
    const e = this.constant(expression);
    const value = this.name('v');
    const scalar = this.scalar(expression, item, value);
    const spread = (): string => {
      const values = this.name('values');
      return `{ const ${values} = host.spread(${e}, ${item}, vars); ${result} = ${values}.length > 0 ? ${values}.slice() : undefined; }`;
    };
    if (!scalar) {
      return { lines: [`let ${result};`, spread()], result };
    }
    return {
      lines: [
        `let ${result};`,
        `let ${value};`,
        ...scalar,
        `if (${value} === SEVERAL) ${spread()}`,
        `else if (${value} !== undefined && ${value} !== null && ${value} !== '') { host.produced++; ${result} = [${value}]; }`,
      ],
      result,
    };
  }

  /**
   * Lines that set `target` to the expression's scalar value (undefined when empty, SEVERAL when it may have
   * several), or undefined when it has no scalar form. Member paths are inlined with literal property names
   * (one property per load site) exactly as `member()` reads one item.
   */
  private scalar(expression: CompiledExpression, item: string, target: string): string[] | undefined {
    const scalar = scalarOf(expression);
    if (!scalar) {
      return undefined;
    }
    const enter = scalar.reports ? [`host.enter(${this.constant(expression)}, ${item}, vars);`] : [];
    if (!scalar.path) {
      return scalar.plan ? [...enter, ...this.plan(scalar.plan, item, target)] : [...enter, `${target} = ${this.constant(scalar.evaluate)}(${item}, vars, host);`];
    }
    const { variable, keys, rest, steps, test } = scalar.path;
    const lines = this.path(variable, keys, item, target);
    if (rest) {
      // the steps called one by one from here (one call site each, so V8 can inline them), as `rest` would
      const tested = test === undefined ? [] : [`${target} = ${target} ${test === 'exists' ? '!==' : '==='} undefined;`];
      const body =
        steps.length === 0
          ? tested
          : [
              'try {',
              ...steps.map((step) => `if (${target} !== undefined) ${target} = ${this.constant(step)}(${target}, host);`),
              ...tested,
              `} catch (error) { ${this.constant(scalar.path.onError)}(host, error); ${target} = undefined; }`,
            ];
      lines.push(`if (${target} !== SEVERAL) {`, ...enter, ...body, '}');
    }
    return lines;
  }

  /** Lines reading a member path from `item` or `%variable` into `target`, exactly as `member()` reads one item. */
  private path(variable: string | undefined, keys: readonly string[], item: string, target: string): string[] {
    const block = this.name('path');
    const value = this.name('x');
    const lines = [`${block}: {`];
    if (variable === undefined) {
      lines.push(`let ${value} = ${item};`);
    } else {
      lines.push(
        `let ${value} = vars[${JSON.stringify(variable)}];`,
        `if (${value} === null) { ${target} = undefined; break ${block}; }`,
        `if (Array.isArray(${value})) { ${target} = SEVERAL; break ${block}; }`,
      );
    }
    for (const key of keys) {
      lines.push(
        `if (typeof ${value} !== 'object' || ${value} === null) { ${target} = undefined; break ${block}; }`,
        `if (Array.isArray(${value})) { ${target} = SEVERAL; break ${block}; }`,
        `${value} = ${value}[${JSON.stringify(key)}];`,
        `if (${value} === undefined || ${value} === null || typeof ${value} === 'function') { ${target} = undefined; break ${block}; }`,
      );
    }
    if (keys.length > 0) {
      lines.push(`if (Array.isArray(${value})) { ${target} = SEVERAL; break ${block}; }`);
    }
    lines.push(`${target} = ${value};`, '}');
    return lines;
  }

  /**
   * Lines that set `target` to the value of a scalar form's part (a value, undefined or SEVERAL), doing what its
   * evaluator in expressions/fast.ts does; `target` is declared by the caller.
   */
  private plan(plan: ScalarPlan, item: string, target: string): string[] {
    switch (plan.kind) {
      case 'literal':
        return [`${target} = ${plan.value === undefined ? 'undefined' : this.constant(plan.value)};`];
      case 'path':
        return this.path(plan.variable, plan.keys, item, target);
      case 'follow': {
        const block = this.name('follow');
        const value = this.name('x');
        const lines = [`let ${value};`, ...this.plan(plan.base, item, value), `${block}: {`, `if (${value} === SEVERAL) { ${target} = SEVERAL; break ${block}; }`];
        for (const key of plan.keys) {
          lines.push(
            `if (typeof ${value} !== 'object' || ${value} === null) { ${target} = undefined; break ${block}; }`,
            `${value} = ${value}[${JSON.stringify(key)}];`,
            `if (${value} === undefined || ${value} === null || typeof ${value} === 'function') { ${target} = undefined; break ${block}; }`,
            `if (Array.isArray(${value})) { ${target} = SEVERAL; break ${block}; }`,
          );
        }
        lines.push(`${target} = ${value};`, '}');
        return lines;
      }
      case 'equality': {
        const { a, b, lines } = this.operands(plan.left, plan.right, item);
        return [
          ...lines,
          `${target} = ${a} === SEVERAL || ${b} === SEVERAL ? SEVERAL : ${a} === undefined || ${b} === undefined ? undefined : ` +
            `(${a} === ${b} || (typeof ${a} === 'object' && typeof ${b} === 'object' && ${this.constant(valuesEqual)}(${a}, ${b}))) ${plan.negate ? '===' : '!=='} false;`,
        ];
      }
      case 'logic': {
        const { a, b, lines } = this.operands(plan.left, plan.right, item);
        const p = this.name('p');
        const q = this.name('q');
        const combined = {
          and: `${p} === false || ${q} === false ? false : ${p} === undefined || ${q} === undefined ? undefined : true`,
          or: `${p} === true || ${q} === true ? true : ${p} === undefined || ${q} === undefined ? undefined : false`,
          xor: `${p} === undefined || ${q} === undefined ? undefined : ${p} !== ${q}`,
          implies: `${p} === false ? true : ${q} === true ? true : ${p} === undefined || ${q} === undefined ? undefined : ${q}`,
        }[plan.op];
        return [
          ...lines,
          `if (${a} === SEVERAL || ${b} === SEVERAL) ${target} = SEVERAL;`,
          'else {',
          `const ${p} = ${a} === undefined ? undefined : typeof ${a} === 'boolean' ? ${a} : true;`,
          `const ${q} = ${b} === undefined ? undefined : typeof ${b} === 'boolean' ? ${b} : true;`,
          `${target} = ${combined};`,
          '}',
        ];
      }
      case 'iif': {
        const condition = this.name('cond');
        return [
          `let ${condition};`,
          ...this.plan(plan.criterion, item, condition),
          `if (${condition} === SEVERAL) ${target} = SEVERAL;`,
          `else if (${condition} === true) {`,
          ...this.plan(plan.whenTrue, item, target),
          '} else {',
          ...(plan.otherwise ? this.plan(plan.otherwise, item, target) : [`${target} = undefined;`]),
          '}',
        ];
      }
      case 'whereTest': {
        const items = this.name('items');
        const index = this.name('i');
        const each = this.name('each');
        const kept = this.name('kept');
        const start = plan.variable === undefined ? item : `vars[${JSON.stringify(plan.variable)}]`;
        return [
          `const ${items} = ${this.constant(memberPathItems)}(${start}, ${this.constant(plan.keys)});`,
          `${target} = ${plan.test === 'empty'};`,
          `for (let ${index} = 0; ${index} < ${items}.length; ${index}++) {`,
          `const ${each} = ${items}[${index}];`,
          `let ${kept};`,
          ...this.plan(plan.criterion, each, kept),
          `if (${kept} === SEVERAL) { ${target} = SEVERAL; break; }`,
          `if (${kept} !== undefined && ${kept} !== null && ${kept} !== false) { ${target} = ${plan.test === 'exists'}; break; }`,
          '}',
        ];
      }
      case 'chain':
        return [
          ...this.plan(plan.chain.base, item, target),
          `if (${target} !== SEVERAL) {`,
          ...this.guarded(plan.onError, target, this.finishChain(plan.chain, target)),
          '}',
        ];
      case 'ref': {
        const [first, second] = plan.parts;
        if (first === undefined || plan.parts.length > 2) {
          throw new Error(`a ref() plan has 1 or 2 parts, not ${plan.parts.length}`);
        }
        const urls = this.constant(plan.urls);
        const text = this.constant(keyPartText);
        const a = this.name('k');
        const textA = this.name('t');
        if (second === undefined) {
          return [
            `let ${a};`,
            ...this.plan(first.base, item, a),
            `if (${a} === SEVERAL) ${target} = SEVERAL;`,
            'else {',
            ...this.guarded(plan.onError, target, [
              ...this.finishChain(first, a),
              `const ${textA} = ${text}(${a});`,
              `${target} = ${textA} === undefined || ${textA} === '' ? undefined : ${urls}.of(${textA});`,
            ]),
            '}',
          ];
        }
        const b = this.name('k');
        const textB = this.name('t');
        return [
          `let ${a};`,
          ...this.plan(first.base, item, a),
          `let ${b};`,
          `if (${a} === SEVERAL) ${b} = SEVERAL;`,
          'else {',
          ...this.plan(second.base, item, b),
          '}',
          `if (${b} === SEVERAL) ${target} = SEVERAL;`,
          'else {',
          ...this.guarded(plan.onError, target, [
            ...this.finishChain(first, a),
            ...this.finishChain(second, b),
            `const ${textA} = ${text}(${a});`,
            `const ${textB} = ${text}(${b});`,
            `${target} = ${textA} === undefined || ${textA} === '' || ${textB} === undefined || ${textB} === '' ? undefined : ${urls}.of(${this.constant(joinKeyPair)}(${textA}, ${textB}));`,
          ]),
          '}',
        ];
      }
    }
  }

  /** Both operands of a binary operator computed into two new locals `a` and `b` (both pure, so always both). */
  private operands(left: ScalarPlan, right: ScalarPlan, item: string): { readonly a: string; readonly b: string; readonly lines: string[] } {
    const a = this.name('a');
    const b = this.name('b');
    return { a, b, lines: [`let ${a};`, ...this.plan(left, item, a), `let ${b};`, ...this.plan(right, item, b)] };
  }

  /** A chain's value steps (each while the value is present), then its test, applied to `value` in place. */
  private finishChain(chain: ChainPlan, value: string): string[] {
    return [
      ...chain.steps.map((step) => `if (${value} !== undefined) ${value} = ${this.constant(step)}(${value}, host);`),
      ...(chain.test === undefined ? [] : [`${value} = ${value} ${chain.test === 'exists' ? '!==' : '==='} undefined;`]),
    ];
  }

  /** `body` with an exception from a value step reported through `onError` and `target` left empty. */
  private guarded(onError: OnError, target: string, body: readonly string[]): string[] {
    return ['try {', ...body, `} catch (error) { ${this.constant(onError)}(host, error); ${target} = undefined; }`];
  }

  private slot(expression: CompiledExpression, item: string): Generated {
    const result = this.name('v');
    const e = this.constant(expression);
    const scalar = this.scalar(expression, item, result);
    if (!scalar) {
      return { lines: [`const ${result} = host.slot(${e}, ${item}, vars);`], result };
    }
    return {
      lines: [
        `let ${result};`,
        ...scalar,
        `if (${result} === SEVERAL) ${result} = host.slot(${e}, ${item}, vars);`,
        `else if (${result} === undefined || ${result} === null || ${result} === '') ${result} = undefined;`,
        'else host.produced++;',
      ],
      result,
    };
  }

  private spread(expression: CompiledExpression, item: string, out: string): string[] {
    const e = this.constant(expression);
    const value = this.name('v');
    const scalar = this.scalar(expression, item, value);
    if (!scalar) {
      return [`for (const ${value} of host.spread(${e}, ${item}, vars)) ${out}.push(${value});`];
    }
    return [
      `let ${value};`,
      ...scalar,
      `if (${value} === SEVERAL) { for (const each of host.spread(${e}, ${item}, vars)) ${out}.push(each); }`,
      `else if (${value} !== undefined && ${value} !== null && ${value} !== '') { host.produced++; ${out}.push(${value}); }`,
    ];
  }

  private condition(expression: CompiledExpression, item: string): Generated {
    const result = this.name('when');
    const e = this.constant(expression);
    const scalar = this.scalar(expression, item, result);
    if (!scalar) {
      return { lines: [`const ${result} = host.truthy(${e}, ${item}, vars);`], result };
    }
    return {
      lines: [`let ${result};`, ...scalar, `${result} = ${result} === SEVERAL ? host.truthy(${e}, ${item}, vars) : ${result} !== undefined && ${result} !== false;`],
      result,
    };
  }
}

/** A rule id as part of a JavaScript function name. */
const identifierPart = (id: string): string => id.replace(/[^A-Za-z0-9_]/g, '_');

/** The name of a compiled (not interpreted) expression that is only a `%variable`, other than %context and %ucum. */
function bareVariable(expression: CompiledExpression): string | undefined {
  const match = /^%([A-Za-z_][A-Za-z0-9_]*)$/.exec(expression.text.trim());
  return expression.fast && match !== null && match[1] !== 'context' && match[1] !== 'ucum' ? match[1] : undefined;
}

/**
 * A statement giving object `out` the own property `key` (a JSON-quoted or computed key as written in a literal):
 * template keys are defined, never assigned, so a key `__proto__` is data and never sets the prototype.
 */
function defineKey(out: string, key: string, value: string): string {
  const name = key.replace(/^\[|\]$/g, '');
  return name === '"__proto__"' ? `Object.defineProperty(${out}, ${name}, { value: ${value}, enumerable: true, writable: true, configurable: true })` : `${out}[${name}] = ${value}`;
}
