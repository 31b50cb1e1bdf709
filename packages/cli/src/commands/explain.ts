import { parseArgs } from 'node:util';
import { explainRecord, formatInput, formatRule, runMapping, type ExplainedElement, type MapResult } from '@cadmap/core';
import { displayPathFrom, exitCodes, UsageError, type CliIo } from '../io.js';
import { loadMappingOrReport, makeRenderer, parseInputs, useColor } from '../common.js';

export const explainHelp = `cadmap explain --mapping <mapping.yaml> <inputs…> --record <key> [--json]

Maps one record and shows, rule by rule, which expression produced which element from which cell.`;

export async function explainCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      mapping: { type: 'string', short: 'm' },
      record: { type: 'string', short: 'r' },
      json: { type: 'boolean' },
      color: { type: 'boolean' },
      'no-color': { type: 'boolean' },
    },
  });
  if (values.record === undefined) {
    throw new UsageError('Missing --record <key> (the record key, e.g. the CAD incident id).');
  }
  if (positionals.length === 0) {
    throw new UsageError('No input files given.');
  }
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const mapping = await loadMappingOrReport(io, values.mapping, color);
  const run = await runMapping(mapping, parseInputs(positionals, io.cwd), { provenance: true });
  const renderer = makeRenderer(io, mapping, color);
  if (run.diagnostics.length > 0) {
    io.stderr.write(`${renderer.render(run.diagnostics)}\n`);
  }
  let found: MapResult | undefined;
  const keys: string[] = [];
  for await (const result of run.results()) {
    if (result.key === values.record) {
      found = result;
      break;
    }
    if (keys.length < 10) {
      keys.push(result.key);
    }
  }
  if (!found) {
    io.stderr.write(`No record with key '${values.record}'. First keys in the input: ${keys.join(', ')}.\n`);
    return exitCodes.dataErrors;
  }
  const elements = explainRecord(found);
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ key: found.key, ok: found.ok, elements, diagnostics: found.diagnostics }, null, 2)}\n`);
    return found.ok ? exitCodes.ok : exitCodes.dataErrors;
  }
  const display = displayPathFrom(io.cwd);
  io.stdout.write(renderExplanation(found, elements, display, (file, line) => renderer.lines.lineOf(file, line)));
  if (found.diagnostics.length > 0) {
    io.stdout.write(`\n${renderer.render(found.diagnostics)}\n`);
  }
  return found.ok ? exitCodes.ok : exitCodes.dataErrors;
}

function renderExplanation(result: MapResult, elements: readonly ExplainedElement[], display: (file: string) => string, lineOf: (file: string, line: number) => string | undefined): string {
  const out: string[] = [`record ${result.key}: ${result.ok ? 'mapped' : 'failed'}, ${result.bundle?.entry?.length ?? 0} entries`];
  let currentEntry = '';
  for (const element of elements) {
    const entry = /^Bundle\.entry\[\d+\]/.exec(element.expression)?.[0] ?? 'Bundle';
    if (entry !== currentEntry) {
      currentEntry = entry;
      const index = /\[(\d+)\]/.exec(entry)?.[1];
      const resource = index !== undefined ? result.bundle?.entry?.[Number(index)]?.resource : undefined;
      out.push('', `${entry}: ${resource ? `${resource.resourceType}` : 'Bundle'}${element.rule.ruleId !== undefined ? ` (rule '${element.rule.ruleId}')` : ''}`);
    }
    const ruleText = lineOf(element.rule.file, element.rule.line)?.slice(element.rule.column - 1).trim();
    out.push(`  ${element.expression.slice(entry.length) || '.'} = ${JSON.stringify(element.value)}`);
    out.push(`      ← ${formatRule(element.rule, display)}${ruleText !== undefined && ruleText !== '' ? `  ${ruleText}` : ''}`);
    element.inputs.forEach((input, i) => {
      out.push(`      ← ${formatInput(input, display)} = ${JSON.stringify(element.inputValues[i])}`);
    });
  }
  return `${out.join('\n')}\n`;
}
