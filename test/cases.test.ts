import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/main.js';
import { projectRoot } from './support/fixtures.js';
import { captureIo } from './support/cli.js';

/**
 * Data-driven engine cases: every folder in test/cases is a mapping directory (mapping.yaml + tests/<case>/)
 * checked by `cadmap test`, the same command supplier engineers use. A regression test is a new folder;
 * `UPDATE_GOLDEN=1 npx vitest run test/cases.test.ts` accepts the current output.
 */
const casesDir = join(projectRoot, 'test/cases');
const cases = readdirSync(casesDir).filter((name) => statSync(join(casesDir, name)).isDirectory());

describe('golden engine cases', () => {
  it.each(cases)('%s', async (name) => {
    const io = captureIo(projectRoot);
    const args = ['test', join(casesDir, name), '--no-color', ...(process.env.UPDATE_GOLDEN === '1' ? ['--update'] : [])];
    const code = await main(io, args);
    expect(io.stdout() + io.stderr(), 'cadmap test output').toMatch(/1 passed, 0 failed|updated/);
    expect(code).toBe(0);
  });
});
