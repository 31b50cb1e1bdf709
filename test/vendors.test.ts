import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './support/fixtures.js';
import { runCli } from './support/cli.js';

/**
 * The golden cases of every sample vendor, run by the real `cadmap test` in a child process under three
 * process time zones: output must not depend on the machine's zone (source.timeZone decides).
 */
const mappingsDir = join(projectRoot, 'mappings');
const vendors = readdirSync(mappingsDir).filter((name) => existsSync(join(mappingsDir, name, 'tests')));
const zones = ['UTC', 'Europe/London', 'America/New_York'];

describe('sample vendors', () => {
  it('has the three ADS sample vendors and the CQI sample, each with golden cases', () => {
    expect(vendors.sort()).toEqual(['beacon-ndjson', 'harbour-xml', 'northwind-csv', 'pathways-cqi']);
  });

  describe.each(vendors)('%s', (vendor) => {
    it.each(zones)('golden cases pass under TZ=%s', (zone) => {
      const { code, stdout, stderr } = runCli(['test', join('mappings', vendor), '--no-color'], { env: { TZ: zone } });
      expect(`${stdout}${stderr}`).toMatch(/\d+ passed, 0 failed/);
      expect(code).toBe(0);
    });

    it('lints clean against its sample export', () => {
      const { code, stderr } = runCli(['lint', join('mappings', vendor, 'mapping.yaml'), join('mappings', vendor, 'sample'), '--no-color']);
      expect(stderr).toMatch(/: ok/);
      expect(code).toBe(0);
    });
  });
});

describe('cadmap demo (npm run demo: scripts/demo.mjs in a child process)', () => {
  it('maps every sample vendor, submits to the local DPS sandbox with the ledger, reconciles MESH errors and writes the report', () => {
    const out = join(projectRoot, 'node_modules/.cache/cadmap-demo-test');
    const result = spawnSync(process.execPath, [join(projectRoot, 'scripts/demo.mjs'), '--out', out, '--no-color'], { cwd: projectRoot, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
    const { stderr } = result;
    for (const vendor of vendors) {
      expect(stderr).toContain(`== ${vendor}`);
      expect(existsSync(join(out, `${vendor}.ndjson`))).toBe(true);
    }
    expect(stderr).toMatch(/== local DPS and MESH sandboxes\nDPS sandbox: https:\/\/127\.0\.0\.1:\d+\/ambulance-data-submission/);
    for (const vendor of vendors.filter((name) => name !== 'pathways-cqi')) {
      expect(stderr).toMatch(new RegExp(`== submitting ${vendor} to the DPS sandbox[\\s\\S]*?submitted: \\d+ · accepted: \\d+ · failed: 0`));
    }
    const polled = /polling MESH for DPS error notifications \((\d+) waiting[\s\S]*?DPS errors: (\d+) · reconciled to their source row and mapping rule: (\d+) · unmatched: 0\nlinked into the ledger: (\d+)/.exec(stderr);
    expect(polled, stderr).not.toBeNull();
    const [, waiting, errors, reconciled, linked] = polled!.map(Number);
    expect(waiting).toBeGreaterThan(0);
    expect([errors, reconciled, linked]).toEqual([waiting, waiting, waiting]);
    expect(stderr).toContain(`report: ${join(out, 'cadmap-report.html')}`);
    const report = readFileSync(join(out, 'cadmap-report.html'), 'utf8');
    expect(report).toMatch(/<svg class="chart fill-chart"/);
    expect(report).toContain('DPS (MESH)');
    expect(stderr).toMatch(/Done\. Bundles are in/);
    expect([0, 1]).toContain(result.status);
  });
});
