import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from './support/fixtures.js';

/**
 * scripts/audit.mjs (run by .ci/run) against a loopback registry that answers npm's bulk advisory endpoint as
 * told: real `npm audit` over the real lockfile, so the check is shown to fail on high/critical advisories even
 * where the public registry's audit endpoint is out of reach.
 */
type Answer = 'none' | 'critical' | 'moderate' | 'refuse';
let answer: Answer = 'none';
const asked: Record<string, string[]>[] = [];
let server: Server;
let registry = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/-/npm/v1/security/advisories/bulk')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (answer === 'refuse') {
        res.writeHead(405, { allow: 'GET,HEAD' }).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const packages = JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8')) as Record<string, string[]>;
      asked.push(packages);
      const advisory = (severity: string) => [{ id: 4242, url: 'https://advisories.invalid/4242', title: `test advisory (${severity})`, severity, vulnerable_versions: '<999.0.0', cwe: [], cvss: { score: severity === 'critical' ? 9.8 : 5.3, vectorString: null } }];
      const advisories = answer === 'none' ? {} : { yaml: advisory(answer) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(advisories));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  caches.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** npm caches advisory answers: each run gets its own cache so it sees what the registry answers now. */
const caches: string[] = [];
function freshCache(): string {
  caches.push(mkdtempSync(join(tmpdir(), 'cadmap-audit-cache-')));
  return caches.at(-1)!;
}

function audit(env: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'scripts/audit.mjs')], { cwd: projectRoot, env: { ...process.env, npm_config_registry: registry, npm_config_cache: freshCache(), ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe('npm audit --omit=dev in CI', () => {
  it('passes with no advisories and asks only about production dependencies', async () => {
    answer = 'none';
    const { status, output } = await audit();
    expect(output).toMatch(/0 advisories in production dependencies/);
    expect(status).toBe(0);
    const names = Object.keys(asked.at(-1)!);
    expect(names).toContain('yaml');
    expect(names).not.toContain('vitest');
  });

  it('fails on a critical advisory and names the package, the advisory and the fix', async () => {
    answer = 'critical';
    const { status, output } = await audit();
    expect(status).toBe(1);
    expect(output).toMatch(/CRITICAL yaml .*test advisory \(critical\) \(https:\/\/advisories\.invalid\/4242\)/);
  });

  it('reports a moderate advisory without failing', async () => {
    answer = 'moderate';
    const { status, output } = await audit();
    expect(output).toMatch(/1 advisories in production dependencies \(critical 0, high 0, moderate 1/);
    expect(status).toBe(0);
  });

  it('says loudly when the registry refuses the audit endpoint, and fails then only when told to', async () => {
    answer = 'refuse';
    const lenient = await audit();
    expect(lenient.status).toBe(0);
    expect(lenient.output).toMatch(/npm audit --omit=dev DID NOT RUN: 405 Method Not Allowed/);
    const strict = await audit({ CADMAP_AUDIT: 'required' });
    expect(strict.status).toBe(1);
  });
});
