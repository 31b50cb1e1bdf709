/**
 * The ledger's promise, measured: a 2,000-record submit to the DPS sandbox is killed (SIGKILL) at random moments
 * 20 times and rerun each time. Nothing may be lost, a call may reach the sandbox twice only where an answer was
 * lost after acceptance (the sandbox drops some answers on purpose, the kills drop others), and the ledger must
 * agree with the sandbox at the end. The sandbox runs in this process; the submitter is a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openLedger } from '@cadmap/ledger';
import { seededRandom, startDpsSandbox, type DpsSandbox } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, writeSyntheticExport } from './support/sample-data/generate.js';

const records = 2000;
const kills = 20;
const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const mapping = join(repoRoot, 'mappings/northwind-csv/mapping.yaml');

describe('crash-safe submit (kill -9 twenty times during a 2,000-record submit)', () => {
  let sandbox: DpsSandbox;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cadmap-crash-'));
    writeSyntheticExport('northwind-csv', join(dir, 'export'), records, 7);
    sandbox = await startDpsSandbox({ keyBits: 2048, faults: { rates: { 'lost-after-accept': 0.01, 'server-error': 0.005 }, seed: 11 } });
    writeFileSync(join(dir, 'key.pem'), sandbox.privateKeyPem);
    writeFileSync(join(dir, 'ca.pem'), sandbox.ca);
    writeFileSync(
      join(dir, 'cadmap.config.yaml'),
      `dps:\n  baseUrl: ${sandbox.url}\n  tokenUrl: ${sandbox.tokenUrl}\n  apiKey: ${sandbox.apiKey}\n  kid: ${sandbox.kid}\n  privateKeyFile: key.pem\n  caFile: ca.pem\n  rateLimit: false\n`,
    );
  });
  afterAll(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const submit = (): ChildProcess =>
    spawn(process.execPath, [bin, 'submit', '-m', mapping, join(dir, 'export'), '--no-check', '--config', 'cadmap.config.yaml', '--ledger', 'ledger.sqlite', '--concurrency', '8', '--quiet', '--json'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

  it(
    'loses nothing, duplicates only where an answer was lost, and ends with the ledger equal to the sandbox',
    async () => {
      const random = seededRandom(2026);
      let killed = 0;
      let finishedEarly = 0;
      for (let run = 0; run < kills; run++) {
        const child = submit();
        const before = sandbox.accepted().submissions.length;
        const done = exited(child);
        if (run % 2 === 0) {
          // a random moment: during start-up, mapping or sending
          await Promise.race([delay(50 + Math.floor(random() * 1500)), done]);
        } else {
          // a random moment while bundles are in flight
          const target = before + 1 + Math.floor(random() * 120);
          while (child.exitCode === null && sandbox.accepted().submissions.length < target) {
            await delay(2);
          }
          await delay(Math.floor(random() * 5));
        }
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          killed++;
        } else {
          finishedEarly++;
        }
        await done;
      }
      const last = submit();
      let output = '';
      last.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      expect(await exited(last)).toBe(0);
      expect(JSON.parse(output)).toMatchObject({ records, mappingFailed: 0, submission: { failed: 0 } });
      expect(killed).toBeGreaterThanOrEqual(kills - 2);

      const state = sandbox.accepted();
      const ledger = openLedger(join(dir, 'ledger.sqlite'));
      try {
        // 0 records lost: every record accepted in the ledger and held by the sandbox
        expect(ledger.counts()).toMatchObject({ accepted: records, sending: 0, pending: 0, failed: 0 });
        expect(state.latestByCall.size).toBe(records);
        expect(ledger.openSubmissions()).toEqual([]);

        // the ledger equals the sandbox: the receipt the ledger holds is the sandbox's latest for that call
        const latestByBundle = new Map([...state.latestByCall.values()].map((s) => [s.bundleId, s]));
        const inLedger = ledger.records();
        expect(inLedger).toHaveLength(records);
        for (const record of inLedger) {
          expect(latestByBundle.get(record.bundleId)?.receipt, `record ${record.key}`).toBe(record.receipt);
        }

        // duplicates only where an answer was lost: an acceptance whose receipt the ledger never heard of
        const known = new Set(ledger.history({}).flatMap((h) => h.submissions.flatMap((s) => [s.receipt, ...s.attempts.map((a) => a.receipt)])));
        const lost = state.submissions.filter((s) => !known.has(s.receipt));
        const latest = new Set([...state.latestByCall.values()].map((s) => s.receipt));
        for (const submission of state.submissions) {
          if (!latest.has(submission.receipt)) {
            expect(known.has(submission.receipt), `an earlier acceptance of ${submission.callKey} whose answer the ledger recorded was sent again`).toBe(false);
          }
        }
        const duplicates = state.submissions.length - state.latestByCall.size;
        const lostByFault = sandbox.requests().filter((r) => r.outcome === 'lost-after-accept').length;
        // each lost answer made the next run send that call again, and nothing else did
        expect(duplicates).toBe(lost.length);
        expect(lostByFault).toBeGreaterThan(0);
        const abandoned = ledger.history({}).flatMap((h) => h.submissions).filter((s) => s.outcome === 'abandoned').length;
        console.log(
          `crash test: ${killed} kills (${finishedEarly} runs ended before their kill), ${state.submissions.length} acceptances for ${records} calls: ${duplicates} duplicates, ` +
            `${lost.length} answers lost after acceptance (${lostByFault} dropped by the sandbox, ${lost.length - lostByFault} by kills), ${abandoned} intents abandoned by kills`,
        );
      } finally {
        ledger.close();
      }
    },
    240_000,
  );
});
