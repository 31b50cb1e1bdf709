/**
 * `npm run bench`: every performance figure of cadmap in one run, each with its ratio to a named baseline.
 *
 * Mapping (issue: core): calls/s mapping a generated 100k-call export of the northwind-csv vendor with the
 * engine, versus a hand-written TypeScript function doing the same mapping (bench/northwind-baseline.ts,
 * checked to produce identical bundles); peak RSS at 10k and 100k calls. Each measurement runs in a fresh
 * process. Goals: ≥ 20,000 calls/s on one core, within 1.5× of the baseline, memory flat as input grows (judged
 * on the live heap: the largest heap left after a full collection every 5,000 calls). BENCH_SIZES (default
 * 10000,100000) and BENCH_REPEATS (default 3; the fastest run counts) change the run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticExport } from '../test/support/sample-data/generate.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const workDir = join(root, '.bench');
const mappingFile = join(root, 'mappings/northwind-csv/mapping.yaml');
const sizes = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);

interface Figures {
  mode: string;
  calls: number;
  failed: number;
  bytes: number;
  seconds: number;
  maxRssMb: number;
  liveHeapMb?: number;
}

function exportOf(size: number): string {
  const dir = join(workDir, `northwind-${size}`);
  if (!existsSync(dir) || readdirSync(dir).length < 3) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const started = performance.now();
    writeSyntheticExport('northwind-csv', dir, size, 7);
    console.log(`generated ${size.toLocaleString('en-GB')} calls in ${((performance.now() - started) / 1000).toFixed(1)} s → ${dir}`);
  }
  return dir;
}

function measure(mode: 'engine' | 'baseline', dir: string, output: 'serialise' | 'map-only' | 'live-heap' = 'serialise'): Figures {
  const flags = output === 'live-heap' ? ['--expose-gc'] : [];
  const printed = execFileSync(process.execPath, [...flags, '--import', 'tsx', join(root, 'bench/map-worker.ts'), mode, dir, mappingFile, output], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(printed.trim().split('\n').pop()!) as Figures;
}

/**
 * The fastest of `repeats` runs of the engine and of the baseline, the two alternating so that a slow spell of
 * a shared machine falls on both rather than on all the runs of one; also each engine run's time over the
 * baseline run right after it (the two of a pair see the same machine, so these vary less than two bests).
 */
function bestPair(dir: string, output: 'serialise' | 'map-only' = 'serialise'): { engine: Figures; baseline: Figures; pairRatios: number[] } {
  let engine: Figures | undefined;
  let baseline: Figures | undefined;
  const pairRatios: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const e = measure('engine', dir, output);
    const b = measure('baseline', dir, output);
    engine = !engine || e.seconds < engine.seconds ? e : engine;
    baseline = !baseline || b.seconds < baseline.seconds ? b : baseline;
    pairRatios.push(e.seconds / b.seconds);
  }
  return { engine: engine!, baseline: baseline!, pairRatios };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const n = (value: number, digits = 0): string => value.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`cadmap benchmarks — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, best of ${repeats}\n`);
console.log('## Mapping: northwind-csv export (calls + resources + patients CSV, Windows-1252), output serialised');
const rows: { size: number; engine: Figures; baseline: Figures }[] = [];
for (const size of sizes) {
  const dir = exportOf(size);
  rows.push({ size, ...bestPair(dir) });
}
console.log('| calls | engine calls/s | baseline calls/s | engine ÷ baseline time | engine peak RSS | baseline peak RSS |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const { size, engine, baseline } of rows) {
  if (engine.failed > 0 || engine.calls !== baseline.calls || engine.bytes !== baseline.bytes) {
    console.log(`!! outputs differ at ${size}: engine ${engine.calls} calls (${engine.failed} failed, ${engine.bytes} bytes), baseline ${baseline.calls} calls (${baseline.bytes} bytes)`);
  }
  console.log(
    `| ${n(size)} | ${n(engine.calls / engine.seconds)} | ${n(baseline.calls / baseline.seconds)} | ${n(engine.seconds / baseline.seconds, 2)}× | ${n(engine.maxRssMb)} MB | ${n(baseline.maxRssMb)} MB |`,
  );
}
const small = rows[0];
const large = rows[rows.length - 1];
if (small && large && small !== large) {
  console.log(`\nmemory growth ${n(small.size)} → ${n(large.size)} calls: engine ${n(large.engine.maxRssMb / small.engine.maxRssMb, 2)}×, baseline ${n(large.baseline.maxRssMb / small.baseline.maxRssMb, 2)}× (flat = 1.00×)`);
}
const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
if (large) {
  const dir = exportOf(large.size);
  const { engine, baseline, pairRatios } = bestPair(dir, 'map-only');
  const rate = engine.calls / engine.seconds;
  const ratio = engine.seconds / baseline.seconds;
  console.log(`\nmapping only (bundles built, not serialised), ${n(large.size)} calls: engine ${n(rate)} calls/s, baseline ${n(baseline.calls / baseline.seconds)} calls/s, engine ÷ baseline time ${n(ratio, 2)}×`);
  console.log(
    `  each engine run ÷ the baseline run after it: median ${n(median(pairRatios), 2)}×, from ${n(Math.min(...pairRatios), 2)}× to ${n(Math.max(...pairRatios), 2)}× (${pairRatios.length} pairs)`,
  );
  const serialisedRatio = large.engine.seconds / large.baseline.seconds;
  console.log(`goals at ${n(large.size)} calls:`);
  console.log(`- ≥ 20,000 calls/s: ${verdict(rate >= 20_000)} (${n(rate)} calls/s mapping only; ${n(large.engine.calls / large.engine.seconds)} calls/s serialised)`);
  console.log(`- engine ÷ baseline ≤ 1.5×: ${verdict(ratio <= 1.5)} mapping only (${n(ratio, 2)}×), ${verdict(serialisedRatio <= 1.5)} serialised (${n(serialisedRatio, 2)}×)`);
  if (small && small !== large) {
    // Peak RSS also counts garbage V8 has not yet collected (it collects the old generation lazily), so
    // flatness is judged on what the run keeps alive: the heap left after a full collection every 5,000 calls.
    const live = (size: number, mode: 'engine' | 'baseline'): number => measure(mode, exportOf(size), 'live-heap').liveHeapMb ?? Number.NaN;
    const [smallLive, largeLive] = [live(small.size, 'engine'), live(large.size, 'engine')];
    const growth = largeLive / smallLive;
    console.log(
      `- memory flat as input grows: ${verdict(growth <= 1.25)} (live heap ${n(smallLive, 1)} MB at ${n(small.size)} calls, ${n(largeLive, 1)} MB at ${n(large.size)}: ×${n(growth, 2)}; baseline ${n(live(large.size, 'baseline'), 1)} MB at ${n(large.size)}; peak RSS ×${n(large.engine.maxRssMb / small.engine.maxRssMb, 2)})`,
    );
  }
} else {
  console.log('goals: ≥ 20,000 calls/s; engine ÷ baseline ≤ 1.5×; memory flat as input grows');
}

/** The other sections each run in their own process and print their own figures and ratios. */
const sections: readonly { title: string; script: string }[] = [
  { title: 'Expressions: compiled fast path vs fhirpath.js', script: 'packages/core/bench/expressions.bench.ts' },
  { title: 'Conformance: checker vs @medplum/core validateResource, cold start, reference resolution', script: 'bench/conformance.ts' },
  { title: 'Conformance: agreement with the HL7 validator on its R4 test cases', script: 'bench/hl7-cases.ts' },
  { title: 'DPS submission to the local sandbox', script: 'bench/dps.ts' },
  { title: 'Ledger overhead: submit with and without the durable ledger', script: 'bench/ledger.ts' },
];
for (const section of sections) {
  if (!existsSync(join(root, section.script))) {
    continue;
  }
  console.log(`\n## ${section.title}`);
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(root, section.script)], { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  process.stdout.write(output);
}
