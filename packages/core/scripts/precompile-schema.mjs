// Run by `npm run build` after tsc: writes the JSON Schema validators as standalone code next to the modules
// that use them in dist/, each with the hash of the schema text it was made from (see src/precompiled-validators.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { precompiledValidatorsFile, standaloneValidators } from '../dist/mapping/schema.js';
import { precompiledCqiValidatorFile, standaloneCqiValidator } from '../dist/cqi/validate.js';

writeFileSync(fileURLToPath(new URL(`../dist/mapping/${precompiledValidatorsFile}`, import.meta.url)), standaloneValidators());
writeFileSync(fileURLToPath(new URL(`../dist/cqi/${precompiledCqiValidatorFile}`, import.meta.url)), standaloneCqiValidator());
