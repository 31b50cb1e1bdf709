import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Diagnostic, DiagnosticCode, Severity } from '../diagnostics/diagnostic.js';
import { distinctSchemaErrors } from '../diagnostics/ajv-errors.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { precompiledValidators, schemaAjvOptions, standaloneModule } from '../precompiled-validators.js';
import { cqiCaseSchemaVersion, nodeKindOf, type CqiCase } from './model.js';

/** Absolute path (file URL) of the JSON Schema of the canonical CQI case model `cqi-case/1.0.0`. */
export const cqiCaseSchemaPath = new URL('../../schema/cqi-case-1.0.0.schema.json', import.meta.url);

/** The result of checking one CQI case. */
export interface CqiValidation {
  /** True when no error was found (warnings allowed): the case can be sent. */
  readonly valid: boolean;
  /** The case, typed, when it matches the schema (invariant errors may still be present). */
  readonly case?: CqiCase;
  readonly diagnostics: Diagnostic[];
}

export interface CqiValidationOptions {
  /** Root of the `expression` paths in diagnostics (default `Case`, as the mapping engine expects). */
  readonly root?: string;
}

let compiled: { schema: Record<string, unknown>; validate: ValidateFunction } | undefined;

/** Where the build writes the case validator compiled ahead of time (next to this module in dist/). */
export const precompiledCqiValidatorFile = 'cqi-case-validator.cjs';

/**
 * The case schema's validator as a standalone CommonJS module: the build writes it next to this module, so that
 * the first case checked does not compile the schema (about 80 ms).
 */
export function standaloneCqiValidator(): string {
  const schemaText = readFileSync(cqiCaseSchemaPath, 'utf8');
  const schema = JSON.parse(schemaText) as Record<string, unknown>;
  return standaloneModule(schema, schemaText, { cqiCase: String(schema.$id) });
}

function validator(): { schema: Record<string, unknown>; validate: ValidateFunction } {
  if (!compiled) {
    const schemaText = readFileSync(cqiCaseSchemaPath, 'utf8');
    const schema = JSON.parse(schemaText) as Record<string, unknown>;
    const ready = precompiledValidators(import.meta.url, precompiledCqiValidatorFile, schemaText, ['cqiCase']);
    compiled = { schema, validate: ready?.cqiCase ?? new Ajv(schemaAjvOptions).compile(schema) };
  }
  return compiled;
}

/** The CQI case JSON Schema as an object. */
export const cqiCaseSchema = (): Readonly<Record<string, unknown>> => validator().schema;

/**
 * Checks a value against the canonical CQI case model: the JSON Schema (errors, `CQI_SCHEMA`), then the invariants
 * (triage end ≥ start, each line's time out ≥ time in, strictly increasing line sequence, a complete case has a final
 * disposition: errors) and the code formats of Dx, SG, SD, pathway and release ids (warnings). Every diagnostic names
 * the case and line it concerns and carries an `expression` path such as `Case.triageLines[3].timeOut`.
 */
export function validateCqiCase(value: unknown, options: CqiValidationOptions = {}): CqiValidation {
  const root = options.root ?? 'Case';
  const { validate } = validator();
  const diagnostics: Diagnostic[] = [];
  const caseLabel = describeCase(value);
  const schemaOk = validate(value);
  if (!schemaOk) {
    for (const error of reduceErrors(validate.errors ?? [])) {
      diagnostics.push(schemaDiagnostic(error, root, caseLabel));
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    diagnostics.push(...invariants(value as Record<string, unknown>, root, caseLabel));
  }
  return { valid: !hasErrors(diagnostics), ...(schemaOk ? { case: value as CqiCase } : {}), diagnostics };
}

function describeCase(value: unknown): string {
  const caseId = (value as { case?: { caseId?: unknown } } | null)?.case?.caseId;
  return typeof caseId === 'string' && caseId !== '' ? `Case ${caseId}` : 'The case';
}

/** `/triageLines/3/timeOut` ⟶ `Case.triageLines[3].timeOut`. */
function pathOf(root: string, pointer: string, extra?: string): string {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) {
    segments.push(extra);
  }
  return segments.reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : `${path}.${segment}`), root);
}

/** Names the triage line a path is in, e.g. ` (line 4, sequence 4)`. */
function lineOf(pointer: string): string {
  const match = /^\/triageLines\/(\d+)/.exec(pointer);
  return match ? ` on triage line ${Number(match[1]) + 1}` : '';
}

function reduceErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  return distinctSchemaErrors(errors, (error) => error.keyword === 'anyOf' || (error.keyword === 'type' && (error.params as { type?: unknown }).type === 'null'));
}

function schemaDiagnostic(error: ErrorObject, root: string, caseLabel: string): Diagnostic {
  const params = error.params as Record<string, unknown>;
  const where = pathOf(root, error.instancePath);
  const on = lineOf(error.instancePath);
  const found = JSON.stringify(error.data)?.slice(0, 80) ?? 'nothing';
  const description = (error.parentSchema as { description?: unknown } | undefined)?.description;
  const describe = typeof description === 'string' ? description : undefined;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const holder = error.instancePath === '' ? caseLabel : `${caseLabel}${on}: ${where}`;
      return schema(`${holder} has no '${missing}', which is required.`, pathOf(root, error.instancePath, missing), `Map a value to ${pathOf(root, error.instancePath, missing)}.`);
    }
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return schema(`${error.instancePath === '' ? caseLabel : `${caseLabel}${on}: ${where}`} has an unknown member '${key}'.`, pathOf(root, error.instancePath, key), `Allowed members: ${allowed.join(', ')}. Put wire fields not in the model under extensions.`);
    }
    case 'const':
      if (error.instancePath === '/schemaVersion') {
        return {
          code: 'CQI_SCHEMA_VERSION',
          severity: 'error',
          message: `${caseLabel}: schemaVersion is ${found}; this cadmap reads ${cqiCaseSchemaVersion}.`,
          hint: `Set schemaVersion: ${cqiCaseSchemaVersion}.`,
          expression: where,
        };
      }
      return schema(`${caseLabel}${on}: ${where} must be ${JSON.stringify(params.allowedValue)}; found ${found}.`, where);
    case 'enum':
      return schema(`${caseLabel}${on}: ${where} must be one of ${(params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}; found ${found}.`, where, describe);
    case 'type': {
      const expected = String(params.type).replace(',null', '');
      const conversion = expected === 'integer' ? ' In a mapping, convert text with toInteger().' : expected === 'boolean' ? " In a mapping, compare text, e.g. =IncludeInReport = 'True'." : '';
      return schema(`${caseLabel}${on}: ${where} must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}; found ${found}.`, where, `${describe ?? ''}${conversion}`.trim() || undefined);
    }
    case 'pattern':
      return schema(
        `${caseLabel}${on}: ${where} ${found} does not match ${String(params.pattern)}.`,
        where,
        describe ?? (error.instancePath.endsWith('Time') || /time(In|Out)$|triage(Start|End)$/.test(error.instancePath) ? 'Write an ISO 8601 date-time with a zone, e.g. 2024-03-01T11:14:52Z; in a mapping use dateTime().' : undefined),
      );
    case 'minLength':
      return schema(`${caseLabel}${on}: ${where} is an empty string.`, where, 'Leave the member out when there is no value.');
    default:
      return schema(`${caseLabel}${on}: ${where} ${error.message ?? 'is not valid'}; found ${found}.`, where, describe);
  }
}

function schema(message: string, expression: string, hint?: string): Diagnostic {
  return { code: 'CQI_SCHEMA', severity: 'error', message, ...(hint !== undefined ? { hint } : {}), expression };
}

const dxCode = /^Dx\d{2,5}$/;
const numeric = /^\d+$/;
const pathwayId = /^P[A-Z0-9]+$/;
const releaseId = /^\d+\.\d+\.\d+$/;

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);
const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function invariants(doc: Json, root: string, caseLabel: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (code: DiagnosticCode, severity: Severity, message: string, expression: string, hint?: string): void => {
    out.push({ code, severity, message: `${caseLabel}${message}`, ...(hint !== undefined ? { hint } : {}), expression });
  };
  const details = asObject(doc.case);
  const start = instant(details?.triageStart);
  const end = instant(details?.triageEnd);
  if (start !== undefined && end !== undefined && end < start) {
    add('CQI_TRIAGE_TIME_ORDER', 'error', `: triage ends (${String(details?.triageEnd)}) before it starts (${String(details?.triageStart)}).`, `${root}.case.triageEnd`, 'Check the time zone and the source columns of triageStart and triageEnd.');
  }
  if (doc.status === 'complete' && asObject(doc.finalDisposition) === undefined) {
    add('CQI_FINAL_DISPOSITION_MISSING', 'error', ' is complete but has no final disposition.', `${root}.finalDisposition`, "Map the final disposition (Dx code), or send the case with status 'partial'.");
  }
  const release = asString(details?.pathwaysReleaseId);
  if (release !== undefined && !releaseId.test(release)) {
    add('CQI_RELEASE_ID', 'warning', `: release id ${JSON.stringify(release)} is not major.minor.patch.`, `${root}.case.pathwaysReleaseId`, "Keep the part before '_' as pathwaysReleaseId and the raw text as pathwaysReleaseLabel, e.g. 25.2.0 and 25.2.0_internalV3.");
  }
  const label = asString(details?.pathwaysReleaseLabel);
  if (release !== undefined && label !== undefined && (label.split('_')[0] !== release || label === release)) {
    add('CQI_RELEASE_ID', 'warning', `: release label ${JSON.stringify(label)} does not extend release id ${JSON.stringify(release)} with a _suffix.`, `${root}.case.pathwaysReleaseLabel`, 'Give a label only when the raw release has a suffix; its part before _ is the release id.');
  }
  const operator = asObject(doc.operator);
  const handler = asString(operator?.callHandlerUserId);
  const clinician = asString(operator?.clinicianUserId);
  if ((handler === undefined) === (clinician === undefined)) {
    add('CQI_OPERATOR', 'warning', handler === undefined ? ' names neither a call handler nor a clinician.' : ' names both a call handler and a clinician.', `${root}.operator`, 'Usually exactly one of operator.callHandlerUserId and operator.clinicianUserId is set.');
  }
  const checkDx = (value: unknown, expression: string, what: string): void => {
    const code = asString(value);
    if (code !== undefined && !dxCode.test(code)) {
      const node = /^Dx\d{6}$/.test(code);
      add('CQI_DX_CODE', 'warning', `: ${what} ${JSON.stringify(code)} is not a Dx code.`, expression, node ? `${code} is a disposition node id (a line's nodeId), not an outcome: use the Dx code, e.g. Dx75.` : 'Dx codes are Dx followed by 2 to 5 digits, kept as text with leading zeros (Dx012 is not Dx12).');
    }
  };
  const checkPathway = (value: unknown, expression: string, what: string): void => {
    const id = asString(value);
    if (id !== undefined && !pathwayId.test(id)) {
      add('CQI_PATHWAY_ID', 'warning', `: ${what} ${JSON.stringify(id)} is not a Pathways id.`, expression, 'Pathway and module ids are P followed by capitals or digits: PW1751, PA12, PFA1, PMI.');
    }
  };
  const checkSd = (value: unknown, expression: string, what: string): void => {
    const code = asString(value);
    if (code !== undefined && (!numeric.test(code) || code === '0')) {
      add('CQI_SD_CODE', 'warning', `: ${what} ${JSON.stringify(code)} is not a Symptom Discriminator code.`, expression, code === '0' ? "'0' means no SD: leave the member out." : 'SD codes are numeric strings, e.g. "4177".');
    }
  };
  checkDx(asObject(doc.triageDisposition)?.code, `${root}.triageDisposition.code`, 'triage disposition');
  checkDx(asObject(doc.finalDisposition)?.code, `${root}.finalDisposition.code`, 'final disposition');
  checkPathway(asObject(doc.startingPathway)?.id, `${root}.startingPathway.id`, 'starting pathway');
  const sg = asString(asObject(doc.symptomGroup)?.code);
  if (sg !== undefined && !numeric.test(sg)) {
    add('CQI_SG_CODE', 'warning', `: symptom group ${JSON.stringify(sg)} is not a Symptom Group code.`, `${root}.symptomGroup.code`, 'SG codes are numeric strings, e.g. "1203".');
  }
  if (Array.isArray(doc.symptomDiscriminators)) {
    doc.symptomDiscriminators.forEach((sd, index) => checkSd(asObject(sd)?.code, `${root}.symptomDiscriminators[${index}].code`, 'symptom discriminator'));
  }
  if (Array.isArray(doc.triageLines)) {
    let previous: number | undefined;
    doc.triageLines.forEach((item, index) => {
      const line = asObject(item);
      if (!line) {
        return;
      }
      const at = `${root}.triageLines[${index}]`;
      const which = ` line ${index + 1}${typeof line.sequence === 'number' ? ` (sequence ${line.sequence})` : ''}`;
      const timeIn = instant(line.timeIn);
      const timeOut = instant(line.timeOut);
      if (timeIn !== undefined && timeOut !== undefined && timeOut < timeIn) {
        add('CQI_LINE_TIME_ORDER', 'error', `,${which}: time out ${String(line.timeOut)} is before time in ${String(line.timeIn)}.`, `${at}.timeOut`, 'Check the source columns of timeIn and timeOut and their time zone.');
      }
      if (typeof line.sequence === 'number') {
        if (previous !== undefined && line.sequence <= previous) {
          add('CQI_LINE_SEQUENCE', 'error', `,${which}: sequence ${line.sequence} does not follow ${previous}.`, `${at}.sequence`, 'Number the lines in the order taken, e.g. sequence: =%index + 1.');
        }
        previous = line.sequence;
      }
      const nodeId = asString(line.nodeId);
      if (nodeId !== undefined && typeof line.nodeKind === 'string' && line.nodeKind !== nodeKindOf(nodeId)) {
        add('CQI_NODE_KIND', 'warning', `,${which}: nodeKind ${line.nodeKind} disagrees with nodeId ${nodeId} (${nodeKindOf(nodeId)}).`, `${at}.nodeKind`, 'Leave nodeKind out to have it derived, or fix the nodeId.');
      }
      checkPathway(line.pathwayId, `${at}.pathwayId`, `${which.trim()}: pathway`);
      checkDx(asObject(line.disposition)?.code, `${at}.disposition.code`, `${which.trim()}: disposition`);
      checkSd(asObject(line.careAdvice)?.symptomDiscriminator, `${at}.careAdvice.symptomDiscriminator`, `${which.trim()}: symptom discriminator`);
    });
  }
  return out;
}

const instantPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Nanoseconds since the epoch of an ISO 8601 instant (exact for up to 9 fractional digits); undefined if not one. */
export function instantNanos(value: unknown): bigint | undefined {
  return instant(value);
}

function instant(value: unknown): bigint | undefined {
  if (typeof value !== 'string') {
    return undefined;
  }
  const m = instantPattern.exec(value);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, fraction = '', zone, sign, oh = '0', om = '0'] = m;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const offsetMinutes = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const millis = base - offsetMinutes * 60_000;
  return BigInt(millis) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}
