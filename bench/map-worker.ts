/**
 * One measurement in a fresh process: maps an export with the cadmap engine or the hand-written baseline and
 * prints one JSON line of figures. Run by bench/run.ts; not meant to be run by hand.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadMapping, runMapping } from '../packages/core/dist/index.js';
import { mapNorthwindByHand } from './northwind-baseline.js';

const [mode, dir, mappingFile, output = 'serialise'] = process.argv.slice(2);
const serialise = output === 'serialise';
/**
 * `live-heap` (run with --expose-gc): a full collection every 5,000 calls and the largest heap left after one,
 * i.e. what the run keeps alive; peak RSS also counts garbage V8 has not collected yet.
 */
const collect = output === 'live-heap' ? (globalThis as { gc?: () => void }).gc : undefined;
if (output === 'live-heap' && collect === undefined) {
  throw new Error('live-heap needs node --expose-gc');
}
let liveHeapMb = 0;
const sampleLiveHeap = (): void => {
  if (collect) {
    collect();
    liveHeapMb = Math.max(liveHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
  }
};
if ((mode !== 'engine' && mode !== 'baseline') || dir === undefined || mappingFile === undefined) {
  throw new Error('usage: map-worker.ts engine|baseline <export-dir> <mapping.yaml>');
}
const files = readdirSync(dir)
  .sort()
  .map((name) => join(dir, name));

let calls = 0;
let failed = 0;
let bytes = 0;
const started = performance.now();
const cpuStarted = process.cpuUsage();
if (mode === 'engine') {
  const { mapping, diagnostics } = await loadMapping(mappingFile);
  if (!mapping) {
    throw new Error(JSON.stringify(diagnostics));
  }
  const run = await runMapping(mapping, files.map((path) => ({ path })));
  for await (const result of run.results()) {
    if (++calls % 5000 === 0) {
      sampleLiveHeap();
    }
    if (result.ok && result.bundle) {
      bytes += serialise ? JSON.stringify(result.bundle).length : (result.bundle.entry?.length ?? 0);
    } else {
      failed++;
    }
  }
} else {
  for await (const bundle of mapNorthwindByHand(files)) {
    if (++calls % 5000 === 0) {
      sampleLiveHeap();
    }
    bytes += serialise ? JSON.stringify(bundle).length : (bundle.entry?.length ?? 0);
  }
}
sampleLiveHeap();
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ mode, calls, failed, bytes, seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, ...(collect ? { liveHeapMb } : {}) })}\n`);
