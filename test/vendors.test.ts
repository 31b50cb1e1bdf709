import { existsSync, readdirSync } from 'node:fs';
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

describe('cadmap demo', () => {
  it('maps every sample vendor into NDJSON bundles', () => {
    const out = join(projectRoot, 'node_modules/.cache/cadmap-demo-test');
    const { code, stderr } = runCli(['demo', '--out', out, '--no-color']);
    for (const vendor of vendors) {
      expect(stderr).toContain(`== ${vendor}`);
      expect(existsSync(join(out, `${vendor}.ndjson`))).toBe(true);
    }
    expect(stderr).toMatch(/Done\. Bundles are in/);
    expect([0, 1]).toContain(code);
  });
});
