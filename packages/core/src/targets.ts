import { validateCqiCase } from './cqi/validate.js';
import type { Diagnostic } from './diagnostics/diagnostic.js';

/** What a mapping builds from each source record. */
export type MappingTarget = 'fhir-bundle' | 'cqi-case';

/**
 * Checks a document built for a non-bundle target against that target's model. Diagnostics carry an
 * `expression` path into the document (e.g. `Case.triageLines[3].timeOut`) so the engine can link them to the
 * mapping rule and source cell that produced the element.
 */
export function checkDocument(target: Exclude<MappingTarget, 'fhir-bundle'>, document: unknown): Diagnostic[] {
  switch (target) {
    case 'cqi-case':
      return validateCqiCase(document, { root: documentRoot[target] }).diagnostics;
  }
}

/** The root name of FHIRPath-like paths into a target's document. */
export const documentRoot: Readonly<Record<Exclude<MappingTarget, 'fhir-bundle'>, string>> = { 'cqi-case': 'Case' };
