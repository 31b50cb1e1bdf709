/**
 * Ledger overhead (issue: ledger): the same ~2,000 bundles submitted to the local DPS sandbox over TLS at
 * concurrency 8, without and with the submission ledger written as `cadmap submit` writes it (observe, intent
 * before sending, outcome after; SQLite WAL, synchronous=FULL), in one run: time per record, the ledger's
 * overhead per record and the ratio. Also the ledger alone (no network), at both durability settings.
 * Run: npx tsx bench/ledger.ts   (BENCH_LEDGER_BUNDLES to change the count)
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDpsClient, type SubmissionItem, type SubmissionResult } from '@cadmap/adapter-dps';
import { loadMapping, mapAll } from '@cadmap/core';
import { hashContent, openLedger, type Ledger } from '@cadmap/ledger';
import { startDpsSandbox } from '@cadmap/sandbox';

const root = fileURLToPath(new URL('../', import.meta.url));
const target = Number(process.env.BENCH_LEDGER_BUNDLES ?? 2000);
const concurrency = 8;

const { mapping } = await loadMapping(join(root, 'mappings/northwind-csv/mapping.yaml'));
if (!mapping) {
  throw new Error('northwind-csv mapping does not load');
}
const sampleDir = join(root, 'mappings/northwind-csv/sample');
const { results } = await mapAll(mapping, readdirSync(sampleDir).filter((name) => name.endsWith('.csv')).map((name) => ({ path: join(sampleDir, name) })));
const sample = results.filter((r) => r.ok && r.bundle);
interface Item extends SubmissionItem {
  readonly raw: unknown;
  readonly source: (typeof sample)[number]['source']['origin'];
}
const items: Item[] = [];
for (let rep = 0; items.length < target; rep++) {
  for (const result of sample) {
    if (items.length < target) {
      items.push({ key: `${result.key}#${rep}`, bundle: result.bundle, raw: { rep, raw: result.source.raw }, source: result.source.origin });
    }
  }
}

/** What `cadmap submit` records before sending one bundle. */
function intend(ledger: Ledger, item: Item, runTarget: string): number {
  const bundle = item.bundle as { id?: string };
  const observed = ledger.observe({
    target: runTarget,
    mapping: mapping!.id,
    key: item.key,
    mappingFile: mapping!.file,
    source: item.source,
    contentHash: hashContent(item.raw),
    ...(bundle.id !== undefined ? { bundleId: bundle.id } : {}),
    bundleHash: hashContent(item.bundle),
    at: Date.now(),
  }, { begin: true });
  return observed.submission!;
}

function settle(ledger: Ledger, submission: number, result: SubmissionResult): void {
  ledger.finishSubmission(submission, {
    outcome: result.status === 'accepted' ? 'accepted' : 'failed',
    at: Date.now(),
    ...(result.receipt !== undefined ? { receipt: result.receipt } : {}),
    correlationId: result.correlationId,
    attempts: result.attempts.map((a) => ({ startedAt: a.startedAt, durationMs: a.durationMs, requestId: a.requestId, ...(a.status !== undefined ? { status: a.status } : {}), ...(a.receipt !== undefined ? { receipt: a.receipt } : {}) })),
  });
}

const dir = mkdtempSync(join(tmpdir(), 'cadmap-bench-ledger-'));
const sandbox = await startDpsSandbox({ keyBits: 2048 });
try {
  const { client } = createDpsClient({
    environment: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    credentials: { apiKey: sandbox.apiKey, kid: sandbox.kid, privateKey: sandbox.privateKeyPem },
    ca: sandbox.ca,
    rateLimit: false,
  });
  await client!.submit(items[0]!);

  const withoutLedger = async (): Promise<number> => {
    const started = performance.now();
    for await (const result of client!.submitAll(items, { concurrency })) {
      if (result.status !== 'accepted') {
        throw new Error(`not accepted: ${result.failure?.message ?? ''}`);
      }
    }
    return performance.now() - started;
  };
  const withLedger = async (round: number, durability: 'full' | 'normal'): Promise<number> => {
    const ledger = openLedger(join(dir, `submit-${durability}-${round}.sqlite`), { durability });
    const intents = new Map<string, number>();
    const started = performance.now();
    function* intended(): Generator<SubmissionItem> {
      for (const item of items) {
        intents.set(item.key, intend(ledger, item, sandbox.url));
        yield item;
      }
    }
    for await (const result of client!.submitAll(intended(), { concurrency })) {
      settle(ledger, intents.get(result.key)!, result);
    }
    const elapsed = performance.now() - started;
    ledger.close();
    return elapsed;
  };
  // alternate the two so drift (JIT, caches, the sandbox's memory) falls on both
  const plain: number[] = [];
  const ledgered: number[] = [];
  const relaxed: number[] = [];
  for (let round = 0; round < 2; round++) {
    plain.push(await withoutLedger());
    ledgered.push(await withLedger(round, 'full'));
    relaxed.push(await withLedger(round, 'normal'));
  }
  await client!.close();
  const best = (values: number[]): number => Math.min(...values);
  const perRecord = (ms: number): string => `${((ms * 1000) / items.length).toFixed(0)} µs`;
  const a = best(plain);
  const b = best(ledgered);
  const c = best(relaxed);
  console.log(`Ledger overhead: ${items.length.toLocaleString('en-GB')} northwind-csv bundles to the local DPS sandbox over TLS, concurrency ${concurrency}, limiter off (best of 2)`);
  console.log(`  without the ledger: ${(a / 1000).toFixed(2)} s  (${perRecord(a)} per record, ${((items.length * 1000) / a).toFixed(0)} records/s)`);
  console.log(`  with the ledger:    ${(b / 1000).toFixed(2)} s  (${perRecord(b)} per record, ${((items.length * 1000) / b).toFixed(0)} records/s)`);
  console.log(`  overhead: ${perRecord(b - a)} per record · ratio with/without ${(b / a).toFixed(2)}×  (durability full: every commit fsynced, the default)`);
  console.log(`  with the ledger, durability normal: ${(c / 1000).toFixed(2)} s · overhead ${perRecord(c - a)} per record · ratio ${(c / a).toFixed(2)}×  (survives kill -9, not power loss)`);

  for (const durability of ['full', 'normal'] as const) {
    const ledger = openLedger(join(dir, `alone-${durability}.sqlite`), { durability });
    const started = performance.now();
    for (const item of items) {
      const submission = intend(ledger, item, 'https://bench.invalid/dps');
      ledger.finishSubmission(submission, { outcome: 'accepted', at: Date.now(), receipt: item.key, attempts: [{ startedAt: Date.now(), status: 200, requestId: item.key, receipt: item.key }] });
    }
    const elapsed = performance.now() - started;
    ledger.close();
    console.log(`  the ledger alone (observe with intent, outcome: 2 commits), durability ${durability.padEnd(6)}: ${perRecord(elapsed)} per record`);
  }
} finally {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
}
