/** Redaction lives in @cadmap/core (`@cadmap/core/diagnostics`); re-exported here for existing callers. */
export { isNhsNumber, redact } from '@cadmap/core/diagnostics';
