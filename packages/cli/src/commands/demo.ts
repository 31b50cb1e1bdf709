import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hasErrors, loadMapping, runMapping, type Mapping } from '@cadmap/core';
import { checkerFromFlags, checkerOptions } from '../checking.js';
import { checkMapped } from '../map-checking.js';
import { makeRenderer, mappingLoadOptions, parseInputs, useColor } from '../common.js';
import { displayPathFrom, exitCodes, UsageError, type CliIo } from '../io.js';
import { loggerOf } from '../log.js';
import { deadLetterOf, LazyFileWriter, outputOf, type Outcome } from '../output.js';
import { RunLog } from '../run-log.js';
import { RunSummary } from '../summary.js';
import { startDemoSandboxes, type DemoSandboxes } from '../demo-sandboxes.js';
import { meshCommand } from './mesh.js';
import { reportCommand } from './report.js';
import { createSubmitCommand, type SubmitGate } from './submit.js';

export const demoHelp = `cadmap demo [--mappings <dir>] [--out <dir>] [--package …] [--no-submit]

The main job on the bundled samples: for every <mappings>/<vendor>/mapping.yaml, maps the export in
<vendor>/sample/, checks each bundle against R4, UK Core and the ADS profiles (when UK Core is available:
--package, CADMAP_PACKAGES, or ~/.fhir/packages), and writes <out>/<vendor>.ndjson (and
<vendor>.dead-letter.ndjson for failing records), printing a summary per vendor.
Then, in this process, it starts a local DPS and a local MESH sandbox, submits every vendor's bundles to the
DPS sandbox with the submission ledger (<out>/cadmap-ledger.sqlite), lets the DPS sandbox report errors for a
share of the bundles over MESH, polls MESH, reconciles each error to its source row and mapping rule, and
writes the HTML report <out>/cadmap-report.html. --no-submit stops after mapping and checking.
Defaults: --mappings mappings, --out out, --package ./profiles plus CADMAP_PACKAGES.`;

export async function demoCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { mappings: { type: 'string' }, out: { type: 'string' }, 'no-submit': { type: 'boolean' }, ...checkerOptions, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
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
  const submittable: { vendor: string; mapping: Mapping; sampleDir: string }[] = [];
  for (const vendor of vendors) {
    const dir = join(mappingsDir, vendor);
    io.stderr.write(`\n== ${vendor}\n`);
    const { mapping, diagnostics } = await loadMapping(join(dir, 'mapping.yaml'), mappingLoadOptions(io));
    const renderer = makeRenderer(io, mapping, color);
    if (!mapping) {
      io.stderr.write(`${renderer.render(diagnostics)}\n`);
      worst = exitCodes.usage;
      continue;
    }
    const sampleDir = join(dir, 'sample');
    if (mapping.target === 'fhir-bundle') {
      submittable.push({ vendor, mapping, sampleDir });
    }
    const inputs = parseInputs(readdirSync(sampleDir).filter((f) => statSync(join(sampleDir, f)).isFile()).map((f) => join(sampleDir, f)), io.cwd);
    const runLog = new RunLog(loggerOf(io), io.cwd);
    runLog.start(mapping, inputs);
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
      runLog.record(result);
      const disposition = summary.count(result);
      if (disposition === 'mapped') {
        await bundles.write(`${JSON.stringify(outputOf(result))}\n`);
      } else if (disposition === 'failed') {
        await deadLetter.write(`${JSON.stringify(deadLetterOf(result))}\n`);
      }
    }
    await bundles.close();
    await deadLetter.close();
    runLog.done();
    const accounting = run.fieldAccounting();
    summary.add(accounting);
    if (accounting.length > 0) {
      io.stderr.write(`${renderer.render(accounting)}\n`);
    }
    io.stderr.write(`${summary.render()}\n`);
    io.stderr.write(`bundles: ${bundles.path}\n`);
    if (deadLetter.written > 0) {
      io.stderr.write(`dead letter: ${deadLetter.path}\n`);
      worst = Math.max(worst, exitCodes.dataErrors);
    }
  }
  if (values['no-submit'] !== true && submittable.length > 0) {
    const gateFor = (mapping: Mapping): SubmitGate | undefined =>
      checkable
        ? (_bundle, record) => {
            const issues = checkMapped(checking.checker, mapping, record, checking.profiles);
            return { ok: !hasErrors(issues), issues };
          }
        : undefined;
    worst = Math.max(worst, await submitAndReport(io, outDir, submittable, gateFor));
  }
  io.stderr.write(`\nDone. Bundles are in ${outDir}. Next: cadmap explain --mapping mappings/<vendor>/mapping.yaml mappings/<vendor>/sample --record <call id>\n`);
  return worst;
}

/** The second half of the demo: sandboxes, submit with the ledger, MESH poll and reconcile, the HTML report. */
async function submitAndReport(io: CliIo, outDir: string, vendors: readonly { vendor: string; mapping: Mapping; sampleDir: string }[], gateFor: (mapping: Mapping) => SubmitGate | undefined): Promise<number> {
  const say = (text: string): void => void io.stderr.write(`${text}\n`);
  const ledger = join(outDir, 'cadmap-ledger.sqlite');
  const receipts = join(outDir, 'dps-receipts.ndjson');
  for (const file of [ledger, `${ledger}-wal`, `${ledger}-shm`, receipts, join(outDir, 'mesh-store')]) {
    rmSync(file, { recursive: true, force: true });
  }
  say('\n== local DPS and MESH sandboxes');
  let sandboxes: DemoSandboxes | undefined;
  let worst: number = exitCodes.ok;
  try {
    sandboxes = await startDemoSandboxes(join(outDir, 'sandbox'), { share: 0.2 });
    sandboxes.secrets.forEach(loggerOf(io).secret);
    say(`DPS sandbox: ${sandboxes.dps.url} (OAuth2 signed-JWT, TLS; reports errors over MESH for about 20% of the bundles it accepts)`);
    say(`MESH sandbox: ${sandboxes.mesh.url} (mutual TLS; mailbox ${sandboxes.mailbox})`);
    const sandboxIo: CliIo = { ...io, cwd: sandboxes.dir, env: { ...io.env, ...sandboxes.env } };
    for (const { vendor, mapping, sampleDir } of vendors) {
      say(`\n== submitting ${vendor} to the DPS sandbox (ledger ${ledger})`);
      const vendorReceipts = join(outDir, 'receipts', `${vendor}.ndjson`);
      const gate = gateFor(mapping);
      const code = await createSubmitCommand({ ...(gate ? { gate } : {}), interrupted: () => () => undefined })(sandboxIo, [
        '--mapping',
        mapping.file,
        sampleDir,
        '--config',
        sandboxes.config,
        '--ledger',
        ledger,
        '--receipts',
        vendorReceipts,
        '--quiet',
        '--max-diagnostics',
        '3',
        ...(gate ? [] : ['--no-check']),
      ]);
      worst = Math.max(worst, code === exitCodes.dataErrors ? exitCodes.dataErrors : code);
      if (existsSync(vendorReceipts)) {
        appendFileSync(receipts, readFileSync(vendorReceipts), { mode: 0o600 });
      }
    }
    say(`\n== polling MESH for DPS error notifications (${sandboxes.notificationsSent()} waiting in mailbox ${sandboxes.mailbox})`);
    const captured = { out: '', err: '' };
    const pollIo: CliIo = { ...sandboxIo, stdout: { write: (text: string) => (captured.out += text) }, stderr: { write: (text: string) => (captured.err += text) } };
    const pollCode = await meshCommand(pollIo, ['poll', '--config', sandboxes.config, '--receipts', receipts, '--ledger', ledger, '--store', join(outDir, 'mesh-store'), '--json']);
    const poll = parseJson(captured.out);
    if (poll) {
      say(`stored and acknowledged: ${poll.stored?.length ?? 0} message(s) · DPS errors: ${(poll.matched?.length ?? 0) + (poll.unmatched?.length ?? 0)} · reconciled to their source row and mapping rule: ${poll.matched?.length ?? 0} · unmatched: ${poll.unmatched?.length ?? 0}`);
      if (poll.ledger) {
        say(`linked into the ledger: ${poll.ledger.linked} (those records are now 'rejected'; see cadmap status --ledger ${ledger})`);
      }
    } else {
      say(captured.err.trim());
      worst = Math.max(worst, pollCode);
    }
  } finally {
    await sandboxes?.close();
  }
  say('\n== HTML report');
  const report = join(outDir, 'cadmap-report.html');
  await reportCommand(io, ['--ledger', ledger, '--out', report, '--title', 'cadmap demo: sample vendors submitted to the local DPS sandbox']);
  say(`Open it in a browser: file://${report}`);
  return worst;
}

interface PollSummary {
  stored?: unknown[];
  matched?: unknown[];
  unmatched?: unknown[];
  ledger?: { linked: number; unlinked: number };
}

function parseJson(text: string): PollSummary | undefined {
  try {
    return JSON.parse(text) as PollSummary;
  } catch {
    return undefined;
  }
}
