import type { MeshDiagnostic } from './codes.js';

/** The payload formats cadmap can read out of the box. DPS does not publish its format, so it is configuration. */
export type NotificationFormat = 'json' | 'csv' | 'operation-outcome';

export const notificationFormats: readonly NotificationFormat[] = ['json', 'csv', 'operation-outcome'];

/** Property names (JSON) or column headers (CSV) holding each part of an error. */
export interface NotificationFieldNames {
  /** DPS's submission id (the receipt `cadmap submit` recorded). */
  readonly receipt: string;
  readonly bundleId: string;
  /** The CAD call identifier / record key. */
  readonly callId: string;
  readonly code: string;
  readonly severity: string;
  readonly message: string;
  /** FHIRPath of the element at fault, e.g. `Bundle.entry[2].resource.code`. */
  readonly location: string;
}

/** How DPS error notifications are recognised and read. */
export interface NotificationConfig {
  /** MESH workflow ids that carry DPS error notifications (from onboarding; never assumed). */
  readonly workflowIds: readonly string[];
  /** Formats tried in order (default all three). */
  readonly formats?: readonly NotificationFormat[];
  readonly fields?: Partial<NotificationFieldNames>;
  /** JSON: property holding the error array when the payload is an object (default `errors`). */
  readonly jsonErrorsProperty?: string;
  /** CSV delimiter (default `,`). */
  readonly csvDelimiter?: string;
  /** OperationOutcome: extension URLs carrying the correlation ids, on the resource or on an issue. */
  readonly operationOutcomeExtensions?: Partial<Pick<NotificationFieldNames, 'receipt' | 'bundleId' | 'callId'>>;
}

export const defaultFieldNames: NotificationFieldNames = { receipt: 'receiptId', bundleId: 'bundleId', callId: 'callId', code: 'code', severity: 'severity', message: 'message', location: 'location' };

export const defaultOperationOutcomeExtensions = {
  receipt: 'https://cadmap.dev/fhir/StructureDefinition/dps-receipt',
  bundleId: 'https://cadmap.dev/fhir/StructureDefinition/dps-bundle-id',
  callId: 'https://cadmap.dev/fhir/StructureDefinition/dps-call-id',
} as const;

/** One error a notification reports. */
export interface NotificationError {
  /** 1-based position in the notification (CSV: the data row). */
  readonly index: number;
  readonly receipt?: string;
  readonly bundleId?: string;
  readonly callId?: string;
  readonly code?: string;
  readonly severity?: string;
  readonly message: string;
  readonly location?: string;
}

export interface ParsedNotification {
  readonly format: string;
  readonly errors: readonly NotificationError[];
}

/** Reads one payload; `undefined` means "not this format". Plug in your own for a format cadmap does not know. */
export type NotificationParser = (payload: Buffer, config: NotificationConfig) => ParsedNotification | undefined;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' ? String(value) : undefined);

function errorFrom(index: number, get: (name: string) => unknown, names: NotificationFieldNames): NotificationError | undefined {
  const parts = {
    receipt: text(get(names.receipt)),
    bundleId: text(get(names.bundleId)),
    callId: text(get(names.callId)),
    code: text(get(names.code)),
    severity: text(get(names.severity)),
    location: text(get(names.location)),
  };
  const message = text(get(names.message));
  if (message === undefined && parts.code === undefined) {
    return undefined;
  }
  return { index, message: message ?? '', ...Object.fromEntries(Object.entries(parts).filter(([, value]) => value !== undefined)) };
}

const fieldNames = (config: NotificationConfig): NotificationFieldNames => ({ ...defaultFieldNames, ...config.fields });

/** JSON: an array of error objects, or an object with them under `jsonErrorsProperty` (default `errors`). */
export const parseJsonNotification: NotificationParser = (payload, config) => {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType !== undefined) {
    return undefined;
  }
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[config.jsonErrorsProperty ?? 'errors'] : undefined;
  if (!Array.isArray(list)) {
    return undefined;
  }
  const names = fieldNames(config);
  const errors: NotificationError[] = [];
  for (const [position, item] of list.entries()) {
    const parsed = typeof item === 'object' && item !== null ? errorFrom(position + 1, (name) => (item as Record<string, unknown>)[name], names) : undefined;
    if (!parsed) {
      return undefined;
    }
    errors.push(parsed);
  }
  return { format: 'json', errors };
};

/** RFC 4180 CSV with a header row naming the configured columns. */
export const parseCsvNotification: NotificationParser = (payload, config) => {
  const rows = parseCsv(payload.toString('utf8').replace(/^\uFEFF/, ''), config.csvDelimiter ?? ',');
  const header = rows[0];
  const names = fieldNames(config);
  if (!header || !header.includes(names.message) || !(header.includes(names.receipt) || header.includes(names.bundleId) || header.includes(names.callId))) {
    return undefined;
  }
  const errors: NotificationError[] = [];
  for (const [position, row] of rows.slice(1).entries()) {
    if (row.length === 1 && row[0] === '') {
      continue;
    }
    const parsed = errorFrom(position + 1, (name) => row[header.indexOf(name)], names);
    if (!parsed) {
      return undefined;
    }
    errors.push(parsed);
  }
  return { format: 'csv', errors };
};

function parseCsv(input: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (quoted) {
      if (c === '"' && input[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') {
        i++;
      }
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

interface FhirExtension {
  readonly url?: unknown;
  readonly valueString?: unknown;
  readonly valueId?: unknown;
  readonly valueIdentifier?: { readonly value?: unknown };
}

const extensionValue = (extensions: unknown, url: string): string | undefined => {
  if (!Array.isArray(extensions)) {
    return undefined;
  }
  const found = (extensions as unknown[]).find((extension): extension is FhirExtension => typeof extension === 'object' && extension !== null && (extension as FhirExtension).url === url);
  return text(found?.valueString) ?? text(found?.valueId) ?? text(found?.valueIdentifier?.value);
};

/** A FHIR OperationOutcome; correlation ids come from extensions (URLs configurable) on the resource or the issue. */
export const parseOperationOutcomeNotification: NotificationParser = (payload, config) => {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const outcome = value as { resourceType?: unknown; issue?: unknown; extension?: unknown };
  if (outcome.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) {
    return undefined;
  }
  const urls = { ...defaultOperationOutcomeExtensions, ...config.operationOutcomeExtensions };
  const errors = (outcome.issue as unknown[]).map((item, position): NotificationError => {
    const issue = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const details = issue.details as { text?: unknown; coding?: { code?: unknown }[] } | undefined;
    const ids = {
      receipt: extensionValue(issue.extension, urls.receipt) ?? extensionValue(outcome.extension, urls.receipt),
      bundleId: extensionValue(issue.extension, urls.bundleId) ?? extensionValue(outcome.extension, urls.bundleId),
      callId: extensionValue(issue.extension, urls.callId) ?? extensionValue(outcome.extension, urls.callId),
      code: text(details?.coding?.[0]?.code) ?? text(issue.code),
      severity: text(issue.severity),
      location: Array.isArray(issue.expression) ? text(issue.expression[0]) : undefined,
    };
    return { index: position + 1, message: text(details?.text) ?? text(issue.diagnostics) ?? '', ...Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)) };
  });
  return { format: 'operation-outcome', errors };
};

export const builtInParsers: Readonly<Record<NotificationFormat, NotificationParser>> = {
  json: parseJsonNotification,
  csv: parseCsvNotification,
  'operation-outcome': parseOperationOutcomeNotification,
};

/** The outcome of reading one stored notification. */
export interface NotificationReading {
  readonly parsed?: ParsedNotification;
  readonly diagnostics: readonly MeshDiagnostic[];
}

/**
 * Reads a notification payload with the configured formats in order, then any extra parsers. A payload no parser
 * reads gives `MESH_NOTIFICATION_UNRECOGNISED` (it stays stored raw; it is never dropped).
 */
export function readNotification(payload: Buffer, config: NotificationConfig, where: { messageId: string; path: string }, extraParsers: readonly NotificationParser[] = []): NotificationReading {
  const parsers = [...(config.formats ?? notificationFormats).map((format) => builtInParsers[format]), ...extraParsers];
  for (const parser of parsers) {
    const parsed = parser(payload, config);
    if (parsed) {
      return { parsed, diagnostics: [] };
    }
  }
  return {
    diagnostics: [
      {
        code: 'MESH_NOTIFICATION_UNRECOGNISED',
        severity: 'error',
        messageId: where.messageId,
        message: `Notification ${where.messageId} (${payload.length} bytes) matched none of the formats ${(config.formats ?? notificationFormats).join(', ')}; it is stored raw at ${where.path}.`,
        hint: 'Open the file, set mesh.notifications.formats and fields to match it (README: notification formats) or plug in a parser, then run `cadmap mesh poll --reconcile-only`.',
      },
    ],
  };
}
