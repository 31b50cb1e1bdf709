import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hasErrors, renderDiagnostics, type Diagnostic } from '@cadmap/core/diagnostics';
import { renderSarif, toOperationOutcome, type ConformanceDiagnostic } from '@cadmap/conformance';
import { checkerFromFlags, checkerHelp, checkerOptions } from '../checking.js';
import { parseInputs, useColor } from '../args.js';
import { displayPathFrom, exitCodes, LineSource, UsageError, type CliIo } from '../io.js';

export const checkHelp = `cadmap check <files|dirs…> [--package …] [--profile url] [--format text|json|sarif]

Checks FHIR JSON (a resource or Bundle per .json file, one per line in .ndjson files) against R4, the given
packages (UK Core, the ADS profiles in ./profiles) and each resource's meta.profile, offline.

Options:
${checkerHelp}
  --format <f>          text (default), json (an OperationOutcome per input resource) or sarif (SARIF 2.1.0)
Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage errors.`;

interface Checked {
  readonly file: string;
  readonly line: number | undefined;
  readonly resource: { resourceType?: unknown };
  readonly issues: readonly ConformanceDiagnostic[];
}

// eslint-disable-next-line @typescript-eslint/require-await -- the command table's signature is async
export async function checkCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...checkerOptions, format: { type: 'string' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
  });
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif') {
    throw new UsageError(`--format is text, json or sarif, not '${format}'.`);
  }
  if (positionals.length === 0) {
    throw new UsageError('Give the files to check.');
  }
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const { checker, profiles } = checkerFromFlags(io, values);
  const inputErrors: Diagnostic<string>[] = [...checker.loadIssues];
  const checked: Checked[] = [];
  for (const input of parseInputs(positionals, io.cwd)) {
    const file = 'path' in input ? input.path : input.name;
    for (const { resource, line, error } of readResources(file)) {
      if (error !== undefined) {
        inputErrors.push({ code: 'CONF_INPUT', severity: 'error', message: error, hint: 'Each .json file holds one resource or Bundle; each .ndjson line holds one.', input: { file, ...(line !== undefined ? { line } : {}) } });
        continue;
      }
      const options = profiles.length > 0 ? { profiles } : {};
      const result = resource.resourceType === 'Bundle' ? checker.checkBundle(resource, options) : checker.checkResource(resource, options);
      checked.push({ file, line, resource, issues: result.issues.map((issue) => ({ ...issue, input: issue.input ?? { file, ...(line !== undefined ? { line } : {}) } })) });
    }
  }
  const all: Diagnostic<string>[] = [...inputErrors, ...checked.flatMap((c) => c.issues)];
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(checked.map((c) => ({ file: c.file, ...(c.line !== undefined ? { line: c.line } : {}), outcome: toOperationOutcome(c.issues) })), null, 2)}\n`);
  } else if (format === 'sarif') {
    io.stdout.write(renderSarif(checked.flatMap((c) => c.issues)));
  } else {
    const lines = new LineSource();
    if (all.length > 0) {
      io.stdout.write(`${renderDiagnostics(all, { lineOf: lines.lineOf, displayPath: displayPathFrom(io.cwd), color })}\n`);
    }
    const errors = all.filter((d) => d.severity === 'error' || d.severity === 'fatal').length;
    const warnings = all.filter((d) => d.severity === 'warning').length;
    io.stderr.write(`${checked.length} resource${checked.length === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
  }
  return hasErrors(all) ? exitCodes.dataErrors : exitCodes.ok;
}

function* readResources(file: string): Generator<{ resource: { resourceType?: unknown }; line: number | undefined; error?: undefined } | { resource?: undefined; line: number | undefined; error: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    yield { line: undefined, error: `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.` };
    return;
  }
  const parse = (json: string, line: number | undefined) => {
    try {
      const value: unknown = JSON.parse(json);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return { line, error: `${file}${line !== undefined ? `:${line}` : ''} is not a JSON object.` };
      }
      return { resource: value as { resourceType?: unknown }, line };
    } catch (error) {
      return { line, error: `${file}${line !== undefined ? `:${line}` : ''} is not valid JSON: ${(error as Error).message}` };
    }
  };
  if (file.endsWith('.ndjson') || file.endsWith('.jsonl')) {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() !== '') {
        yield parse(lines[i]!, i + 1);
      }
    }
  } else {
    yield parse(text.replace(/^\uFEFF/, ''), undefined);
  }
}
