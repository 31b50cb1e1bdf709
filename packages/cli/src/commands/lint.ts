import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { accountFields, loadMapping } from '@cadmap/core';
import { makeRenderer, mappingLoadOptions, parseInputs, useColor } from '../common.js';
import { exitCodes, UsageError, type CliIo } from '../io.js';

export const lintHelp = `cadmap lint <mapping.yaml> [inputs…]

Checks a mapping without mapping any data: YAML syntax, the mapping schema, imports, lookup files, every
expression (syntax, functions, variables, rule and lookup names), and, when the mapping declares
source.fields, that every field it reads is declared. With inputs (sample exports), also reads their records
and reports every field the mapping reads that no record has (MAP_FIELD_NEVER_PRESENT, with the names the
records do have), and every CSV column missing from the headers.
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
  const { mapping, diagnostics } = await loadMapping(file, mappingLoadOptions(io));
  const all = [...diagnostics];
  if (mapping && positionals.length > 1) {
    const accounted = await accountFields(mapping, parseInputs(positionals.slice(1), io.cwd));
    all.push(...accounted.diagnostics);
  }
  const errors = all.filter((d) => d.severity === 'error' || d.severity === 'fatal').length;
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ file, ok: errors === 0, diagnostics: all }, null, 2)}\n`);
  } else {
    if (all.length > 0) {
      io.stderr.write(`${makeRenderer(io, mapping, color).render(all)}\n`);
    }
    const warnings = all.filter((d) => d.severity === 'warning').length;
    const notes = all.length - errors - warnings;
    const counts = [warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '', notes > 0 ? `${notes} note${notes === 1 ? '' : 's'}` : ''].filter((part) => part !== '');
    io.stderr.write(errors === 0 ? `${positionals[0]}: ok${counts.length > 0 ? ` (${counts.join(', ')})` : ''}\n` : `${positionals[0]}: ${errors} error${errors === 1 ? '' : 's'}\n`);
  }
  return errors === 0 ? exitCodes.ok : exitCodes.usage;
}
