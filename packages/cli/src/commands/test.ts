import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { parse as parseYaml } from 'yaml';
import { formatInput, formatRule, mapAll, type Diagnostic, type InputFile, type Mapping } from '@cadmap/core';
import { loadMappingOrReport, parseInputs, useColor } from '../common.js';
import { exitCodes, UsageError, type CliIo } from '../io.js';
import { outputOf, safeFileName } from '../output.js';

export const testHelp = `cadmap test <mapping-dir> [--update] [--case <name>]

Runs the golden cases of a mapping: <mapping-dir>/mapping.yaml over each <mapping-dir>/tests/<case>/,
comparing the bundles with <case>/expected/bundles/<record-key>.json and the diagnostics with
<case>/expected/diagnostics.txt. A case's inputs are the files in <case>/input/, or the paths listed
under 'inputs:' in <case>/case.yaml (relative to the case; '*' allowed in the file name).

Options:
  --update        write the current output as the expected output
  --case <name>   run one case only
  --mapping <f>   a mapping file other than <mapping-dir>/mapping.yaml
Exit codes: 0 all cases pass, 1 a case differs, 2 usage or mapping errors.`;

export async function testCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { update: { type: 'boolean' }, case: { type: 'string' }, mapping: { type: 'string' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
  });
  if (positionals.length !== 1) {
    throw new UsageError('Give one mapping directory.');
  }
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const dir = resolve(io.cwd, positionals[0]!);
  const mappingFile = values.mapping !== undefined ? resolve(io.cwd, values.mapping) : join(dir, 'mapping.yaml');
  const mapping = await loadMappingOrReport(io, mappingFile, color);
  const testsDir = join(dir, 'tests');
  if (!existsSync(testsDir)) {
    throw new UsageError(`No test cases: ${testsDir} does not exist. Create tests/<case>/input/ with export files and run with --update.`);
  }
  const cases = readdirSync(testsDir)
    .filter((name) => statSync(join(testsDir, name)).isDirectory())
    .filter((name) => values.case === undefined || name === values.case)
    .sort();
  if (cases.length === 0) {
    throw new UsageError(values.case !== undefined ? `No case named '${values.case}' in ${testsDir}.` : `No case directories in ${testsDir}.`);
  }
  let failed = 0;
  for (const name of cases) {
    const outcome = await runCase(mapping, join(testsDir, name), dir, values.update === true);
    io.stdout.write(`${outcome.ok ? '✓' : '✗'} ${name}: ${outcome.summary}\n`);
    for (const detail of outcome.details) {
      io.stdout.write(`${detail}\n`);
    }
    if (!outcome.ok) {
      failed++;
    }
  }
  io.stdout.write(`${cases.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? exitCodes.dataErrors : exitCodes.ok;
}

interface CaseOutcome {
  readonly ok: boolean;
  readonly summary: string;
  readonly details: string[];
}

async function runCase(mapping: Mapping, caseDir: string, mappingDir: string, update: boolean): Promise<CaseOutcome> {
  const inputs = caseInputs(caseDir);
  if (inputs.length === 0) {
    return { ok: false, summary: `no inputs (put files in ${join(caseDir, 'input')} or list them in case.yaml)`, details: [] };
  }
  const { diagnostics, results } = await mapAll(mapping, inputs);
  const actualBundles = new Map<string, string>();
  const allDiagnostics: Diagnostic[] = [...diagnostics];
  for (const result of results) {
    allDiagnostics.push(...result.diagnostics);
    const output = outputOf(result);
    if (output !== undefined && result.ok) {
      let name = safeFileName(result.key || result.bundle?.id || 'record');
      for (let n = 2; actualBundles.has(name); n++) {
        name = `${safeFileName(result.key)}-${n}`;
      }
      actualBundles.set(name, `${JSON.stringify(output, null, 2)}\n`);
    }
  }
  const actualDiagnostics = renderForGolden(allDiagnostics, mappingDir);
  const expectedDir = join(caseDir, 'expected');
  const bundlesDir = join(expectedDir, 'bundles');
  if (update) {
    rmSync(bundlesDir, { recursive: true, force: true });
    mkdirSync(bundlesDir, { recursive: true });
    for (const [name, text] of actualBundles) {
      writeFileSync(join(bundlesDir, `${name}.json`), text);
    }
    writeFileSync(join(expectedDir, 'diagnostics.txt'), actualDiagnostics);
    return { ok: true, summary: `updated (${actualBundles.size} bundles, ${allDiagnostics.length} diagnostics)`, details: [] };
  }
  const details: string[] = [];
  const expectedNames = existsSync(bundlesDir) ? readdirSync(bundlesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
  let differing = 0;
  for (const name of expectedNames) {
    const expected = readFileSync(join(bundlesDir, `${name}.json`), 'utf8');
    const actual = actualBundles.get(name);
    if (actual === undefined) {
      differing++;
      details.push(`  missing bundle ${name}: expected/bundles/${name}.json exists but the record produced no bundle`);
    } else if (actual !== expected) {
      differing++;
      details.push(indent(patch(`expected/bundles/${name}.json`, expected, actual)));
    }
  }
  for (const name of actualBundles.keys()) {
    if (!expectedNames.includes(name)) {
      differing++;
      details.push(`  unexpected bundle ${name} (run with --update to accept it)`);
    }
  }
  const diagnosticsFile = join(expectedDir, 'diagnostics.txt');
  const expectedDiagnostics = existsSync(diagnosticsFile) ? readFileSync(diagnosticsFile, 'utf8') : '';
  const diagnosticsDiffer = expectedDiagnostics !== actualDiagnostics;
  if (diagnosticsDiffer) {
    details.push(indent(patch('expected/diagnostics.txt', expectedDiagnostics, actualDiagnostics)));
  }
  const ok = differing === 0 && !diagnosticsDiffer;
  return {
    ok,
    summary: ok
      ? `${actualBundles.size} bundles, ${allDiagnostics.length} diagnostics as expected`
      : `${differing} of ${Math.max(expectedNames.length, actualBundles.size)} bundles differ${diagnosticsDiffer ? ', diagnostics differ' : ''} (run with --update to accept)`,
    details,
  };
}

function caseInputs(caseDir: string): InputFile[] {
  const manifest = join(caseDir, 'case.yaml');
  if (existsSync(manifest)) {
    const parsed = parseYaml(readFileSync(manifest, 'utf8')) as { inputs?: unknown } | null;
    const listed = Array.isArray(parsed?.inputs) ? parsed.inputs.filter((x): x is string => typeof x === 'string') : [];
    return parseInputs(listed.flatMap((pattern) => expandGlob(resolve(caseDir, pattern))), caseDir);
  }
  const inputDir = join(caseDir, 'input');
  return existsSync(inputDir) ? parseInputs([inputDir], caseDir) : [];
}

function expandGlob(path: string): string[] {
  const name = basename(path);
  if (!name.includes('*')) {
    return [path];
  }
  const dir = dirname(path);
  const pattern = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f)).sort().map((f) => join(dir, f)) : [];
}

/** Diagnostics as stable text: no colours, paths relative to the mapping directory. */
export function renderForGolden(diagnostics: readonly Diagnostic[], baseDir: string): string {
  const display = (file: string): string => relative(baseDir, file).split('\\').join('/');
  const base = baseDir.endsWith(sep) ? baseDir : `${baseDir}${sep}`;
  return diagnostics
    .map((d) => {
      const lines = [`${d.severity} ${d.code}: ${d.message.split(base).join('')}`];
      if (d.rule) {
        lines.push(`  rule: ${formatRule(d.rule, display)}`);
      }
      if (d.input) {
        lines.push(`  input: ${formatInput(d.input, display)}`);
      }
      return lines.join('\n');
    })
    .join('\n')
    .concat(diagnostics.length > 0 ? '\n' : '');
}

function patch(name: string, expected: string, actual: string): string {
  const text = createTwoFilesPatch(name, `${name} (actual)`, expected, actual, undefined, undefined, { context: 3 });
  const lines = text.split('\n').slice(2);
  return lines.length > 80 ? [...lines.slice(0, 80), `… ${lines.length - 80} more diff lines`].join('\n') : lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
