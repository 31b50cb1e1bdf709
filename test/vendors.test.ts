import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree, projectRoot } from './support/fixtures.js';
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

    it('lints clean against its sample export: every field it reads occurs in the sample', () => {
      const { code, stderr } = runCli(['lint', join('mappings', vendor, 'mapping.yaml'), join('mappings', vendor, 'sample'), '--no-color']);
      expect(stderr).toMatch(/^\S+: ok\n$/);
      expect(code).toBe(0);
    });
  });
});

describe('a misspelt field in a sample vendor mapping', () => {
  /** The vendor's mapping with one edit, in a copy of the mappings folder layout (what it imports and its lookups). */
  function misspelt(vendor: string, from: string, to: string, extra = ''): { dir: string; file: string } {
    const text = readFileSync(join(mappingsDir, vendor, 'mapping.yaml'), 'utf8');
    expect(text).toContain(from);
    const lookups = join(mappingsDir, vendor, 'lookups');
    const copies = Object.fromEntries((existsSync(lookups) ? readdirSync(lookups) : []).map((name) => [`${vendor}/lookups/${name}`, readFileSync(join(lookups, name))]));
    const root = fixtureTree({
      '.cadmap-root': '',
      'common/ads.yaml': readFileSync(join(mappingsDir, 'common/ads.yaml')),
      [`${vendor}/mapping.yaml`]: `${text.replaceAll(from, to)}${extra}`,
      ...copies,
    });
    const dir = join(root, vendor);
    return { dir, file: join(dir, 'mapping.yaml') };
  }

  it.each([
    ['beacon-ndjson', 'flags.aqi.', 'flags.aqii.', 'flags.aqii', 'Did you mean flags.aqi\\?'],
    ['harbour-xml', 'Aqi.ResponseTime', 'Aqi.ResponseTme', 'Aqi.ResponseTme', 'Did you mean Aqi.ResponseTime\\?'],
  ])('%s: lint and map name the path the records never have, with what they do have', (vendor, from, to, path, hint) => {
    const { file } = misspelt(vendor, from, to);
    const sample = join(mappingsDir, vendor, 'sample');
    const lint = runCli(['lint', file, sample, '--no-color']);
    expect(lint.stderr).toContain(`warning MAP_FIELD_NEVER_PRESENT: '=${to}`);
    expect(lint.stderr).toContain(`reads ${path}, but none of the 64 records read had a value there.`);
    expect(lint.stderr).toMatch(new RegExp(hint));
    expect(lint.stderr).toMatch(/: ok \(\d+ warnings\)\n$/);
    const map = runCli(['map', '-m', file, sample, '-o', join(fixtureTree({}), 'out.ndjson'), '--no-color']);
    expect(map.code).toBe(0);
    expect(map.stderr).toContain(`reads ${path}, but none of the 64 records read had a value there.`);
    expect(map.stderr).toMatch(/\d+ × warning\s+MAP_FIELD_NEVER_PRESENT/);
  });

  it('fails the run (exit 2) when the mapping declares checks.fieldNeverPresent: error', () => {
    const { file } = misspelt('beacon-ndjson', 'flags.aqi.', 'flags.aqii.', '\nchecks: { fieldNeverPresent: error }\n');
    const map = runCli(['map', '-m', file, join(mappingsDir, 'beacon-ndjson', 'sample'), '-o', join(fixtureTree({}), 'out.ndjson'), '--no-color']);
    expect(map.stderr).toContain("error MAP_FIELD_NEVER_PRESENT: '=flags.aqii.exists()' reads flags.aqii");
    expect(map.code).toBe(2);
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
