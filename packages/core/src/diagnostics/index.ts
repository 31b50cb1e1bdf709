/**
 * `@cadmap/core/diagnostics`: the Diagnostic shape, its codes and the renderer, without the mapping engine
 * (for tools such as `cadmap check` that must start fast), and the redaction of secrets and NHS numbers from text
 * meant for people.
 */
export { diagnosticCodes, hasErrors, isDiagnosticCode } from './diagnostic.js';
export type { Diagnostic, DiagnosticCode, InputSpan, RuleSpan, Severity } from './diagnostic.js';
export { formatInput, formatRule, renderDiagnostic, renderDiagnostics } from './render.js';
export type { RenderOptions } from './render.js';
export { escapeControls, shorten } from './text.js';
export { isNhsNumber, maskNhsNumber, minSecretLength, redact, redactedMark, Redactor } from '../privacy/redact.js';
