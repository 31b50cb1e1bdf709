import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hasErrors, runMapping, type Diagnostic, type MapResult } from '@cadmap/core';
import { checkerFromFlags, checkerHelp, checkerOptions } from '../checking.js';
import { checkMapped } from '../map-checking.js';
import { loadMappingOrReport, makeRenderer, parseInputs, reportingOptions, reportingSettings } from '../common.js';
import { exitCodes, Progress, UsageError, type CliIo } from '../io.js';
import { loggerOf, rawStream } from '../log.js';
import { deadLetterOf, directorySink, LazyFileWriter, ndjsonSink, refuseBesideDevice, streamSink, type BundleSink, type Outcome } from '../output.js';
import { RunLog } from '../run-log.js';
import { RunSummary } from '../summary.js';

export const mapHelp = `cadmap map --mapping <mapping.yaml> <inputs…> [options]

Maps CAD export files to FHIR bundles, one bundle per call.

Inputs are files or directories; write table=path to assign a file to a CSV table explicitly.

Options:
  -m, --mapping <file>      the mapping (required)
  -o, --out <file>          write bundles as NDJSON (one bundle a line); default: standard output
      --out-dir <dir>       write one JSON file per bundle instead, named after its key (a name
                            taken by another record gets a suffix made from the key, with a warning)
      --dead-letter <file>  where failing records go (NDJSON: original content + diagnostics);
                            default: <out>.dead-letter.ndjson (required when --out is a device such
                            as /dev/null), or dead-letter.ndjson
      --provenance <file>   also write where every element came from (NDJSON, one line per bundle)
      --check               check each bundle against R4, UK Core and the ADS profiles in the same pass;
                            bundles with conformance errors go to the dead letter with findings that
                            point at the YAML rule and the source cell
${checkerHelp.split('\n').map((line) => `    ${line}`).join('\n')}
      --json                print the summary and diagnostics as JSON
      --max-diagnostics <n> how many problems to print in full (default 20)
  -q, --quiet               no progress bar
      --color / --no-color
At the end, every field the mapping reads that no record had is reported (MAP_FIELD_NEVER_PRESENT): a
warning, or an error when the mapping sets checks.fieldNeverPresent: error.
Exit codes: 0 all mapped, 1 some records failed, 2 usage or mapping errors (a field never present, when the
mapping makes that an error).`;

export async function mapCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      mapping: { type: 'string', short: 'm' },
      out: { type: 'string', short: 'o' },
      'out-dir': { type: 'string' },
      'dead-letter': { type: 'string' },
      provenance: { type: 'string' },
      check: { type: 'boolean' },
      ...checkerOptions,
      ...reportingOptions,
    },
  });
  const { color, maxDiagnostics } = reportingSettings(io, values);
  if (positionals.length === 0) {
    throw new UsageError('No input files given.');
  }
  if (values.out !== undefined && values['out-dir'] !== undefined) {
    throw new UsageError('Use either --out or --out-dir, not both.');
  }
  const mapping = await loadMappingOrReport(io, values.mapping, color);
  const report = (text: string): void => {
    io.stderr.write(`${text}\n`);
  };
  const renderer = makeRenderer(io, mapping, color);
  const inputs = parseInputs(positionals, io.cwd);
  const checking = values.check === true ? checkerFromFlags(io, values) : undefined;
  if (checking && checking.checker.loadIssues.length > 0) {
    report(renderer.render(checking.checker.loadIssues));
  }
  const log = loggerOf(io);
  const runLog = new RunLog(log, io.cwd);
  runLog.start(mapping, inputs);
  const run = await runMapping(mapping, inputs, { provenance: values.provenance !== undefined || checking !== undefined });
  const summary = new RunSummary();
  summary.add(run.diagnostics);
  if (run.diagnostics.length > 0 && values.json !== true) {
    report(renderer.render(run.diagnostics));
  }
  if (hasErrors(run.diagnostics) && run.diagnostics.some((d) => d.severity === 'fatal' || d.code === 'MAP_UNKNOWN_COLUMN')) {
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ summary: summary.toJSON(), diagnostics: run.diagnostics }, null, 2)}\n`);
    }
    return exitCodes.usage;
  }

  if (values.out !== undefined && values['dead-letter'] === undefined) {
    refuseBesideDevice(resolve(io.cwd, values.out), '--out', '--dead-letter');
  }
  const sink: BundleSink =
    values['out-dir'] !== undefined
      ? directorySink(resolve(io.cwd, values['out-dir']), (message) => log.warn('map', message))
      : values.out !== undefined
        ? ndjsonSink(resolve(io.cwd, values.out))
        : streamSink(rawStream(io.stdout));
  const deadLetterPath = resolve(io.cwd, values['dead-letter'] ?? (values.out !== undefined ? `${values.out}.dead-letter.ndjson` : 'dead-letter.ndjson'));
  const deadLetter = new LazyFileWriter(deadLetterPath);
  const provenance = values.provenance !== undefined ? new LazyFileWriter(resolve(io.cwd, values.provenance)) : undefined;
  const progress = new Progress(io.stderr, io.stderr.isTTY === true && values.quiet !== true && values.json !== true && !log.enabled('info'));
  const allDiagnostics: Diagnostic<string>[] = [...run.diagnostics];
  let shown = 0;

  for await (const mapped of run.results()) {
    const result: Outcome = checking && mapped.ok ? withConformance(mapped, checkMapped(checking.checker, mapping, mapped, checking.profiles)) : mapped;
    runLog.record(result);
    const disposition = summary.count(result);
    if (disposition === 'mapped') {
      await sink.write(result);
      if (provenance && result.provenance) {
        await provenance.write(`${JSON.stringify({ key: result.key, ...(result.bundle ? { bundleId: result.bundle.id } : {}), provenance: result.provenance })}\n`);
      }
    } else if (disposition === 'failed') {
      await deadLetter.write(`${JSON.stringify(deadLetterOf(result))}\n`);
    }
    if (result.diagnostics.length > 0) {
      if (values.json === true) {
        allDiagnostics.push(...result.diagnostics);
      } else if (shown < maxDiagnostics && !result.ok) {
        progress.done();
        const errors = result.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal');
        const others = result.diagnostics.length - errors.length;
        report(`${renderer.render(errors)}${others > 0 ? `\n  (+ ${others} warning${others === 1 ? '' : 's'} for record ${result.key}, in the dead letter)` : ''}`);
        shown++;
      }
    }
    progress.update(summary.records, summary.failed);
  }
  progress.done();
  runLog.done();
  await sink.close();
  await deadLetter.close();
  await provenance?.close();
  const accounting = run.fieldAccounting();
  summary.add(accounting);
  allDiagnostics.push(...accounting);

  if (values.json === true) {
    const payload = { summary: summary.toJSON(), output: sink.description, deadLetter: deadLetter.written > 0 ? deadLetterPath : null, diagnostics: allDiagnostics };
    (values.out !== undefined || values['out-dir'] !== undefined ? io.stdout : io.stderr).write(`${JSON.stringify(payload, null, 2)}\n`);
  } else {
    if (summary.failed > shown && shown >= maxDiagnostics) {
      report(`… ${summary.failed - shown} more failed records not shown (see ${deadLetterPath}).`);
    }
    if (accounting.length > 0) {
      report(renderer.render(accounting.slice(0, maxDiagnostics)));
      if (accounting.length > maxDiagnostics) {
        report(`… ${accounting.length - maxDiagnostics} more fields never present not shown (--json lists them all).`);
      }
    }
    report(summary.render());
    if (summary.mapped > 0 && sink.description !== 'standard output') {
      report(`bundles: ${sink.description}`);
    }
    if (deadLetter.written > 0) {
      report(`dead letter: ${deadLetterPath} (${deadLetter.written} records with their original content and diagnostics)`);
    }
  }
  return hasErrors(accounting) ? exitCodes.usage : summary.failed > 0 ? exitCodes.dataErrors : exitCodes.ok;
}

/** A mapped result with its conformance findings; errors make it fail (it then goes to the dead letter). */
export function withConformance(result: MapResult, findings: readonly Diagnostic<string>[]): Outcome {
  if (findings.length === 0) {
    return result;
  }
  return { ...result, diagnostics: [...result.diagnostics, ...findings], ok: result.ok && !hasErrors(findings) };
}
