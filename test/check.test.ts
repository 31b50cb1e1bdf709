import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { projectRoot, scratchDirectory } from './support/fixtures.js';
import { hasReference, referenceDir } from './support/reference.js';

/** Mapping and checking in one pass, and `cadmap check` on files, against R4 + UK Core STU2 + the ADS profiles. */
const ukCore = join(referenceDir, 'ukcore/json');
const packages = ['--package', join(projectRoot, 'profiles'), '--package', join(ukCore, 'structuredefinitions'), '--package', join(ukCore, 'valuesets'), '--package', join(ukCore, 'codesystems')];
const vendors = ['northwind-csv', 'harbour-xml', 'beacon-ndjson'];

describe.skipIf(!hasReference)('cadmap map --check', () => {
  it.each(vendors)('%s: every sample bundle checks clean against the ADS profiles on top of UK Core', (vendor) => {
    const out = join(scratchDirectory('cadmap-check-'), 'out.ndjson');
    const { code, stderr } = runCli(['map', '-m', `mappings/${vendor}/mapping.yaml`, `mappings/${vendor}/sample`, '--check', ...packages, '-o', out]);
    expect(stderr).toMatch(/64 records: 64 mapped \(\d+ entries\), 0 failed/);
    expect(stderr).not.toMatch(/× (error|fatal)\s+CONF_/);
    expect(code).toBe(0);
  });

  it('reports a deliberately broken row with its YAML line and its CSV cell, and dead-letters it', () => {
    const dir = scratchDirectory('cadmap-broken-');
    cpSync(join(projectRoot, 'mappings'), join(dir, 'mappings'), { recursive: true });
    // A vendor whose export already carries FHIR gender codes, mapped straight through; one row has a typo.
    const mappingFile = join(dir, 'mappings/northwind-csv/mapping.yaml');
    const mapping = readFileSync(mappingFile, 'utf8');
    const line = mapping.split('\n').findIndex((l) => l.includes("gender: =Gender.translate('northwindGender')")) + 1;
    writeFileSync(mappingFile, mapping.replace("gender: =Gender.translate('northwindGender')", 'gender: =Gender'));
    const patientsFile = join(dir, 'mappings/northwind-csv/sample/NWCAD_2024_patients.csv');
    const fhirCodes: Record<string, string> = { Male: 'male', Female: 'female', Indeterminate: 'other', 'Not Known': 'unknown' };
    const rows = readFileSync(patientsFile, 'latin1').split('\r\n').map((row, index) => {
      const cells = row.split(',');
      if (index > 0 && cells.length > 4) {
        cells[4] = cells[0] === '24000140' && cells[1] === '1' ? 'mael' : (fhirCodes[cells[4]!] ?? cells[4]!);
      }
      return cells.join(',');
    });
    writeFileSync(patientsFile, rows.join('\r\n'), 'latin1');
    const brokenRow = rows.findIndex((row) => row.startsWith('24000140,1,')) + 1;

    const { code, stderr } = runCli(['map', '-m', mappingFile, join(dir, 'mappings/northwind-csv/sample'), '--check', ...packages, '-o', join(dir, 'out.ndjson'), '--no-color'], { cwd: dir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/error CONF_BINDING: mael is not in the required value set/);
    expect(stderr).toContain(`--> mappings/northwind-csv/mapping.yaml:${line}:16 (rule 'patient', resources[2].template.gender)`);
    expect(stderr).toContain(`--> mappings/northwind-csv/sample/NWCAD_2024_patients.csv:${brokenRow} (table patients, row ${brokenRow - 1}, column 5 'Gender', record 24000140)`);
    expect(stderr).toMatch(/= element: Bundle\.entry\[\d+\]\.resource\.gender/);
    expect(stderr).toMatch(/64 records: 63 mapped .*, 1 failed/);
    const dead = readFileSync(join(dir, 'out.ndjson.dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dead.map((d) => d.key)).toEqual(['24000140']);
    expect(dead[0].diagnostics.find((d: { code: string }) => d.code === 'CONF_BINDING').input).toMatchObject({ field: 'Gender', table: 'patients', row: brokenRow - 1 });
  });

  it('points a finding about a missing element at the template rule that should build it', () => {
    const dir = scratchDirectory('cadmap-missing-');
    cpSync(join(projectRoot, 'mappings'), join(dir, 'mappings'), { recursive: true });
    const mappingFile = join(dir, 'mappings/northwind-csv/mapping.yaml');
    const mapping = readFileSync(mappingFile, 'utf8');
    // Without the stop-code fallback, calls closed by a stop code have no ADS33 category (1..1 in the profile).
    writeFileSync(mappingFile, mapping.replace("        - $when: =TreatmentType.empty() and StopCode.exists()\n          coding:\n            - ='closed-no-response'.coding('adsTreatmentType')\n", ''));
    // the span is the sequence under `category:` (its first item), one line below the key
    const categoryLine = mapping.split('\n').findIndex((l) => l.trim() === 'category:') + 2;
    const { code, stderr } = runCli(['map', '-m', mappingFile, join(dir, 'mappings/northwind-csv/sample'), '--check', ...packages, '-o', join(dir, 'out.ndjson'), '--no-color'], { cwd: dir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/error CONF_CARDINALITY: /);
    expect(stderr).toContain(`--> mappings/northwind-csv/mapping.yaml:${categoryLine}:`);
    expect(stderr).toMatch(/= element: Bundle\.entry\[0\]\.resource\.category/);
  });
});

describe.skipIf(!hasReference)('cadmap check', () => {
  function mapped(): string {
    const dir = scratchDirectory('cadmap-files-');
    runCli(['map', '-m', 'mappings/beacon-ndjson/mapping.yaml', 'mappings/beacon-ndjson/sample', '--out-dir', join(dir, 'bundles')]);
    return dir;
  }

  it('checks bundle files and NDJSON; text, JSON (OperationOutcome) and SARIF outputs', () => {
    const dir = mapped();
    const bundleFile = join(dir, 'bundles/BCN-24000139.json');
    const clean = runCli(['check', bundleFile, ...packages]);
    expect(clean.stderr).toMatch(/1 resource checked: 0 errors/);
    expect(clean.code).toBe(0);

    const bundle = JSON.parse(readFileSync(bundleFile, 'utf8'));
    bundle.entry[0].resource.status = 'sent-ish';
    delete bundle.entry[1].fullUrl;
    writeFileSync(join(dir, 'broken.ndjson'), `${JSON.stringify(bundle)}\n{not json\n`);
    const broken = runCli(['check', join(dir, 'broken.ndjson'), ...packages, '--no-color']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/error CONF_BINDING: [^\n]*sent-ish/);
    expect(broken.stdout).toMatch(/= element: Bundle\.entry\[0\]\.resource\.status/);
    expect(broken.stdout).toMatch(/error CONF_INPUT: [^\n]*broken\.ndjson:2 is not valid JSON/);

    const json = JSON.parse(runCli(['check', join(dir, 'broken.ndjson'), ...packages, '--format', 'json']).stdout);
    expect(json[0].outcome.resourceType).toBe('OperationOutcome');
    expect(json[0].outcome.issue.some((i: { expression?: string[] }) => i.expression?.[0] === 'Bundle.entry[0].resource.status')).toBe(true);

    const sarif = JSON.parse(runCli(['check', join(dir, 'broken.ndjson'), ...packages, '--format', 'sarif']).stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results.some((r: { ruleId: string }) => r.ruleId === 'CONF_BINDING')).toBe(true);
  });

  it('checks FHIR XML files with the line and column of each finding, and an NDJSON stream from standard input', () => {
    const dir = scratchDirectory('cadmap-xml-');
    const xml = join(dir, 'patient.xml');
    writeFileSync(xml, '<?xml version="1.0"?>\n<Patient xmlns="http://hl7.org/fhir">\n  <gender value="sent-ish"/>\n  <birthDate value="2020-02-30"/>\n</Patient>\n');
    const checked = runCli(['check', xml, ...packages, '--no-color']);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/error CONF_BINDING: [^\n]*sent-ish[^]*?--> [^\n]*patient\.xml:3:3/);
    expect(checked.stdout).toMatch(/error CONF_PRIMITIVE: [^\n]*2020-02-30[^]*?--> [^\n]*patient\.xml:4:3/);

    const stream = `${JSON.stringify({ resourceType: 'Patient', gender: 'female' })}\n\n${JSON.stringify({ resourceType: 'Patient', birthDate: '2020-13-01' })}\n`;
    const fromStdin = runCli(['check', '-', ...packages, '--no-color'], { input: stream });
    expect(fromStdin.stderr).toMatch(/2 resources checked: 1 error/);
    expect(fromStdin.stdout).toMatch(/--> <stdin>:3:\d+/);
  });

  it('fails closed on a profile that cannot be resolved, unless --allow-unresolved', () => {
    const dir = scratchDirectory('cadmap-unresolved-');
    const file = join(dir, 'patient.json');
    writeFileSync(file, JSON.stringify({ resourceType: 'Patient', meta: { profile: ['https://fhir.example.nhs.uk/StructureDefinition/NotLoaded'] } }));
    const strict = runCli(['check', file, ...packages, '--no-color']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/error CONF_PROFILE_UNKNOWN: Profile https:\/\/fhir\.example\.nhs\.uk\/StructureDefinition\/NotLoaded cannot be resolved/);
    expect(runCli(['check', file, ...packages, '--allow-unresolved']).code).toBe(0);
    expect(runCli(['check', file, ...packages, '--allow-unresolved-url', 'https://fhir.example.nhs.uk/StructureDefinition/NotLoaded']).code).toBe(0);
    const badPackage = runCli(['check', file, ...packages, '--package', join(dir, 'missing-package'), '--allow-unresolved-url', 'https://fhir.example.nhs.uk/StructureDefinition/NotLoaded', '--no-color']);
    expect(badPackage.code).toBe(1);
    expect(badPackage.stdout).toMatch(/error CONF_PACKAGE: [^\n]*Package not found/);
  });
});
