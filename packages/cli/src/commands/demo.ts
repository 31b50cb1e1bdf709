import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hasErrors, loadMapping, runMapping } from '@cadmap/core';
import { checkerFromFlags, checkerOptions } from '../checking.js';
import { checkMapped } from '../map-checking.js';
import { makeRenderer, parseInputs, useColor } from '../common.js';
import { displayPathFrom, exitCodes, UsageError, type CliIo } from '../io.js';
import { deadLetterOf, LazyFileWriter, outputOf, type Outcome } from '../output.js';
import { RunSummary } from '../summary.js';

export const demoHelp = `cadmap demo [--mappings <dir>] [--out <dir>] [--package …]

The main job on the bundled samples: for every <mappings>/<vendor>/mapping.yaml, maps the export in
<vendor>/sample/, checks each bundle against R4, UK Core and the ADS profiles (when UK Core is available:
--package, CADMAP_PACKAGES, or ~/.fhir/packages), and writes <out>/<vendor>.ndjson (and
<vendor>.dead-letter.ndjson for failing records), printing a summary per vendor.
Defaults: --mappings mappings, --out out, --package ./profiles plus CADMAP_PACKAGES.`;

export async function demoCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { mappings: { type: 'string' }, out: { type: 'string' }, ...checkerOptions, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
  });
  const checking = checkerFromFlags(io, values);
  const checkable = checking.checker.loadIssues.length === 0;
  io.stderr.write(
    checkable
      ? `checking against: ${checking.packages.map(displayPathFrom(io.cwd)).join(', ')}\n`
      : `not checking conformance: the packages could not all be loaded (UK Core is needed under the ADS profiles):\n${makeRenderer(io, undefined, false).render(checking.checker.loadIssues.slice(0, 3))}\nSet CADMAP_PACKAGES or pass --package (see README).\n`,
  );
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const mappingsDir = resolve(io.cwd, values.mappings ?? 'mappings');
  const outDir = resolve(io.cwd, values.out ?? 'out');
  if (!existsSync(mappingsDir)) {
    throw new UsageError(`${mappingsDir} does not exist; run from the cadmap repository root or pass --mappings.`);
  }
  const vendors = readdirSync(mappingsDir)
    .filter((name) => existsSync(join(mappingsDir, name, 'mapping.yaml')) && existsSync(join(mappingsDir, name, 'sample')))
    .sort();
  if (vendors.length === 0) {
    throw new UsageError(`No <vendor>/mapping.yaml with a sample/ folder in ${mappingsDir}.`);
  }
  let worst: number = exitCodes.ok;
  for (const vendor of vendors) {
    const dir = join(mappingsDir, vendor);
    io.stderr.write(`\n== ${vendor}\n`);
    const { mapping, diagnostics } = await loadMapping(join(dir, 'mapping.yaml'));
    const renderer = makeRenderer(io, mapping, color);
    if (!mapping) {
      io.stderr.write(`${renderer.render(diagnostics)}\n`);
      worst = exitCodes.usage;
      continue;
    }
    const sampleDir = join(dir, 'sample');
    const inputs = parseInputs(readdirSync(sampleDir).filter((f) => statSync(join(sampleDir, f)).isFile()).map((f) => join(sampleDir, f)), io.cwd);
    const run = await runMapping(mapping, inputs, { provenance: checkable });
    const summary = new RunSummary();
    summary.add(run.diagnostics);
    if (run.diagnostics.length > 0) {
      io.stderr.write(`${renderer.render(run.diagnostics)}\n`);
    }
    const bundles = new LazyFileWriter(join(outDir, `${vendor}.ndjson`));
    const deadLetter = new LazyFileWriter(join(outDir, `${vendor}.dead-letter.ndjson`));
    for await (const mapped of run.results()) {
      const findings = checkable && mapped.ok ? checkMapped(checking.checker, mapping, mapped, checking.profiles) : [];
      const result: Outcome = findings.length > 0 ? { ...mapped, diagnostics: [...mapped.diagnostics, ...findings], ok: mapped.ok && !hasErrors(findings) } : mapped;
      const disposition = summary.count(result);
      if (disposition === 'mapped') {
        await bundles.write(`${JSON.stringify(outputOf(result))}\n`);
      } else if (disposition === 'failed') {
        await deadLetter.write(`${JSON.stringify(deadLetterOf(result))}\n`);
      }
    }
    await bundles.close();
    await deadLetter.close();
    io.stderr.write(`${summary.render()}\n`);
    io.stderr.write(`bundles: ${bundles.path}\n`);
    if (deadLetter.written > 0) {
      io.stderr.write(`dead letter: ${deadLetter.path}\n`);
      worst = Math.max(worst, exitCodes.dataErrors);
    }
  }
  io.stderr.write(`\nDone. Bundles are in ${outDir}. Next: cadmap explain --mapping mappings/<vendor>/mapping.yaml mappings/<vendor>/sample --record <call id>\n`);
  return worst;
}
