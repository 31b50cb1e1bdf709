import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cqiCaseSchemaPath, precompiledCqiValidatorFile } from '../packages/core/src/cqi/validate.js';
import { mappingSchemaPath, precompiledValidatorsFile } from '../packages/core/src/mapping/schema.js';
import { schemaHash } from '../packages/core/src/precompiled-validators.js';

/** What `npm run build` must leave in dist/ besides the compiled TypeScript. */
describe('the build', () => {
  it('carries the mapping schema validators compiled ahead of time, made from the schema as it is now', () => {
    const built = fileURLToPath(new URL(`../packages/core/dist/mapping/${precompiledValidatorsFile}`, import.meta.url));
    const loaded = createRequire(import.meta.url)(built) as { schemaHash?: unknown; mapping?: unknown; library?: unknown };
    expect(typeof loaded.mapping).toBe('function');
    expect(typeof loaded.library).toBe('function');
    expect(loaded.schemaHash).toBe(schemaHash(readFileSync(mappingSchemaPath, 'utf8')));
  });

  it('carries the CQI case schema validator compiled ahead of time, made from the schema as it is now', () => {
    const built = fileURLToPath(new URL(`../packages/core/dist/cqi/${precompiledCqiValidatorFile}`, import.meta.url));
    const loaded = createRequire(import.meta.url)(built) as { schemaHash?: unknown; cqiCase?: unknown };
    expect(typeof loaded.cqiCase).toBe('function');
    expect(loaded.schemaHash).toBe(schemaHash(readFileSync(cqiCaseSchemaPath, 'utf8')));
  });

  it('links the cadmap command at install, so `npx cadmap` runs the built CLI', () => {
    const command = fileURLToPath(new URL('../node_modules/.bin/cadmap', import.meta.url));
    const version = (JSON.parse(readFileSync(new URL('../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(execFileSync(command, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });
});
