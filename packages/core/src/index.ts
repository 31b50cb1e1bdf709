/**
 * @cadmap/core: declarative YAML mappings of CAD exports to FHIR R4 Ambulance Data Set bundles.
 *
 * ```ts
 * const { mapping, diagnostics } = await loadMapping('mappings/acme/mapping.yaml');
 * const run = await runMapping(mapping!, [{ path: 'calls.csv' }, { path: 'resources.csv' }]);
 * for await (const result of run.results()) { if (result.ok) send(result.bundle); }
 * ```
 */
export { diagnosticCodes, hasErrors, isDiagnosticCode } from './diagnostics/diagnostic.js';
export type { Diagnostic, DiagnosticCode, InputSpan, RuleSpan, Severity } from './diagnostics/diagnostic.js';
export { formatInput, formatRule, renderDiagnostic, renderDiagnostics } from './diagnostics/render.js';
export type { RenderOptions } from './diagnostics/render.js';
export { escapeControls, shorten } from './diagnostics/text.js';
export { isNhsNumber, maskNhsNumber, minSecretLength, redact, redactedMark, Redactor } from './privacy/redact.js';

export { loadMapping } from './mapping/load.js';
export type { CompiledBundle, CompiledRule, LoadMappingOptions, LoadMappingResult, Mapping } from './mapping/load.js';
export { mappingLanguageVersion } from './mapping/model.js';
export type { CsvDialect, CsvTable, JoinOrder, LookupTable, LookupTarget, MappingChecks, SourceEncoding, SourceFormat, SourceSpec } from './mapping/model.js';
export { mappingSchema, mappingSchemaPath } from './mapping/schema.js';

export { openSource } from './sources/index.js';
export type { OpenedSource } from './sources/index.js';
export { inputName, originOf } from './sources/types.js';
export type { InputFile, NodeOrigin, RawContent, SourceNode, SourceRecord, SourceValue } from './sources/types.js';

export { compileExpression } from './expressions/index.js';
export type { CompiledExpression, EvalReport, EvalSink, ExpressionEnv } from './expressions/types.js';

export { transformRecord } from './transform/engine.js';
export type { MapResult, ProvenanceEntry, TransformOptions } from './transform/engine.js';
export { lookupProvenance, templateSpanFor } from './transform/provenance.js';
export { explainRecord } from './transform/explain.js';
export type { ExplainedElement } from './transform/explain.js';
export { accountFields, checkColumns, mapAll, runMapping } from './run.js';
export type { MappingRun, RunOptions } from './run.js';

export { cadmapNamespace, entryFullUrl, entryUuid } from './bundle/ids.js';

export { canonicalCqiCase, cqiCaseSchemaVersion, cqiCodeSystems, nodeKindOf } from './cqi/model.js';
export type { CqiCase, CqiCaseDetails, CqiCoding, CqiFinalDisposition, CqiIdDescription, CqiNodeKind, CqiOperator, CqiPatient, CqiProvider, CqiSelectedService, CqiSymptomDiscriminator, CqiTriageLine } from './cqi/model.js';
export { cqiCaseSchema, cqiCaseSchemaPath, validateCqiCase } from './cqi/validate.js';
export type { CqiValidation, CqiValidationOptions } from './cqi/validate.js';
