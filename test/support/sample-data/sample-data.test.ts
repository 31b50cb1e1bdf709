import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleCallCount, sampleCalls, streamCalls } from './calls.js';
import { encodeWindows1252 } from './file-sink.js';
import { repoRoot, vendors, writeExport, writeSyntheticExport } from './generate.js';
import type { SampleCall } from './model.js';
import { invalidNhsNumber, isValidNhsNumber, validNhsNumber } from './nhs-number.js';
import { Random } from './random.js';

const scratch = mkdtempSync(join(tmpdir(), 'cadmap-sample-data-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const calls = sampleCalls();
const allTimes = (call: SampleCall): string[] =>
  [
    call.callConnected,
    call.callAnswered,
    call.callEnded,
    call.dispatchCodeEstablished,
    ...call.resources.flatMap((r) => [r.mobilised, r.arrived, r.leftScene, r.atHospital, r.handover, r.clear, r.stoodDown]),
  ].filter((t): t is string => t !== undefined);

describe('sampleCalls', () => {
  it('is deterministic and in ascending incident-id order', () => {
    expect(sampleCalls()).toEqual(calls);
    expect(calls).toHaveLength(sampleCallCount);
    const ids = calls.map((call) => Number(call.incidentId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('holds every edge case the vendor samples must show', () => {
    const some = (test: (call: SampleCall) => boolean): boolean => calls.some(test);
    expect(some((c) => allTimes(c).some((t) => t.startsWith('2024-03-31T01:')))).toBe(true);
    expect(some((c) => allTimes(c).some((t) => t.startsWith('2024-10-27T01:')))).toBe(true);
    expect(some((c) => allTimes(c).some((t) => t.slice(0, 10) !== c.callConnected.slice(0, 10)))).toBe(true);
    expect(some((c) => c.stopCode !== undefined && c.resources.length === 0 && c.patients.length === 0)).toBe(true);
    expect(some((c) => c.patients.length >= 3)).toBe(true);
    expect(some((c) => c.treatmentType === 'hear-and-treat' && c.resources.length === 0)).toBe(true);
    expect(some((c) => c.patients.some((p) => p.callSigns.length >= 2))).toBe(true);
    expect(some((c) => c.resources.some((r) => c.patients.filter((p) => p.callSigns.includes(r.callSign)).length >= 2))).toBe(true);
    expect(some((c) => new Set(c.patients.flatMap((p) => (p.conveyedTo ? [p.conveyedTo.ods] : []))).size >= 2)).toBe(true);
    expect(some((c) => c.patients.some((p) => p.nhsNumber !== undefined && !isValidNhsNumber(p.nhsNumber)))).toBe(true);
    expect(some((c) => c.patients.some((p) => p.nhsNumber === undefined))).toBe(true);
    expect(some((c) => c.callOrigin === '02' && c.nhs111)).toBe(true);
    expect(some((c) => c.callAnswered === undefined && c.dispatchCodeEstablished === undefined)).toBe(true);
    expect(some((c) => c.cat1EarlyPrediction)).toBe(true);
    expect(some((c) => (c.locationDescription ?? '').includes('\n'))).toBe(true);
  });

  it('gives every patient call signs that belong to the call', () => {
    for (const call of calls) {
      const signs = new Set(call.resources.map((r) => r.callSign));
      expect(signs.size).toBe(call.resources.length);
      for (const patient of call.patients) {
        for (const sign of patient.callSigns) {
          expect(signs.has(sign)).toBe(true);
        }
      }
    }
  });
});

describe('NHS numbers', () => {
  it('generates valid numbers in the 999 test range and invalid ones that fail modulus 11', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const rng = new Random(seed);
        const valid = validNhsNumber(rng);
        expect(valid).toMatch(/^999\d{7}$/);
        expect(isValidNhsNumber(valid)).toBe(true);
        expect(isValidNhsNumber(invalidNhsNumber(rng))).toBe(false);
      }),
    );
  });

  it('agrees with a published example', () => {
    expect(isValidNhsNumber('9434765919')).toBe(true);
    expect(isValidNhsNumber('9434765918')).toBe(false);
  });
});

describe('vendor writers', () => {
  it('reproduce the committed samples byte for byte', () => {
    for (const vendor of vendors) {
      const directory = join(scratch, 'samples', vendor);
      const written = writeExport(vendor, directory, calls);
      const committed = join(repoRoot, 'mappings', vendor, 'sample');
      expect(readdirSync(committed).sort()).toEqual(written.map((file) => file.slice(directory.length + 1)).sort());
      for (const file of written) {
        expect(readFileSync(file).equals(readFileSync(join(committed, file.slice(directory.length + 1))))).toBe(true);
      }
    }
  });

  it('write Northwind as Windows-1252 with rows in incident-id order in every file', () => {
    const directory = join(scratch, 'northwind');
    const files = writeExport('northwind-csv', directory, calls);
    const calls1252 = readFileSync(files[0] ?? '');
    expect(calls1252.includes(0x92)).toBe(true); // ’
    expect(calls1252.includes(0xa3)).toBe(true); // £
    expect(calls1252.includes(0xe9)).toBe(true); // é
    for (const file of files) {
      const ids = readFileSync(file, 'latin1')
        .split('\r\n')
        .flatMap((line) => /^(\d{8}),/.exec(line)?.[1] ?? []);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.map(Number)).toEqual(ids.map(Number).sort((a, b) => a - b));
    }
  });

  it('refuse characters Windows-1252 cannot hold', () => {
    expect([...encodeWindows1252('£’é€')]).toEqual([0xa3, 0x92, 0xe9, 0x80]);
    expect(() => encodeWindows1252('✓')).toThrow(/U\+2713/);
  });

  it('stream a synthetic export call by call, deterministically', () => {
    const count = 300;
    for (const vendor of vendors) {
      const first = writeSyntheticExport(vendor, join(scratch, 'a', vendor), count);
      const second = writeSyntheticExport(vendor, join(scratch, 'b', vendor), count);
      first.forEach((file, index) => {
        expect(readFileSync(file).equals(readFileSync(second[index] ?? ''))).toBe(true);
      });
    }
    const ndjson = readFileSync(join(scratch, 'a', 'beacon-ndjson', `synthetic_${count}.ndjson`), 'utf8');
    const lines = ndjson.trimEnd().split('\n');
    expect(lines).toHaveLength(count);
    expect(lines.map((line) => (JSON.parse(line) as { callRef: string }).callRef)).toEqual(
      [...streamCalls(count)].map((call) => `BCN-${call.incidentId}`),
    );
    const xml = readFileSync(join(scratch, 'a', 'harbour-xml', `synthetic_${count}.xml`), 'utf8');
    expect(xml.match(/<hc:Incident /g)).toHaveLength(count);
    const csv = readFileSync(join(scratch, 'a', 'northwind-csv', `synthetic_${count}_calls.csv`), 'latin1');
    expect(csv.split('\r\n').filter((line) => /^\d{8},/.test(line))).toHaveLength(count);
  });
});
