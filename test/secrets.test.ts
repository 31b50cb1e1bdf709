import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from './support/fixtures.js';

/**
 * Secrets and personal data: runs the whole demo (map, check, submit to the local DPS sandbox, poll the local MESH
 * sandbox, reconcile, report) and scans everything meant for a person to read: stdout and stderr, the HTML report,
 * receipts, dead letters and the ledger as `cadmap status --json` shows it. No private key, bearer token, API key,
 * mailbox password or shared key may appear, nor a full NHS number from the sample data (the last three digits at
 * most). The bundles and the MESH store are payloads, not displays, and the sandbox folder holds the secrets
 * themselves: those are not scanned.
 */
const out = mkdtempSync(join(tmpdir(), 'cadmap-secrets-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Shown {
  readonly where: string;
  readonly text: string;
}
const shown: Shown[] = [];
let secrets: { name: string; value: string }[] = [];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Valid NHS numbers (modulus 11) in the sample exports of every vendor. */
function sampleNhsNumbers(): Set<string> {
  const found = new Set<string>();
  const mappings = join(projectRoot, 'mappings');
  for (const vendor of readdirSync(mappings)) {
    const sample = join(mappings, vendor, 'sample');
    if (!statSync(join(mappings, vendor)).isDirectory() || !readdirSync(join(mappings, vendor)).includes('sample')) {
      continue;
    }
    for (const path of filesUnder(sample)) {
      for (const match of readFileSync(path, 'utf8').matchAll(/(?<![0-9])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9])/g)) {
        const digits = `${match[1]}${match[2]}${match[3]}`;
        const sum = [...digits.slice(0, 9)].reduce((total, digit, index) => total + Number(digit) * (10 - index), 0);
        const check = 11 - (sum % 11);
        if ((check === 11 ? 0 : check) === Number(digits[9]) && check !== 10) {
          found.add(digits);
        }
      }
    }
  }
  return found;
}

beforeAll(() => {
  const demo = spawnSync(process.execPath, [join(projectRoot, 'scripts/demo.mjs'), '--out', out], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, CADMAP_LOG: 'debug', DEBUG: '*' } });
  expect(demo.status, demo.stderr).toBe(0);
  shown.push({ where: 'demo stdout', text: demo.stdout }, { where: 'demo stderr', text: demo.stderr });
  const status = spawnSync(process.execPath, [join(projectRoot, 'packages/cli/dist/bin.js'), 'status', '--ledger', join(out, 'cadmap-ledger.sqlite'), '--json'], { cwd: projectRoot, encoding: 'utf8' });
  shown.push({ where: 'cadmap status --json', text: status.stdout + status.stderr });
  const records = spawnSync(process.execPath, [join(projectRoot, 'packages/cli/dist/bin.js'), 'status', '--ledger', join(out, 'cadmap-ledger.sqlite')], { cwd: projectRoot, encoding: 'utf8' });
  shown.push({ where: 'cadmap status', text: records.stdout + records.stderr });
  const ledger = new Database(join(out, 'cadmap-ledger.sqlite'), { readonly: true });
  const keys = ledger.prepare("select record_key as key from records where state = 'rejected' limit 4").all() as { key: string }[];
  keys.push(...(ledger.prepare("select record_key as key from records where state = 'accepted' limit 2").all() as { key: string }[]));
  ledger.close();
  for (const { key } of keys) {
    const history = spawnSync(process.execPath, [join(projectRoot, 'packages/cli/dist/bin.js'), 'status', '--ledger', join(out, 'cadmap-ledger.sqlite'), '--record', key, '--json'], { cwd: projectRoot, encoding: 'utf8' });
    shown.push({ where: `cadmap status --record ${key} --json`, text: history.stdout + history.stderr });
  }
  for (const path of filesUnder(out)) {
    const name = relative(out, path);
    const payload = name.startsWith('sandbox/') || name.startsWith('mesh-store/') || name.endsWith('.sqlite') || (/^[a-z-]+\.ndjson$/.test(name) && !name.includes('receipts'));
    if (!payload) {
      shown.push({ where: name, text: readFileSync(path, 'utf8') });
    }
  }
  const sandbox = join(out, 'sandbox');
  const config = readFileSync(join(sandbox, 'cadmap.config.yaml'), 'utf8');
  secrets = [
    { name: 'mailbox password', value: readFileSync(join(sandbox, 'mailbox-password'), 'utf8').trim() },
    { name: 'MESH shared key', value: readFileSync(join(sandbox, 'shared-key'), 'utf8').trim() },
    { name: 'DPS API key', value: /apiKey: (\S+)/.exec(config)?.[1] ?? '' },
    ...['dps-key.pem', 'client.key'].map((file) => ({ name: `${file} body`, value: readFileSync(join(sandbox, file), 'utf8').split('\n').slice(1, 2).join('') })),
  ];
}, 300_000);

describe('the demo shows no secrets and no full NHS numbers', () => {
  it('scans stdout, stderr, the report, receipts and the ledger view', () => {
    expect(shown.map((s) => s.where)).toEqual(expect.arrayContaining(['demo stdout', 'cadmap-report.html', 'cadmap status --json', 'dps-receipts.ndjson']));
    expect(shown.filter((s) => s.where.startsWith('cadmap status --record'))).toHaveLength(6);
    expect(shown.find((s) => s.where.startsWith('cadmap status --record'))?.text).toContain('"submissions"');
    expect(secrets.every((s) => s.value.length >= 8)).toBe(true);
  });

  it('holds no private-key PEM block, bearer token or JWT', () => {
    const found = shown.flatMap(({ where, text }) =>
      [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, /\bBearer\s+[A-Za-z0-9._~+/-]{8,}/i, /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./].filter((pattern) => pattern.test(text)).map((pattern) => `${where}: ${String(pattern)}`),
    );
    expect(found).toEqual([]);
  });

  it('holds no mailbox password, shared key, API key or key material', () => {
    const found = shown.flatMap(({ where, text }) => secrets.filter((s) => text.includes(s.value)).map((s) => `${where}: ${s.name}`));
    expect(found).toEqual([]);
  });

  it('shows no full NHS number from the sample data', () => {
    const numbers = sampleNhsNumbers();
    expect(numbers.size).toBeGreaterThan(0);
    const found = shown.flatMap(({ where, text }) => {
      const digits = text.replace(/(?<=[0-9])[ -](?=[0-9])/g, '');
      const hits = [...numbers].filter((n) => digits.includes(n));
      return hits.length === 0 ? [] : [`${where}: ${hits.length} NHS numbers, e.g. ${hits[0]!.slice(0, 3)}…`];
    });
    expect(found).toEqual([]);
    // the scan can see them: the bundles (payloads, not scanned above) do carry the sample NHS numbers
    const bundles = readdirSync(out).filter((name) => /^[a-z-]+\.ndjson$/.test(name) && !name.includes('receipts'));
    const carried = bundles.some((name) => [...numbers].some((n) => readFileSync(join(out, name), 'utf8').includes(n)));
    expect(carried).toBe(true);
  });
});
