import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

/** The options every JSON Schema of cadmap is compiled with (the diagnostics are made from all the errors). */
export const schemaAjvOptions = { allErrors: true, strict: false, verbose: true } as const;

/** Identifies the schema text precompiled validators were made from. */
export const schemaHash = (schemaText: string): string => createHash('sha256').update(schemaText).digest('hex');

/**
 * Validators as one standalone CommonJS module (ajv's standalone output), exporting each of `exports` (name ⟶
 * schema reference) and the hash of `schemaText`. The build writes such modules into dist/ so that a command
 * does not compile a schema before its first check (tens of milliseconds each).
 */
export function standaloneModule(schema: Record<string, unknown>, schemaText: string, exports: Readonly<Record<string, string>>): string {
  const ajv = new Ajv({ ...schemaAjvOptions, code: { source: true } });
  ajv.addSchema(schema);
  return `${standaloneCode.default(ajv, exports)}\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(schemaText))};\n`;
}

/**
 * The validators `names` of the module `file` next to `moduleUrl` (the build wrote it), when it is there and
 * was made from this very schema text; undefined otherwise (the caller compiles the schema then).
 */
export function precompiledValidators<Name extends string>(moduleUrl: string, file: string, schemaText: string, names: readonly Name[]): Record<Name, ValidateFunction> | undefined {
  try {
    const loaded = createRequire(moduleUrl)(`./${file}`) as Partial<Record<Name, ValidateFunction>> & { schemaHash?: string };
    if (loaded.schemaHash !== schemaHash(schemaText) || names.some((name) => typeof loaded[name] !== 'function')) {
      return undefined;
    }
    return loaded as Record<Name, ValidateFunction>;
  } catch {
    return undefined;
  }
}
