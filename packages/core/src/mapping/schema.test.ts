import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mappingSchemaPath, standaloneValidators } from './schema.js';

/**
 * The build writes the schema's validators as standalone code (scripts/precompile-schema.mjs; test/build.test.ts
 * checks it did) so that loading a mapping does not compile the schema; they must judge every document exactly
 * as the schema compiled at run time does, errors included (the diagnostics are made from them).
 */
const schema = JSON.parse(readFileSync(mappingSchemaPath, 'utf8')) as Record<string, unknown>;

function loadStandalone(code: string): { mapping: ValidateFunction; library: ValidateFunction } {
  const module = { exports: {} as Record<string, unknown> };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the code is ajv's own output for our schema
  new Function('exports', 'require', 'module', code)(module.exports, createRequire(import.meta.url), module);
  return module.exports as unknown as { mapping: ValidateFunction; library: ValidateFunction };
}

const sample = (path: string): unknown => parse(readFileSync(fileURLToPath(new URL(`../../../../${path}`, import.meta.url)), 'utf8'));
const mappings = ['mappings/northwind-csv/mapping.yaml', 'mappings/harbour-xml/mapping.yaml', 'mappings/beacon-ndjson/mapping.yaml'].map(sample);
const broken: unknown[] = [
  {},
  { cadmap: 2, id: 'Bad_Id', source: { format: 'csv', tables: {} }, bogus: 1 },
  { cadmap: 1, id: 'x', source: { format: 'xml' }, resources: [{ id: 'a', resourceType: 'Patient', key: 3, template: [] }] },
  ...mappings.map((m) => ({ ...(m as object), resources: 'none' })),
  ...mappings.map((m) => ({ ...(m as object), source: { ...((m as { source: object }).source), encoding: 'ebcdic', delimiter: ';;' } })),
];

describe('precompiled mapping schema validators', () => {
  const runtime = new Ajv({ allErrors: true, strict: false, verbose: true });
  const compiled = { mapping: runtime.compile(schema), library: runtime.getSchema(`${String(schema.$id)}#/definitions/library`)! };
  const standalone = loadStandalone(standaloneValidators());

  it('accept and reject the same documents with the same errors', () => {
    for (const document of [...mappings, ...broken, sample('mappings/common/ads.yaml')]) {
      for (const kind of ['mapping', 'library'] as const) {
        expect(standalone[kind](document)).toBe(compiled[kind](document));
        expect(JSON.stringify(standalone[kind].errors ?? null)).toBe(JSON.stringify(compiled[kind].errors ?? null));
      }
    }
    expect(compiled.mapping(broken[1])).toBe(false);
  });
});
