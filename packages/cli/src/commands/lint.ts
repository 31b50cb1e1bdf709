import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMapping, runMapping } from '@cadmap/core';
import { makeRenderer, parseInputs, useColor } from '../common.js';
import { exitCodes, UsageError, type CliIo } from '../io.js';

export const lintHelp = `cadmap lint <mapping.yaml> [inputs…]

Checks a mapping without mapping any data: YAML syntax, the mapping schema, imports, lookup files, every
expression (syntax, functions, variables, rule and lookup names). With inputs, also checks that every
column the mapping reads exists in the CSV files' headers.
Exit codes: 0 no errors (warnings allowed), 2 errors.`;

export async function lintCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { json: { type: 'boolean' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
  });
  if (positionals.length === 0) {
    throw new UsageError('Give the mapping file to lint.');
  }
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const file = resolve(io.cwd, positionals[0]!);
  const { mapping, diagnostics } = await loadMapping(file);
  const all = [...diagnostics];
  if (mapping && positionals.length > 1) {
    const run = await runMapping(mapping, parseInputs(positionals.slice(1), io.cwd));
    all.push(...run.diagnostics);
  }
  const errors = all.filter((d) => d.severity === 'error' || d.severity === 'fatal').length;
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ file, ok: errors === 0, diagnostics: all }, null, 2)}\n`);
  } else {
    if (all.length > 0) {
      io.stderr.write(`${makeRenderer(io, mapping, color).render(all)}\n`);
    }
    io.stderr.write(errors === 0 ? `${positionals[0]}: ok${all.length > 0 ? ` (${all.length} warnings)` : ''}\n` : `${positionals[0]}: ${errors} error${errors === 1 ? '' : 's'}\n`);
  }
  return errors === 0 ? exitCodes.ok : exitCodes.usage;
}
