import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashContent, openLedger, type Ledger, type RecordObservation } from '@cadmap/ledger';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { reportCommand } from './report.js';
import { statusCommand } from './status.js';
import { chromiumArgs, itInChromium, requireChromium } from '../../../../test/support/chromium.js';
import { scratchDirectory } from '../../../../test/support/fixtures.js';

const target = 'https://127.0.0.1:9/ambulance-data-submission';
const callRule = { file: 'mappings/acme/mapping.yaml', line: 40, column: 5, ruleId: 'call' };
const patientRule = { file: 'mappings/acme/mapping.yaml', line: 90, column: 5, ruleId: 'patient' };

function captureIo(cwd: string): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return { cwd, env: {}, stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, out: () => out, err: () => err };
}

/** A ledger as a night's run leaves it: accepted, rejected over MESH, failed, held back and unmappable records. */
function fillLedger(ledger: Ledger): void {
  const base = (mapping: string, key: string, row: number, extra: Partial<RecordObservation> = {}): RecordObservation => ({
    target,
    mapping,
    key,
    mappingFile: `mappings/${mapping}/mapping.yaml`,
    source: { file: `${mapping}-calls.csv`, row, line: row + 1, recordKey: key },
    contentHash: hashContent(`${mapping}/${key}`),
    bundleId: `bundle-${mapping}-${key}`,
    bundleHash: hashContent(`bundle ${mapping}/${key}`),
    rules: [callRule, null, patientRule],
    filled: row % 2 === 0 ? ['ADS0', 'ADS1', 'ADS3', 'ADS10', 'PATIENT'] : ['ADS0', 'ADS1', 'ADS3'],
    checkOk: true,
    at: 1_700_000_000_000,
    ...extra,
  });
  for (let row = 1; row <= 40; row++) {
    const { record } = ledger.observe(base('acme-csv', `A${row}`, row));
    const submission = ledger.beginSubmission(record.id, 1_700_000_000_100);
    if (row === 7) {
      ledger.finishSubmission(submission, { outcome: 'failed', at: 1_700_000_000_200, failureCode: 'DPS_UNAVAILABLE', failureMessage: 'DPS answered 503', attempts: [{ startedAt: 1_700_000_000_100, status: 503, code: 'DPS_UNAVAILABLE', requestId: 'req-7' }] });
    } else {
      ledger.finishSubmission(submission, { outcome: 'accepted', at: 1_700_000_000_200, receipt: `receipt-${row}`, attempts: [{ startedAt: 1_700_000_000_100, status: 200, receipt: `receipt-${row}`, requestId: `req-${row}` }] });
    }
  }
  for (const row of [3, 11]) {
    ledger.linkMeshError({ notificationId: `mesh-${row}`, index: 1, code: 'BUSINESS_RULE', message: 'Patient failed DPS business validation', location: 'Bundle.entry[2].resource', receipt: `receipt-${row}`, receivedAt: 1_700_000_001_000 });
  }
  for (const row of [41, 42, 43]) {
    ledger.observe(
      base('acme-csv', `A${row}`, row, {
        state: 'mapping-failed',
        checkOk: false,
        issues: [{ code: 'MAP_DATE_UNPARSEABLE', severity: 'error', message: `'31/02/2024 25:00' matches no date format`, rule: callRule, input: { file: 'acme-calls.csv', row, field: 'CallConnected' } }],
      }),
    );
  }
  ledger.observe(base('acme-csv', 'A44', 44, { state: 'held-back', checkOk: false, issues: [{ code: 'CONF_CARDINALITY', severity: 'error', message: 'Patient.gender: too many values', rule: patientRule, input: { file: 'acme-calls.csv', row: 44, field: 'Sex' } }] }));
  for (let row = 1; row <= 10; row++) {
    const { record } = ledger.observe(base('harbour-xml', `H${row}`, row));
    ledger.finishSubmission(ledger.beginSubmission(record.id, 1), { outcome: 'accepted', at: 2, receipt: `h-receipt-${row}` });
  }
  ledger.linkMeshError({ notificationId: 'mesh-unknown', index: 1, message: 'an error for a submission nobody knows', receipt: 'not-ours', receivedAt: 3 });
}

describe('cadmap status and cadmap report', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cadmap-report-'));
    const ledger = openLedger(join(dir, 'cadmap-ledger.sqlite'));
    try {
      fillLedger(ledger);
    } finally {
      ledger.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('status counts records by state and shows one record with its attempts and DPS errors', async () => {
    const io = captureIo(dir);
    expect(await statusCommand(io, [])).toBe(1);
    expect(io.out()).toMatch(/54 records/);
    expect(io.out()).toMatch(/acme-csv → https:\/\/127\.0\.0\.1:9\/ambulance-data-submission\n\s+mapping-failed: 3 · held-back: 1 · accepted: 37 · failed: 1 · rejected: 2/);
    expect(io.out()).toMatch(/1 failed: 'cadmap resubmit --failed' sends them again/);

    const one = captureIo(dir);
    await statusCommand(one, ['--record', 'A3']);
    expect(one.out()).toMatch(/record A3 · rejected/);
    expect(one.out()).toMatch(/attempt .* request req-3 → 200 receipt receipt-3/);
    expect(one.out()).toMatch(/DPS error \(MESH mesh-3 #1\): BUSINESS_RULE: Patient failed DPS business validation at Bundle\.entry\[2\]\.resource · rule patient mappings\/acme\/mapping\.yaml:90:5/);

    const json = captureIo(dir);
    await statusCommand(json, ['--json']);
    expect(JSON.parse(json.out())).toMatchObject({ records: 54, counts: { accepted: 47, rejected: 2, failed: 1 }, meshErrors: 3, schemaVersion: 2 });
    await expect(statusCommand(captureIo(dir), ['--ledger', 'missing.sqlite'])).rejects.toThrow(/No ledger at/);
  });

  itInChromium('writes a self-contained HTML report that reads right in Chromium', async () => {
    const executablePath = requireChromium();
    const io = captureIo(dir);
    expect(await reportCommand(io, ['--out', 'report.html', '--title', 'Night of 3 March'])).toBe(0);
    const file = join(dir, 'report.html');
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)[^"'\s<]*\.(css|js|png|svg|woff)/);

    const context = await chromium.launchPersistentContext(scratchDirectory('cadmap-chromium-'), {
      executablePath,
      headless: true,
      args: ['--headless', ...chromiumArgs],
      viewport: { width: 1200, height: 1000 },
      offline: true,
    });
    try {
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(`file://${file}`);
      expect(await page.title()).toBe('Night of 3 March');
      const acme = page.locator('section.mapping').filter({ has: page.locator('h2', { hasText: 'acme-csv' }) });
      await expect(acme.locator('.summary').innerText()).resolves.toMatch(/44\s+records\s+37\s+accepted\s+2\s+rejected by DPS \(MESH\)\s+1\s+not acknowledged\s+4\s+not sent/);

      // the fill chart: one bar per ADS item, with the share a person reads off it
      const fill = acme.locator('svg.fill-chart');
      await expect(fill.isVisible()).resolves.toBe(true);
      const fillText = await fill.textContent();
      expect(fillText).toContain('ADS3 Call identifier');
      expect(fillText).toMatch(/ADS3 Call identifier100%/);
      expect(fillText).toMatch(/PATIENT Patient contact51\.2%/);
      const box = await fill.boundingBox();
      expect(box!.width).toBeGreaterThan(400);
      expect(box!.height).toBeGreaterThan(300);
      await expect(acme.locator('svg.state-chart rect.state-accepted').count()).resolves.toBe(1);

      // errors grouped by rule and column, each linking to its rows
      const errors = acme.locator('table.errors tbody tr');
      await expect(errors.count()).resolves.toBe(3);
      const dateRow = errors.filter({ hasText: 'CallConnected' });
      await expect(dateRow.innerText()).resolves.toMatch(/call\s+mappings\/acme\/mapping\.yaml:40:5\s+CallConnected\s+MAP_DATE_UNPARSEABLE/);
      await expect(dateRow.locator('a').allInnerTexts()).resolves.toEqual(['row 41', 'row 42', 'row 43']);
      await dateRow.locator('a', { hasText: 'row 42' }).click();
      const targetRow = page.locator('tr:target');
      await expect(targetRow.innerText()).resolves.toMatch(/A42\s+mapping-failed\s+acme-csv-calls\.csv row 42/);
      await expect(errors.filter({ hasText: 'Bundle.entry[2].resource' }).innerText()).resolves.toMatch(/patient[\s\S]*BUSINESS_RULE[\s\S]*DPS \(MESH\)\s+2/);

      await expect(page.locator('section.mapping', { hasText: 'DPS errors matching no record' }).innerText()).resolves.toMatch(/an error for a submission nobody knows/);
      const harbour = page.locator('section.mapping').filter({ has: page.locator('h2', { hasText: 'harbour-xml' }) });
      await expect(harbour.innerText()).resolves.toMatch(/Every record was accepted without errors/);

      const screenshot = join(tmpdir(), `cadmap-report-${process.pid}.png`);
      await page.goto(`file://${file}`);
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(statSync(screenshot).size).toBeGreaterThan(30_000);
      rmSync(screenshot);
      expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
    } finally {
      await context.close();
    }
  });

});
