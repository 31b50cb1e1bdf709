import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './fixtures.js';

/** The shared FHIR reference data beside the project (override with FHIR_REFERENCE_DIR). */
export const referenceDir = process.env.FHIR_REFERENCE_DIR ?? join(projectRoot, '../shared/reference');
export const hasReference = existsSync(join(referenceDir, 'ukcore/json'));
