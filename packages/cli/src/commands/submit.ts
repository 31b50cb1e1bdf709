import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDpsClient, resolveEndpoint, SubmissionSummary, type DpsDiagnostic, type SubmissionItem, type SubmissionResult } from '@cadmap/adapter-dps';
import { hasErrors, runMapping, type Diagnostic, type MapResult, type Mapping, type RuleSpan } from '@cadmap/core';
import { hashContent, type Ledger, type LedgerIssue, type RecordObservation } from '@cadmap/ledger';
import { dpsEventLogger } from '../adapter-log.js';
import { filledAdsItems } from '../ads-items.js';
import { checkerFromFlags, checkerHelp, checkerOptions, type CheckerFlags } from '../checking.js';
import { checkMapped } from '../map-checking.js';
import { loadMappingOrReport, makeRenderer, parseInputs, reportingOptions, reportingSettings } from '../common.js';
import { exitCodes, UsageError, type CliIo } from '../io.js';
import { loggerOf, type Logger } from '../log.js';
import { LazyFileWriter } from '../output.js';
import { RunLog } from '../run-log.js';
import { readConfigFile, resolveDpsSettings } from './dps-config.js';
import { openLedgerOrExplain } from './status.js';

/** One finding of the gate (the conformance checker's diagnostics). */
export type GateIssue = Diagnostic<string>;

/** The gate's verdict on one bundle: `ok: false` holds it back unless `--allow-invalid`. */
export interface GateVerdict {
  readonly ok: boolean;
  readonly issues: readonly GateIssue[];
}

/** Checks a mapped bundle before it is sent (e.g. @cadmap/conformance). */
export type SubmitGate = (bundle: unknown, record: MapResult) => GateVerdict | Promise<GateVerdict>;

export interface SubmitDependencies {
  /** The conformance gate; without one, every mapped bundle is sent. */
  readonly gate?: SubmitGate;
  /** Resolves on Ctrl-C (default: SIGINT/SIGTERM of this process). */
  readonly interrupted?: (onInterrupt: () => void) => () => void;
}

export const submitHelp = `cadmap submit --mapping <mapping.yaml> <inputs…> [options]

Maps CAD export files, checks each bundle and submits it to the Ambulance Data Submission API (DPS),
in one stream.

Options:
  -m, --mapping <file>      the mapping (required)
  -c, --config <file>       config file with a 'dps' section (default: ./cadmap.config.yaml if present)
      --dry-run             map and check, but send nothing (credentials not needed)
      --concurrency <n>     bundles in flight at once (default 4, or dps.concurrency)
      --allow-invalid       also send bundles that fail the conformance check
      --no-check            send without checking (not recommended: DPS reports errors days later)
${checkerHelp.split('\n').map((line) => `    ${line}`).join('\n')}
      --receipts <file>     where to record every result (NDJSON; default dps-receipts.ndjson)
      --ledger <file>       the submission ledger (SQLite; default ./cadmap-ledger.sqlite): the intent is
                            written before each bundle is sent and the outcome after, so a rerun after a
                            crash sends what was not acknowledged, skips what was (same source content)
                            and resends records whose content changed
      --json                print the summary as JSON
      --max-diagnostics <n> how many problems to print in full (default 20)
  -q, --quiet               no progress line
      --color / --no-color

Settings (the environment overrides the config file):
  CADMAP_DPS_ENV            integration | production | sandbox (NHS open-access sandbox)
  CADMAP_DPS_BASE_URL       a custom base URL (with CADMAP_DPS_TOKEN_URL), e.g. the local sandbox
  CADMAP_DPS_API_KEY        the application's API key
  CADMAP_DPS_KID            the key id registered in the application's JWKS
  CADMAP_DPS_PRIVATE_KEY_FILE / CADMAP_DPS_PRIVATE_KEY   the RSA private key (PEM); never printed
  CADMAP_DPS_CA_FILE        extra CA certificate to trust (the local sandbox's ca.pem)
Exit codes: 0 all accepted, 1 records failed mapping or the check, 2 usage or configuration, 3 DPS failures.`;

function defaultInterrupted(onInterrupt: () => void): () => void {
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  return () => {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  };
}

/** Counts of the whole run: mapping, check and submission. */
interface RunCounts {
  records: number;
  mapped: number;
  mappingFailed: number;
  skipped: number;
  heldBack: number;
  sentInvalid: number;
  /** Already accepted with the same source content (ledger): not sent again. */
  unchanged: number;
}

const describeFailure = (diagnostic: DpsDiagnostic): string => `${diagnostic.code}: ${diagnostic.message}${diagnostic.hint !== undefined ? `\n  hint: ${diagnostic.hint}` : ''}`;

/** Where a submitted bundle came from: the source record and the rule of each entry, so DPS errors (MESH) can be traced back. */
interface ReceiptOrigin {
  readonly source: MapResult['source']['origin'];
  readonly mapping: string;
  readonly rules: readonly (RuleSpan | null)[];
}

function receiptLine(redact: (text: string) => string, result: SubmissionResult, origin?: ReceiptOrigin): string {
  return `${JSON.stringify({
    key: result.key,
    bundleId: result.bundleId,
    ...origin,
    status: result.status,
    receipt: result.receipt,
    correlationId: result.correlationId,
    possibleDuplicate: result.possibleDuplicate,
    failure: result.failure ? { code: result.failure.code, status: result.failure.status, message: redact(result.failure.message) } : undefined,
    attempts: result.attempts.map((a) => ({ requestId: a.requestId, startedAt: new Date(a.startedAt).toISOString(), durationMs: a.durationMs, status: a.status, code: a.code, waitMs: a.waitMs })),
  })}\n`;
}

const maxIssuesKept = 50;

/** Findings kept in the ledger with a record (errors and warnings, at most 50), redacted: the ledger is shown by status and report. */
function ledgerIssues(redact: (text: string) => string, diagnostics: readonly Diagnostic<string>[]): LedgerIssue[] {
  return diagnostics
    .filter((d) => d.severity !== 'information')
    .slice(0, maxIssuesKept)
    .map((d) => ({
      code: d.code,
      severity: d.severity,
      message: redact(d.message),
      ...(d.rule !== undefined ? { rule: d.rule } : {}),
      ...(d.input !== undefined ? { input: d.input } : {}),
      ...(d.expression !== undefined ? { expression: d.expression } : {}),
    }));
}

/** Writes the outcome of a submission to the ledger (the intent was written before it was sent). */
function settle(log: Logger, ledger: Ledger | undefined, intents: Map<string, number[]>, result: SubmissionResult): void {
  const { redact } = log;
  const open = intents.get(result.key);
  const intent = open?.shift();
  if (!ledger || intent === undefined) {
    return;
  }
  if (open?.length === 0) {
    intents.delete(result.key);
  }
  log.debug('ledger', `record ${result.key}: submission ${intent} ${result.status}`, { receipt: result.receipt, code: result.failure?.code });
  ledger.finishSubmission(intent, {
    outcome: result.status === 'accepted' ? 'accepted' : 'failed',
    at: Date.now(),
    ...(result.receipt !== undefined ? { receipt: result.receipt } : {}),
    correlationId: result.correlationId,
    ...(result.failure ? { failureCode: result.failure.code, failureMessage: redact(result.failure.message) } : {}),
    possibleDuplicate: result.possibleDuplicate,
    attempts: result.attempts.map((a) => ({
      startedAt: a.startedAt,
      durationMs: a.durationMs,
      requestId: a.requestId,
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.code !== undefined ? { code: a.code } : {}),
      ...(a.receipt !== undefined ? { receipt: a.receipt } : {}),
      ...(a.outcomeUnknown === true ? { outcomeUnknown: true } : {}),
      ...(a.error !== undefined ? { error: redact(a.error) } : {}),
    })),
  });
}

/** Makes `cadmap submit` with an injectable gate (the conformance checker is wired in by main). */
export function createSubmitCommand(dependencies: SubmitDependencies = {}): (io: CliIo, argv: readonly string[]) => Promise<number> {
  return async (io, argv) => {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        mapping: { type: 'string', short: 'm' },
        config: { type: 'string', short: 'c' },
        'dry-run': { type: 'boolean' },
        concurrency: { type: 'string' },
        'allow-invalid': { type: 'boolean' },
        'no-check': { type: 'boolean' },
        ...checkerOptions,
        receipts: { type: 'string' },
        ledger: { type: 'string' },
        ...reportingOptions,
      },
    });
    const { color, maxDiagnostics } = reportingSettings(io, values);
    if (positionals.length === 0) {
      throw new UsageError('No input files given.');
    }
    const dryRun = values['dry-run'] === true;
    const log = loggerOf(io);
    const settings = resolveDpsSettings(io.env, readConfigFile(io.cwd, values.config), !dryRun);
    const credentials = settings?.options.credentials;
    log.secret(credentials?.apiKey);
    log.secret(typeof credentials?.privateKey === 'string' ? credentials.privateKey : undefined);
    const concurrency = values.concurrency !== undefined ? Number(values.concurrency) : (settings?.concurrency ?? 4);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError('--concurrency takes a whole number from 1 to 64.');
    }
    const report = (text: string): void => {
      io.stderr.write(`${text}\n`);
    };

    const mapping = await loadMappingOrReport(io, values.mapping, color);
    const renderer = makeRenderer(io, mapping, color);
    const gate = dependencies.gate ?? (values['no-check'] === true ? undefined : conformanceGate(io, mapping, values, report));
    const inputs = parseInputs(positionals, io.cwd);
    const runLog = new RunLog(log, io.cwd);
    runLog.start(mapping, inputs);
    const run = await runMapping(mapping, inputs, { provenance: gate !== undefined });
    if (run.diagnostics.length > 0) {
      report(renderer.render(run.diagnostics));
    }
    if (run.diagnostics.some((d) => d.severity === 'fatal' || d.code === 'MAP_UNKNOWN_COLUMN')) {
      return exitCodes.usage;
    }

    const created = dryRun || !settings ? undefined : createDpsClient({ ...settings.options, onEvent: dpsEventLogger(log), onSecret: log.secret });
    if (created && !created.client) {
      report(created.diagnostics.map(describeFailure).join('\n'));
      return exitCodes.usage;
    }
    const client = created?.client;
    if (values.json !== true && settings) {
      report(settings.description.join('\n'));
    }

    const counts: RunCounts = { records: 0, mapped: 0, mappingFailed: 0, skipped: 0, heldBack: 0, sentInvalid: 0, unchanged: 0 };
    const target = settings ? resolveEndpoint(settings.options.environment).baseUrl : '';
    let ledger: Ledger | undefined;
    try {
      ledger = client ? openLedgerOrExplain(resolve(io.cwd, values.ledger ?? 'cadmap-ledger.sqlite')) : undefined;
    } catch (error) {
      await client?.close();
      throw error;
    }
    ledger?.recordRun({ target, mapping: mapping.id, mappingFile: mapping.file, inputs: positionals.map((input) => resolve(io.cwd, input)), startedAt: Date.now() });
    /** Open ledger submissions per record key, oldest first (a key may recur within one export). */
    const intents = new Map<string, number[]>();
    const observe = (result: MapResult, extra: Partial<RecordObservation>, begin = false): ReturnType<Ledger['observe']> | undefined => {
      const observed = ledger?.observe(
        {
          target,
          mapping: mapping.id,
          key: result.key,
          mappingFile: mapping.file,
          source: result.source.origin,
          contentHash: hashContent(result.source.raw),
          at: Date.now(),
          ...extra,
        },
        { begin },
      );
      if (observed) {
        log.debug('ledger', `record ${result.key}: ${observed.record.state}`, { reason: observed.reason, send: observed.send, submission: observed.submission });
      }
      return observed;
    };
    let shown = 0;
    const showProblem = (text: string): void => {
      if (shown < maxDiagnostics && values.json !== true) {
        progress.clear();
        report(text);
      }
      shown++;
    };
    const progress = new SubmitProgress(io.stderr, io.stderr.isTTY === true && values.quiet !== true && values.json !== true && !log.enabled('info'));
    const summary = new SubmissionSummary();
    const started = performance.now();

    const allowInvalid = values['allow-invalid'] === true;
    const origins = new Map<string, ReceiptOrigin>();
    const ruleSpans = new Map(mapping.rules.map((rule) => [rule.id, rule.span]));
    async function* bundles(): AsyncGenerator<SubmissionItem> {
      for await (const result of run.results()) {
        counts.records++;
        runLog.record(result);
        if (result.skipped === true) {
          counts.skipped++;
          observe(result, { state: 'skipped' });
          continue;
        }
        if (!result.ok || !result.bundle) {
          counts.mappingFailed++;
          observe(result, { state: 'mapping-failed', checkOk: false, issues: ledgerIssues(log.redact, result.diagnostics) });
          showProblem(renderer.render(result.diagnostics.filter((d) => d.severity !== 'information')));
          continue;
        }
        counts.mapped++;
        const rules = (result.entryRules ?? []).map((id) => ruleSpans.get(id) ?? null);
        const described = ledger
          ? { ...(result.bundle.id !== undefined ? { bundleId: result.bundle.id } : {}), bundleHash: hashContent(result.bundle), rules, filled: filledAdsItems(result.bundle) }
          : {};
        let findings: readonly GateIssue[] = result.diagnostics;
        let checkOk: boolean | undefined;
        if (gate) {
          const verdict = await gate(result.bundle, result);
          findings = [...findings, ...verdict.issues];
          checkOk = verdict.ok;
          log.debug('check', `record ${result.key}: ${verdict.ok ? 'conforms' : 'fails the conformance check'}`, { errors: verdict.issues.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal').length, warnings: verdict.issues.filter((issue) => issue.severity === 'warning').length });
          if (!verdict.ok) {
            const issues = verdict.issues.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
            showProblem(`record ${result.key}: ${allowInvalid ? 'sent although it fails' : 'held back: it fails'} the conformance check\n${renderer.render(issues)}`);
            if (!allowInvalid) {
              counts.heldBack++;
              observe(result, { ...described, state: 'held-back', checkOk: false, issues: ledgerIssues(log.redact, findings) });
              continue;
            }
            counts.sentInvalid++;
          }
        }
        const observed = observe(result, { ...described, ...(checkOk !== undefined ? { checkOk } : {}), issues: ledgerIssues(log.redact, findings) }, true);
        if (observed && !observed.send) {
          counts.unchanged++;
          continue;
        }
        if (observed?.submission !== undefined) {
          intents.set(result.key, [...(intents.get(result.key) ?? []), observed.submission]);
        }
        progress.update(counts, summary);
        origins.set(result.key, { source: result.source.origin, mapping: mapping.file, rules });
        yield { key: result.key, bundle: result.bundle };
      }
      const accounting = run.fieldAccounting();
      if (accounting.length > 0) {
        report(renderer.render(accounting));
      }
    }

    const receipts = client ? new LazyFileWriter(resolve(io.cwd, values.receipts ?? 'dps-receipts.ndjson')) : undefined;
    const abort = new AbortController();
    const release = (dependencies.interrupted ?? defaultInterrupted)(() => abort.abort());
    try {
      if (client) {
        for await (const result of client.submitAll(bundles(), { concurrency, signal: abort.signal })) {
          summary.add(result);
          settle(log, ledger, intents, result);
          await receipts?.write(receiptLine(log.redact, result, origins.get(result.key)));
          origins.delete(result.key);
          if (result.failure) {
            showProblem(`record ${result.key}: not accepted\n${describeFailure(result.failure)}`);
          }
          progress.update(counts, summary);
        }
      } else {
        for await (const item of bundles()) {
          void item;
        }
      }
    } finally {
      release();
      progress.clear();
      await receipts?.close();
      await client?.close();
      ledger?.close();
    }

    runLog.done();
    const seconds = (performance.now() - started) / 1000;
    const totals = summary.toJSON();
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ dryRun, gate: gate !== undefined, ...counts, submission: totals, seconds: Number(seconds.toFixed(3)), receipts: receipts?.path ?? null, ledger: ledger?.path ?? null }, null, 2)}\n`);
    } else {
      if (shown > maxDiagnostics) {
        report(`… ${shown - maxDiagnostics} more problems not shown${receipts ? ` (see ${receipts.path})` : ''}.`);
      }
      const lines = [
        `records: ${counts.records} · mapped: ${counts.mapped} · mapping failed: ${counts.mappingFailed} · skipped: ${counts.skipped}`,
        gate ? `conformance check: ${counts.heldBack} held back${counts.sentInvalid > 0 ? `, ${counts.sentInvalid} sent although invalid (--allow-invalid)` : ''}` : 'conformance check: none wired in (bundles are sent unchecked)',
      ];
      if (dryRun) {
        lines.push(`dry run: ${counts.mapped - counts.heldBack} bundles would be sent; nothing was sent.`);
      } else {
        const rate = totals.submitted / Math.max(seconds, 0.001);
        lines.push(
          `submitted: ${totals.submitted} · accepted: ${totals.accepted} · failed: ${totals.failed} · duplicates: ${totals.duplicates} · retries: ${totals.retries} · token refreshes: ${totals.tokenRefreshes} · ${seconds.toFixed(1)} s (${rate.toFixed(1)}/s)`,
        );
        for (const [code, count] of Object.entries(totals.failuresByCode)) {
          lines.push(`  ${code}: ${count}`);
        }
        if (totals.duplicates > 0) {
          lines.push(`  duplicates: ${totals.duplicates} bundle(s) were re-sent after a connection broke mid-request, so DPS may hold them twice; it keeps the latest submission of a call.`);
        }
        if (receipts && receipts.written > 0) {
          lines.push(`receipts: ${receipts.path}`);
        }
        if (ledger) {
          lines.push(`ledger: ${ledger.path}${counts.unchanged > 0 ? ` · ${counts.unchanged} already accepted with the same content, not sent again` : ''}`);
        }
        if (abort.signal.aborted) {
          lines.push('interrupted: bundles not yet accepted were not sent.');
        }
      }
      report(lines.join('\n'));
    }
    if (totals.failed > 0) {
      return exitCodes.transport;
    }
    return counts.mappingFailed > 0 || counts.heldBack > 0 ? exitCodes.dataErrors : exitCodes.ok;
  };
}

/**
 * The default gate: @cadmap/conformance with the packages of --package / CADMAP_PACKAGES, findings linked to
 * the YAML rule and source cell. Without loadable packages (no UK Core), submitting stops: sending unchecked
 * bundles must be asked for with --no-check.
 */
function conformanceGate(io: CliIo, mapping: Mapping, flags: CheckerFlags, report: (text: string) => void): SubmitGate {
  const { checker, profiles, packages } = checkerFromFlags(io, flags);
  if (packages.length === 0) {
    throw new UsageError('No conformance packages: pass --package (./profiles and UK Core) or set CADMAP_PACKAGES; --no-check sends without checking.');
  }
  if (checker.loadIssues.length > 0) {
    report(checker.loadIssues.map((issue) => `${issue.code}: ${issue.message}`).join('\n'));
    throw new UsageError(`The conformance packages could not be loaded (${packages.join(', ') || 'none given'}). Pass --package (UK Core and ./profiles) or set CADMAP_PACKAGES; --no-check sends without checking.`);
  }
  return (_bundle, record) => {
    const issues = checkMapped(checker, mapping, record, profiles);
    return { ok: !hasErrors(issues), issues };
  };
}

/** `cadmap submit`: map, check against the conformance packages, submit. */
export const submitCommand = createSubmitCommand();

/** One progress line on a TTY; silent otherwise. */
class SubmitProgress {
  private last = 0;
  private readonly started = performance.now();
  constructor(
    private readonly stream: CliIo['stderr'],
    private readonly enabled: boolean,
  ) {}

  update(counts: RunCounts, summary: SubmissionSummary): void {
    const now = performance.now();
    if (!this.enabled || now - this.last < 100) {
      return;
    }
    this.last = now;
    const rate = summary.submitted / Math.max(0.001, (now - this.started) / 1000);
    this.stream.write(`\r\u001b[2Ksubmitting… ${counts.mapped} mapped, ${summary.accepted} accepted, ${summary.failed} failed, ${summary.retries} retries, ${rate.toFixed(1)}/s`);
  }

  clear(): void {
    if (this.enabled) {
      this.stream.write('\r\u001b[2K');
    }
  }
}
