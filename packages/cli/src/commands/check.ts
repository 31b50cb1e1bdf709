import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { hasErrors, renderDiagnostics, type Diagnostic } from '@cadmap/core/diagnostics';
import { renderSarif, toOperationOutcome, type Checker, type ConformanceDiagnostic, type ConformanceIssue } from '@cadmap/conformance';
import { checkerFromFlags, checkerHelp, checkerOptions } from '../checking.js';
import { parseInputs, useColor } from '../args.js';
import { displayPathFrom, exitCodes, LineSource, UsageError, type CliIo } from '../io.js';

export const checkHelp = `cadmap check <files|dirs|-…> [--package …] [--profile url] [--format text|json|sarif]

Checks FHIR resources and Bundles against R4, the given packages (UK Core, the ADS profiles in ./profiles) and
each resource's meta.profile, offline, all in one process: a .json or .xml file holds one resource (FHIR JSON or
FHIR XML), a .ndjson or .jsonl file one resource per line, and '-' reads NDJSON from standard input as it arrives.
Every issue gives the file, line and column of the element concerned.

Options:
${checkerHelp}
  --format <f>          text (default), json (an OperationOutcome per input resource) or sarif (SARIF 2.1.0)
Exit codes: 0 no errors (warnings allowed), 1 errors found (including packages or profiles that cannot be
loaded, unless --allow-unresolved), 2 usage errors.`;

interface Checked {
  readonly file: string;
  readonly line: number | undefined;
  readonly issues: readonly ConformanceDiagnostic[];
}

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
    throw new UsageError("Give the files to check, or '-' to read NDJSON from standard input.");
  }
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const { checker, profiles } = checkerFromFlags(io, values);
  // Package problems are in every result (the check fails closed); they are shown once, here.
  const loadIssues = checker.loadIssues.filter(isPackageIssue);
  const checked: Checked[] = [];
  const options = profiles.length > 0 ? { profiles } : {};
  const stdinInputs = positionals.filter((p) => p === '-');
  for (const input of parseInputs(positionals.filter((p) => p !== '-'), io.cwd)) {
    const file = 'path' in input ? input.path : input.name;
    if (/\.(ndjson|jsonl)$/i.test(file)) {
      await checkLines(checker, createReadStream(file), file, options, checked);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      checked.push({ file, line: undefined, issues: [{ code: 'CONF_INPUT', severity: 'error', expression: '', message: `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, input: { file } }] });
      continue;
    }
    const result = checker.checkText(text, { ...options, file, ...(file.endsWith('.xml') ? { format: 'xml' as const } : file.endsWith('.json') ? { format: 'json' as const } : {}) });
    checked.push({ file, line: undefined, issues: result.issues.filter((i) => !isPackageIssue(i)) });
  }
  if (stdinInputs.length > 0) {
    if (!io.stdin) {
      throw new UsageError("'-' reads standard input, which this command cannot read here.");
    }
    await checkLines(checker, io.stdin, '<stdin>', options, checked);
  }
  const all: Diagnostic<string>[] = [...loadIssues.map((i) => ({ ...i, input: i.input ?? { file: '(packages)' } })), ...checked.flatMap((c) => c.issues)];
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(checked.map((c) => ({ file: c.file, ...(c.line !== undefined ? { line: c.line } : {}), outcome: toOperationOutcome(c.issues) })), null, 2)}\n`);
  } else if (format === 'sarif') {
    io.stdout.write(renderSarif([...loadIssues, ...checked.flatMap((c) => c.issues)]));
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

/** A package that failed to load: the same in every result, so reported once. */
function isPackageIssue(issue: ConformanceIssue): boolean {
  return issue.code === 'CONF_PACKAGE' && issue.expression === '';
}

/** Checks one resource per line of an NDJSON stream as the lines arrive; positions are the file's lines. */
async function checkLines(checker: Checker, stream: NodeJS.ReadableStream, file: string, options: { profiles?: string[] }, checked: Checked[]): Promise<void> {
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of reader) {
      line++;
      if (text.trim() === '') {
        continue;
      }
      const result = checker.checkText(text, { ...options, file, format: 'json' });
      const at = line;
      const issues = result.issues
        .filter((i) => !isPackageIssue(i))
        .map((issue) => {
          const message = issue.code === 'CONF_INPUT' && !result.resource ? issue.message.replace(/^Not valid JSON: /, `${file}:${at} is not valid JSON: `).replace(/, at line 1, column /, ', at column ') : issue.message;
          return { ...issue, message, input: { ...issue.input, file, line: at, ...(issue.input?.column !== undefined ? { column: issue.input.column } : {}) } };
        });
      checked.push({ file, line: at, issues });
    }
  } catch (error) {
    checked.push({ file, line: undefined, issues: [{ code: 'CONF_INPUT', severity: 'error', expression: '', message: `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, input: { file } }] });
  }
}
