import { resolve } from 'node:path';
import { checkerOptions } from '../checking.js';
import { exitCodes, UsageError, type CliIo } from '../io.js';
import { openExistingLedger } from './status.js';
import { createSubmitCommand, type SubmitDependencies } from './submit.js';

export const resubmitHelp = `cadmap resubmit --failed [--rejected] [--ledger <file>] [submit options…]

Sends again the records the ledger holds as failed (and with --rejected, those DPS reported in error over
MESH): marks them for resending, then runs 'cadmap submit' again on the mapping and inputs of the latest run
of each mapping concerned. Records already accepted with the same content are not sent twice; records the
ledger holds as never acknowledged (a crash) are sent too.
Other options (--config, --package, --no-check, --concurrency, --json, …) are passed to 'cadmap submit'.
      --ledger <file>   the ledger (default ./cadmap-ledger.sqlite)
Exit codes: as 'cadmap submit' (0 when there is nothing to resend).`;

/** Options of `cadmap submit` that take a value (passed through with it). */
const valued = new Set(['--config', '-c', '--concurrency', '--receipts', '--max-diagnostics', ...Object.entries(checkerOptions).filter(([, option]) => option.type === 'string').map(([name]) => `--${name}`)]);

/** Makes `cadmap resubmit`; the submit dependencies (gate, signals) are those of `cadmap submit`. */
export function createResubmitCommand(dependencies: SubmitDependencies = {}): (io: CliIo, argv: readonly string[]) => Promise<number> {
  return async (io, argv) => {
    const forwarded: string[] = [];
    let failed = false;
    let rejected = false;
    let ledgerFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '--failed') {
        failed = true;
      } else if (arg === '--rejected') {
        rejected = true;
      } else if (arg === '--ledger') {
        ledgerFile = argv[++i];
        if (ledgerFile === undefined) {
          throw new UsageError('--ledger takes a file.');
        }
      } else if (arg.startsWith('--ledger=')) {
        ledgerFile = arg.slice('--ledger='.length);
      } else if (arg === '--mapping' || arg === '-m' || !arg.startsWith('-')) {
        throw new UsageError(`resubmit takes the mapping and inputs from the ledger's latest run; '${arg}' is not accepted here.`);
      } else {
        forwarded.push(arg);
        if (valued.has(arg)) {
          const value = argv[++i];
          if (value === undefined) {
            throw new UsageError(`${arg} takes a value.`);
          }
          forwarded.push(value);
        }
      }
    }
    if (!failed && !rejected) {
      throw new UsageError('Say what to resend: --failed (and/or --rejected).');
    }
    const ledger = openExistingLedger(io, ledgerFile);
    const path = ledger.path;
    let runs;
    let requeued = 0;
    try {
      const states = [...(failed ? (['failed'] as const) : []), ...(rejected ? (['rejected'] as const) : [])];
      const concerned = new Set<string>();
      for (const state of states) {
        for (const record of ledger.records({ state })) {
          concerned.add(`${record.target}\u0000${record.mapping}`);
        }
        requeued += ledger.requeue({ state });
      }
      runs = ledger.latestRuns().filter((run) => concerned.has(`${run.target}\u0000${run.mapping}`));
    } finally {
      ledger.close();
    }
    if (requeued === 0) {
      io.stderr.write(`Nothing to resend: no ${[failed && 'failed', rejected && 'rejected'].filter(Boolean).join(' or ')} records in ${path}.\n`);
      return exitCodes.ok;
    }
    if (runs.length === 0) {
      io.stderr.write(`${requeued} record(s) marked for resending, but the ledger has no run to read them from; rerun 'cadmap submit' with their export and --ledger ${path}.\n`);
      return exitCodes.dataErrors;
    }
    io.stderr.write(`${requeued} record(s) marked for resending; submitting again from ${runs.length} run(s).\n`);
    const submit = createSubmitCommand(dependencies);
    let worst: number = exitCodes.ok;
    for (const run of runs) {
      io.stderr.write(`\n== ${run.mapping} → ${run.target} (${run.inputs.length} input(s) of ${new Date(run.startedAt).toISOString()})\n`);
      const code = await submit(io, ['--mapping', run.mappingFile, ...run.inputs.map((input) => resolve(io.cwd, input)), '--ledger', path, ...forwarded]);
      worst = Math.max(worst, code);
    }
    return worst;
  };
}

/** `cadmap resubmit --failed`. */
export const resubmitCommand = createResubmitCommand();
