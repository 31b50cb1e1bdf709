import { canonicalCqiCase, validateCqiCase, type CqiCase, type Diagnostic } from '@cadmap/core';
import { decodePathwaysXml, encodePathwaysXml } from './pathways-xml.js';

/** The wire formats cadmap can send a CQI case in. */
export type CqiWireFormat = 'json' | 'xml';

/** A request body ready to send, or the reasons it could not be built. */
export interface EncodeResult {
  readonly body?: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** A decoded and validated case, or the reasons it could not be read. */
export interface DecodeResult {
  /** The case, when it parses and matches the schema (warnings and invariant errors may still be present). */
  readonly case?: CqiCase;
  /** True when no error was found. */
  readonly valid: boolean;
  readonly diagnostics: readonly Diagnostic[];
}

/** Maps canonical CQI cases to one wire format and back. */
export interface CqiEncoder {
  readonly format: CqiWireFormat;
  /** Content-Type of the request body. */
  readonly mediaType: string;
  /** Major versions of the canonical model (`cqi-case/<major>.x.y`) this encoder accepts. */
  readonly acceptsMajorVersions: readonly number[];
  /** Checks the case and encodes it; a case with errors is not encoded. */
  encode(value: unknown): EncodeResult;
  /** Parses a body and validates the case it holds. `file` names the origin in diagnostics. */
  decode(body: string, file?: string): DecodeResult;
}

function checked(value: unknown): { case?: CqiCase; diagnostics: Diagnostic[] } {
  const result = validateCqiCase(value);
  return result.valid && result.case ? { case: result.case, diagnostics: result.diagnostics } : { diagnostics: result.diagnostics };
}

const jsonEncoder: CqiEncoder = {
  format: 'json',
  mediaType: 'application/json',
  acceptsMajorVersions: [1],
  encode(value) {
    const { case: valid, diagnostics } = checked(value);
    return valid ? { body: JSON.stringify(sortKeys(canonicalCqiCase(valid))), diagnostics } : { diagnostics };
  },
  decode(body, file) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      const position = /position (\d+)/.exec(String(error))?.[1];
      const location = position !== undefined ? lineColumn(body, Number(position)) : undefined;
      return {
        valid: false,
        diagnostics: [{
          code: 'CQI_WIRE_SYNTAX',
          severity: 'error',
          message: `${file ?? 'The JSON payload'} does not parse: ${error instanceof Error ? error.message : String(error)}.`,
          hint: 'The payload must be one JSON object in the cqi-case model.',
          ...(file !== undefined ? { input: { file, ...(location ?? {}) } } : {}),
        }],
      };
    }
    return decoded(value, []);
  },
};

const xmlEncoder: CqiEncoder = {
  format: 'xml',
  mediaType: 'application/xml',
  acceptsMajorVersions: [1],
  encode(value) {
    const { case: valid, diagnostics } = checked(value);
    if (!valid) {
      return { diagnostics };
    }
    const encoded = encodePathwaysXml(valid);
    return encoded.body !== undefined ? { body: encoded.body, diagnostics } : { diagnostics: [...diagnostics, ...encoded.diagnostics] };
  },
  decode(body, file) {
    const { value, diagnostics } = decodePathwaysXml(body, file);
    return value === undefined ? { valid: false, diagnostics } : decoded(value, diagnostics);
  },
};

function decoded(value: unknown, wire: readonly Diagnostic[]): DecodeResult {
  const result = validateCqiCase(value);
  const diagnostics = [...wire, ...result.diagnostics];
  const valid = result.valid && !wire.some((d) => d.severity === 'error' || d.severity === 'fatal');
  return { valid, ...(result.case ? { case: result.case } : {}), diagnostics };
}

/** Members in code-point order at every level (as RFC 8785 canonical JSON), so equal cases give equal bytes. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** The encoder of a wire format (chosen by configuration: `format: json | xml`). */
export function cqiEncoder(format: CqiWireFormat): CqiEncoder {
  switch (format) {
    case 'json':
      return jsonEncoder;
    case 'xml':
      return xmlEncoder;
  }
}

/** The encoder for a request Content-Type, if any (e.g. `application/xml; charset=utf-8`). */
export function cqiEncoderForMediaType(contentType: string | undefined): CqiEncoder | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') {
    return jsonEncoder;
  }
  return type === 'application/xml' || type === 'text/xml' ? xmlEncoder : undefined;
}
