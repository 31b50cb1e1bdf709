import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMapping, runMapping } from '@cadmap/core';
import { makeRenderer, parseInputs, useColor } from '../common.js';
import { exitCodes, UsageError, type CliIo } from '../io.js';
import { deadLetterOf, LazyFileWriter, outputOf } from '../output.js';
import { RunSummary } from '../summary.js';

export const demoHelp = `cadmap demo [--mappings <dir>] [--out <dir>]

The main job on the bundled samples: for every <mappings>/<vendor>/mapping.yaml, maps the export in
<vendor>/sample/ and writes <out>/<vendor>.ndjson (and <vendor>.dead-letter.ndjson for failing records),
printing a summary per vendor. Defaults: --mappings mappings, --out out.`;

export async function demoCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { mappings: { type: 'string' }, out: { type: 'string' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
  });
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
    const run = await runMapping(mapping, inputs);
    const summary = new RunSummary();
    summary.add(run.diagnostics);
    if (run.diagnostics.length > 0) {
      io.stderr.write(`${renderer.render(run.diagnostics)}\n`);
    }
    const bundles = new LazyFileWriter(join(outDir, `${vendor}.ndjson`));
    const deadLetter = new LazyFileWriter(join(outDir, `${vendor}.dead-letter.ndjson`));
    for await (const result of run.results()) {
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
