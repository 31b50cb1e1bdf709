/**
 * Writes the sample exports of the three sample CAD vendors, or a large synthetic export for the benchmark.
 *
 *   npx tsx test/support/sample-data/generate.ts                       fixed samples ⟶ mappings/<vendor>/sample/
 *   npx tsx test/support/sample-data/generate.ts --calls 100000 --out .bench/data [--vendor northwind-csv] [--seed 1]
 */
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { beaconWriter } from './beacon-ndjson.js';
import { sampleCalls, streamCalls } from './calls.js';
import { harbourWriter } from './harbour-xml.js';
import type { ExportWriter, SampleCall } from './model.js';
import { northwindWriter } from './northwind-csv.js';

export type { ExportWriter, SampleCall } from './model.js';
export { sampleCalls, streamCalls } from './calls.js';

export const vendors = ['northwind-csv', 'harbour-xml', 'beacon-ndjson'] as const;
export type Vendor = (typeof vendors)[number];

/** Opens a streaming writer for one vendor's export format; `name` is the file name stem. */
export function createWriter(vendor: Vendor, directory: string, name?: string): ExportWriter {
  switch (vendor) {
    case 'northwind-csv':
      return northwindWriter(directory, name);
    case 'harbour-xml':
      return harbourWriter(directory, name);
    case 'beacon-ndjson':
      return beaconWriter(directory, name);
  }
}

/** Writes calls (any iterable, consumed one at a time) as one vendor's export. Returns the files written. */
export function writeExport(vendor: Vendor, directory: string, calls: Iterable<SampleCall>, name?: string): string[] {
  const writer = createWriter(vendor, directory, name);
  for (const call of calls) {
    writer.write(call);
  }
  return writer.close();
}

/**
 * Generates `count` random calls straight to a vendor export in bounded memory (for the benchmark:
 * `writeSyntheticExport('northwind-csv', dir, 100_000)`). Same count and seed ⟶ same bytes.
 */
export function writeSyntheticExport(vendor: Vendor, directory: string, count: number, seed = 1): string[] {
  return writeExport(vendor, directory, streamCalls(count, seed), `synthetic_${count}`);
}

/** The repository root (this file sits in test/support/sample-data). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Regenerates `mappings/<vendor>/sample/` for every vendor from the fixed sample set. */
export function writeSamples(root = repoRoot): { vendor: Vendor; files: string[] }[] {
  const calls = sampleCalls();
  return vendors.map((vendor) => {
    const directory = join(root, 'mappings', vendor, 'sample');
    rmSync(directory, { recursive: true, force: true });
    return { vendor, files: writeExport(vendor, directory, calls) };
  });
}

function main(argv: readonly string[]): void {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      calls: { type: 'string' },
      out: { type: 'string' },
      vendor: { type: 'string' },
      seed: { type: 'string' },
      'edge-cases': { type: 'boolean' },
    },
  });
  if (values['edge-cases'] === true) {
    for (const call of sampleCalls()) {
      if (call.edgeCases.length > 0) {
        process.stdout.write(`| ${call.incidentId} | ${call.callConnected} | ${call.edgeCases.join('; ')} |\n`);
      }
    }
    return;
  }
  if (values.calls === undefined) {
    for (const { vendor, files } of writeSamples()) {
      process.stdout.write(`${vendor}: ${files.map((file) => file.slice(repoRoot.length + 1)).join(', ')}\n`);
    }
    return;
  }
  const count = Number(values.calls);
  const selected = values.vendor === undefined ? vendors : vendors.filter((vendor) => vendor === values.vendor);
  if (!Number.isInteger(count) || count < 0 || selected.length === 0) {
    process.stderr.write(`usage: generate.ts [--calls N --out DIR [--vendor ${vendors.join('|')}] [--seed S]]\n`);
    process.exitCode = 2;
    return;
  }
  const out = resolve(values.out ?? '.bench/data');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  for (const vendor of selected) {
    const files = writeSyntheticExport(vendor, join(out, vendor), count, seed);
    process.stdout.write(`${vendor}: ${files.join(', ')}\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
