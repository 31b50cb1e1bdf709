import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderReport, reportData } from '../report-html.js';
import { exitCodes, type CliIo } from '../io.js';
import { loggerOf } from '../log.js';
import { openExistingLedger } from './status.js';

export const reportHelp = `cadmap report [--ledger <file>] [--out <file.html>] [--title <text>]

Writes a static HTML report from the submission ledger: one file, no scripts and nothing fetched from the
network, to open in any browser or attach to an email. Per vendor mapping: which ADS items are filled in what
share of calls, errors grouped by mapping rule and source column with links to the rows, and the submission
and reconciliation (DPS errors over MESH) states, with charts.
Options:
      --ledger <file>   the ledger (default ./cadmap-ledger.sqlite)
      --out <file>      where to write (default ./cadmap-report.html)
      --title <text>    the report's title`;

/** `cadmap report`. */
export function reportCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  return new Promise((done) => done(writeReport(io, argv)));
}

function writeReport(io: CliIo, argv: readonly string[]): number {
  const { values } = parseArgs({ args: [...argv], options: { ledger: { type: 'string' }, out: { type: 'string' }, title: { type: 'string' } } });
  const ledger = openExistingLedger(io, values.ledger);
  let html: string;
  try {
    html = renderReport(reportData(ledger, values.title !== undefined ? { title: values.title } : {}));
  } finally {
    ledger.close();
  }
  const out = resolve(io.cwd, values.out ?? 'cadmap-report.html');
  mkdirSync(dirname(out), { recursive: true });
  // A page meant for people: redacted like everything else the CLI shows.
  writeFileSync(out, loggerOf(io).redact(html), { mode: 0o600 });
  io.stderr.write(`report: ${out}\n`);
  return exitCodes.ok;
}
