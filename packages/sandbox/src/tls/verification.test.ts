import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verificationOverrides, withEnvironment } from './verification.js';
import { scratchDirectory } from '../../../../test/support/fixtures.js';

describe('verificationOverrides', () => {
  it('finds every way a source could turn TLS verification off, in subfolders too, and leaves tests alone', () => {
    const dir = scratchDirectory('cadmap-tls-scan-');
    mkdirSync(join(dir, 'transport'));
    writeFileSync(join(dir, 'good.ts'), 'const a = new Agent({ connect: { rejectUnauthorized: true } });\n');
    writeFileSync(join(dir, 'transport', 'bare.ts'), 'const a = new Agent({ connect: {} });\n');
    writeFileSync(join(dir, 'off.ts'), 'const a = new Agent({ connect: { rejectUnauthorized:  false } });\n');
    writeFileSync(join(dir, 'env.ts'), "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';\n");
    writeFileSync(join(dir, 'flag.ts'), 'export const options = { Insecure: true };\n');
    writeFileSync(join(dir, 'skipped.test.ts'), 'new Agent({ connect: { rejectUnauthorized: false } });\n');
    const { files, problems } = verificationOverrides(dir);
    expect(files).toBe(5);
    expect([...problems].sort()).toEqual([
      'env.ts: NODE_TLS_REJECT_UNAUTHORIZED',
      'flag.ts: Insecure',
      'off.ts: 1 `new Agent(` but 0 `rejectUnauthorized: true`',
      'off.ts: rejectUnauthorized:  false',
      'transport/bare.ts: 1 `new Agent(` but 0 `rejectUnauthorized: true`',
    ]);
  });
});

describe('withEnvironment', () => {
  it('sets the variable for the run only, also when the run fails', async () => {
    delete process.env['CADMAP_TEST_VARIABLE'];
    await expect(withEnvironment('CADMAP_TEST_VARIABLE', '0', () => Promise.resolve(process.env['CADMAP_TEST_VARIABLE']))).resolves.toBe('0');
    expect(process.env['CADMAP_TEST_VARIABLE']).toBeUndefined();
    process.env['CADMAP_TEST_VARIABLE'] = 'before';
    await expect(withEnvironment('CADMAP_TEST_VARIABLE', '0', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(process.env['CADMAP_TEST_VARIABLE']).toBe('before');
    delete process.env['CADMAP_TEST_VARIABLE'];
  });
});
