/**
 * DPS submission throughput (issue: dps): bundles/s submitted to the local DPS sandbox over real TLS, with
 * the client-side rate limiter off, at concurrency 1 and 8, in one run. The bundles are the northwind-csv
 * sample's, repeated to ~2,000 (each repetition under its own key, so per-call ordering does not serialise them).
 * Run: npx tsx bench/dps.ts   (BENCH_DPS_BUNDLES to change the count)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDpsClient, SubmissionSummary, type SubmissionItem } from '@cadmap/adapter-dps';
import { loadMapping, mapAll } from '@cadmap/core';
import { startDpsSandbox } from '@cadmap/sandbox';

const root = fileURLToPath(new URL('../', import.meta.url));
const target = Number(process.env.BENCH_DPS_BUNDLES ?? 2000);

const { mapping } = await loadMapping(join(root, 'mappings/northwind-csv/mapping.yaml'));
if (!mapping) {
  throw new Error('northwind-csv mapping does not load');
}
const sampleDir = join(root, 'mappings/northwind-csv/sample');
const { results } = await mapAll(mapping, readdirSync(sampleDir).filter((name) => name.endsWith('.csv')).map((name) => ({ path: join(sampleDir, name) })));
const sample = results.filter((r) => r.ok && r.bundle).map((r) => ({ key: r.key, bundle: r.bundle! }));
const items: SubmissionItem[] = [];
for (let rep = 0; items.length < target; rep++) {
  for (const { key, bundle } of sample) {
    if (items.length < target) {
      items.push({ key: `${key}#${rep}`, bundle });
    }
  }
}
const bytes = items.reduce((sum, item) => sum + JSON.stringify(item.bundle).length, 0);

const sandbox = await startDpsSandbox({ keyBits: 2048 });
console.log(`DPS submission: ${items.length.toLocaleString('en-GB')} bundles (${sample.length} northwind-csv sample bundles repeated, ${(bytes / items.length / 1024).toFixed(1)} KiB each) to the local sandbox over TLS, limiter off`);
for (const concurrency of [1, 8]) {
  const { client } = createDpsClient({
    environment: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    credentials: { apiKey: sandbox.apiKey, kid: sandbox.kid, privateKey: sandbox.privateKeyPem },
    ca: sandbox.ca,
    rateLimit: false,
  });
  await client!.submit(items[0]!);
  const summary = new SubmissionSummary();
  const started = performance.now();
  for await (const result of client!.submitAll(items, { concurrency })) {
    summary.add(result);
  }
  const seconds = (performance.now() - started) / 1000;
  await client!.close();
  const totals = summary.toJSON();
  console.log(`  concurrency ${concurrency}: ${(totals.submitted / seconds).toFixed(0).padStart(6)} bundles/s  (${totals.accepted} accepted, ${totals.failed} failed in ${seconds.toFixed(2)} s)`);
}
await sandbox.close();
