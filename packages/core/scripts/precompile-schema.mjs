// Run by `npm run build` after tsc: writes the mapping schema's validators as standalone code next to
// dist/mapping/schema.js, with the hash of the schema text they were made from (see src/mapping/schema.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mappingSchemaPath, precompiledValidatorsFile, schemaHash, standaloneValidators } from '../dist/mapping/schema.js';

const target = fileURLToPath(new URL(`../dist/mapping/${precompiledValidatorsFile}`, import.meta.url));
const hash = schemaHash(readFileSync(mappingSchemaPath, 'utf8'));
writeFileSync(target, `${standaloneValidators()}\nmodule.exports.schemaHash = ${JSON.stringify(hash)};\n`);
