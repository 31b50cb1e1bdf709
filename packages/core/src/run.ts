import type { Diagnostic } from './diagnostics/diagnostic.js';
import type { CompiledExpression } from './expressions/types.js';
import type { Mapping } from './mapping/load.js';
import { closest } from './diagnostics/suggest.js';
import { openSource, type OpenedSource } from './sources/index.js';
import type { InputFile } from './sources/types.js';
import { transformRecord, type MapResult, type TransformOptions } from './transform/engine.js';
import type { TemplateNode } from './transform/template.js';

/** A started mapping run: setup diagnostics, then results as an async iterable in input order. */
export interface MappingRun {
  /** Problems found before the first record: inputs that match no table, missing columns, unreadable files. */
  readonly diagnostics: readonly Diagnostic[];
  /** Which input feeds which table (CSV headers when known). */
  readonly files: OpenedSource['files'];
  /** One result per source record (and per piece of input that could not become a record). */
  results(): AsyncIterable<MapResult>;
}

export type RunOptions = TransformOptions;

/**
 * Opens the inputs of a mapping and maps them record by record in bounded memory.
 * Fatal setup problems (e.g. no input for a table) are in `diagnostics`; `results()` then yields nothing.
 */
export async function runMapping(mapping: Mapping, inputs: readonly InputFile[], options: RunOptions = {}): Promise<MappingRun> {
  const opened = await openSource(mapping.source, inputs);
  const diagnostics = [...opened.diagnostics, ...checkColumns(mapping, opened.files)];
  const fatal = diagnostics.some((d) => d.severity === 'fatal' || (d.severity === 'error' && d.code === 'MAP_UNKNOWN_COLUMN'));
  return {
    diagnostics,
    files: opened.files,
    results: () => (fatal ? noResults() : opened.records((record) => transformRecord(mapping, record, options))),
  };
}

async function* noResults(): AsyncGenerator<MapResult> {}

/** Maps a whole input set into memory. For tests and small inputs; use runMapping for exports. */
export async function mapAll(mapping: Mapping, inputs: readonly InputFile[], options: RunOptions = {}): Promise<{ diagnostics: readonly Diagnostic[]; results: MapResult[] }> {
  const run = await runMapping(mapping, inputs, options);
  const results: MapResult[] = [];
  for await (const result of run.results()) {
    results.push(result);
  }
  return { diagnostics: run.diagnostics, results };
}

/**
 * CSV only: every field an expression reads must be a column of the table its context comes from.
 * Contexts are followed through `forEach`/`$forEach` over child tables and through `%record` and `as` variables.
 */
export function checkColumns(mapping: Mapping, files: OpenedSource['files']): Diagnostic[] {
  if (mapping.source.format !== 'csv') {
    return [];
  }
  const headers = new Map<string, Set<string>>();
  for (const file of files) {
    if (file.headers) {
      const set = headers.get(file.table) ?? new Set<string>();
      file.headers.forEach((h) => set.add(h));
      headers.set(file.table, set);
    }
  }
  const tables = mapping.source.tables;
  const root = tables.find((t) => t.parent === undefined)?.name;
  if (root === undefined) {
    return [];
  }
  const childrenOf = (table: string): string[] => tables.filter((t) => t.parent === table).map((t) => t.name);
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();

  const fieldsOf = (table: string): Set<string> | undefined => {
    const columns = headers.get(table);
    return columns ? new Set([...columns, ...childrenOf(table)]) : undefined;
  };
  const contextOf = (expression: CompiledExpression | undefined, table: string | undefined, variables: ReadonlyMap<string, string>): string | undefined => {
    if (!expression || table === undefined) {
      return undefined;
    }
    if (expression.fields.length === 1 && expression.variableFields.length === 0 && childrenOf(table).includes(expression.fields[0]!)) {
      return expression.fields[0];
    }
    if (expression.fields.length === 0 && expression.variableFields.length === 1) {
      const [variable, field] = expression.variableFields[0]!;
      const variableTable = variable === 'record' ? root : variables.get(variable);
      if (variableTable !== undefined && childrenOf(variableTable).includes(field)) {
        return field;
      }
    }
    return undefined;
  };
  const check = (expression: CompiledExpression, table: string | undefined, variables: ReadonlyMap<string, string>): void => {
    const pairs: [string | undefined, string][] = [
      ...expression.fields.map((f): [string | undefined, string] => [table, f]),
      ...expression.variableFields.map(([variable, field]): [string | undefined, string] => [variable === 'record' ? root : variables.get(variable), field]),
    ];
    for (const [owner, field] of pairs) {
      if (owner === undefined) {
        continue;
      }
      const known = fieldsOf(owner);
      if (!known || known.has(field)) {
        continue;
      }
      const id = `${expression.span.file}:${expression.span.line}:${expression.span.column}:${field}`;
      if (reported.has(id)) {
        continue;
      }
      reported.add(id);
      const suggestion = closest(field, known);
      const file = files.find((f) => f.table === owner)?.file ?? owner;
      diagnostics.push({
        code: 'MAP_UNKNOWN_COLUMN',
        severity: 'error',
        message: `'=${expression.text}' reads '${field}', but table '${owner}' (${file}) has no such column.`,
        hint: suggestion ? `Did you mean '${suggestion}'? Columns: ${[...known].join(', ')}.` : `Columns: ${[...known].join(', ')}.`,
        rule: expression.span,
        input: { file, line: 1, table: owner },
      });
    }
  };
  const walk = (node: TemplateNode, table: string | undefined, variables: ReadonlyMap<string, string>): void => {
    switch (node.kind) {
      case 'literal':
        return;
      case 'expression':
        check(node.expression, table, variables);
        return;
      case 'object':
        if (node.when) {
          check(node.when, table, variables);
        }
        node.entries.forEach(([, child]) => walk(child, table, variables));
        return;
      case 'array':
        for (const item of node.items) {
          if (item.forEach) {
            check(item.forEach, table, variables);
            const inner = contextOf(item.forEach, table, variables);
            const innerVariables = item.as !== undefined && inner !== undefined ? new Map([...variables, [item.as, inner]]) : variables;
            walk(item.node, inner, innerVariables);
          } else {
            walk(item.node, table, variables);
          }
        }
    }
  };

  const noVariables = new Map<string, string>();
  for (const rule of mapping.rules) {
    let table: string | undefined = root;
    let variables: ReadonlyMap<string, string> = noVariables;
    if (rule.forEach) {
      check(rule.forEach, root, noVariables);
      table = contextOf(rule.forEach, root, noVariables);
      if (rule.as !== undefined && table !== undefined) {
        variables = new Map([[rule.as, table]]);
      }
    }
    if (rule.when) {
      check(rule.when, table, variables);
    }
    for (const part of rule.key) {
      if (part.kind === 'expression') {
        check(part.expression, table, variables);
      }
    }
    walk(rule.template, table, variables);
  }
  return diagnostics;
}
