import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { canonicalCqiCase, cqiCaseSchemaVersion, cqiCodeSystems, nodeKindOf, type CqiCase, type Diagnostic } from '@cadmap/core';

/**
 * The XML wire shape modelled on the `NHSPathways/PathwaysCase` export (docs/cqi.md §3.1), namespace
 * `http://www.nhspathways.org/webservices/pathways/pathwaysCase`. Members of the canonical model that the export has no
 * element for are written as extra elements (SchemaVersion, CaseStatus, OdsCode, Sequence, …) so the shape is lossless.
 */
export const pathwaysCaseNamespace = 'http://www.nhspathways.org/webservices/pathways/pathwaysCase';

type Kind = 'text' | 'int' | 'bool';
/** [XML path under the parent element, canonical path, kind]. */
type Field = readonly [xml: string, path: string, kind: Kind];

const caseFields: readonly Field[] = [
  ['SchemaVersion', 'schemaVersion', 'text'],
  ['CaseStatus', 'status', 'text'],
  ['PathwaysReleaseID', 'case.pathwaysReleaseLabel', 'text'],
  ['CaseID', 'case.caseId', 'text'],
  ['CADCaseID', 'case.cadCaseId', 'text'],
  ['HostCaseID', 'case.hostCaseId', 'text'],
  ['JourneyId', 'case.journeyId', 'text'],
  ['SiteId', 'provider.siteId', 'text'],
  ['SiteName', 'provider.siteName', 'text'],
  ['NhsEnglandCode', 'provider.nhsEnglandCode', 'text'],
  ['OdsCode', 'provider.odsCode', 'text'],
  ['Service', 'provider.service', 'text'],
  ['Software/ProductName', 'provider.software.productName', 'text'],
  ['Software/Version', 'provider.software.version', 'text'],
  ['CaseTriageStart', 'case.triageStart', 'text'],
  ['CaseTriageEnd', 'case.triageEnd', 'text'],
  ['PostCode', 'case.postcode', 'text'],
  ['CallReason/CallReason', 'case.callReason', 'text'],
  ['CallHandlerUserID', 'operator.callHandlerUserId', 'text'],
  ['ClinicianUserID', 'operator.clinicianUserId', 'text'],
  ['SymptomGroup', 'symptomGroup.code', 'text'],
  ['SymptomGroupDescription', 'symptomGroup.display', 'text'],
  ['LaunchType', 'case.launchType', 'int'],
  ['Trauma/TraumaID', 'case.trauma.id', 'int'],
  ['Trauma/TraumaDescription', 'case.trauma.description', 'text'],
  ['Skillset/SkillsetID', 'operator.skillset.id', 'int'],
  ['Skillset/SkillsetDescription', 'operator.skillset.description', 'text'],
  ['Party/Party', 'case.party', 'int'],
  ['Patient/NhsNumber', 'patient.nhsNumber', 'text'],
  ['Patient/Age/AgeID', 'patient.ageGroup.id', 'int'],
  ['Patient/Age/AgeDescription', 'patient.ageGroup.description', 'text'],
  ['Patient/Age/AgeHours', 'patient.ageHours', 'int'],
  ['Patient/Age/DOBorYear', 'patient.dateOfBirthOrYear', 'text'],
  ['Patient/Gender/GenderID', 'patient.gender.id', 'int'],
  ['Patient/Gender/GenderDescription', 'patient.gender.description', 'text'],
  ['Patient/CallerIsPatient', 'patient.callerIsPatient', 'bool'],
  ['TriageDisposition/DispositionCode', 'triageDisposition.code', 'text'],
  ['TriageDisposition/DispositionDescription', 'triageDisposition.display', 'text'],
  ['FinalDisposition/DispositionCode', 'finalDisposition.code', 'text'],
  ['FinalDisposition/DispositionDescription', 'finalDisposition.display', 'text'],
  ['FinalDisposition/DispositionOverrideID', 'finalDisposition.override.id', 'text'],
  ['FinalDisposition/DispositionOverrideText', 'finalDisposition.override.description', 'text'],
  ['FinalDispositionCMSID', 'finalDisposition.cmsId', 'int'],
  ['Ambulance/ArpCategory/Code', 'ambulance.arpCategory.code', 'text'],
  ['Ambulance/ArpCategory/Description', 'ambulance.arpCategory.display', 'text'],
  ['DOS/DOStransactionID', 'selectedService.dosTransactionId', 'text'],
  ['DOS/ServiceID', 'selectedService.serviceId', 'text'],
  ['DOS/ServiceName', 'selectedService.serviceName', 'text'],
  ['DOS/ContactDetails', 'selectedService.contactDetails', 'text'],
  ['DOS/Open24Hrs', 'selectedService.open24Hrs', 'bool'],
  ['DOS/AccessNotes', 'selectedService.accessNotes', 'text'],
  ['DOS/Address', 'selectedService.address', 'text'],
  ['DOS/Capacity', 'selectedService.capacity', 'text'],
  ['Pathway/PathwayID', 'startingPathway.id', 'text'],
  ['Pathway/PathwayDescription', 'startingPathway.description', 'text'],
];

const lineFields: readonly Field[] = [
  ['Sequence', 'sequence', 'int'],
  ['UserID', 'userId', 'text'],
  ['IncludeInReport', 'includeInReport', 'bool'],
  ['InterfaceID', 'interfaceId', 'int'],
  ['TimeIn', 'timeIn', 'text'],
  ['TimeOut', 'timeOut', 'text'],
  ['AnswerNumber', 'answerNumber', 'int'],
  ['PathwayID', 'pathwayId', 'text'],
  ['OrderNumber', 'orderNumber', 'text'],
  ['QuestionText', 'questionText', 'text'],
  ['AnswerText', 'answerText', 'text'],
  ['AdditionalText', 'additionalText', 'text'],
  ['ReportText', 'reportText', 'text'],
  ['QuestionType', 'nodeId', 'text'],
  ['Action', 'action', 'text'],
  ['SystemFlag', 'systemFlag', 'text'],
  ['PathwayVersion/Major', 'pathwayVersion.major', 'int'],
  ['PathwayVersion/Minor', 'pathwayVersion.minor', 'int'],
  ['PathwayVersion/SubRevision', 'pathwayVersion.subRevision', 'int'],
  ['Disposition/DispositionCode', 'disposition.code', 'text'],
  ['Disposition/DispositionRationale', 'disposition.rationale', 'text'],
  ['Disposition/DispositionOverrideID', 'disposition.overrideId', 'text'],
  ['Disposition/DispositionOverrideText', 'disposition.overrideText', 'text'],
  ['Disposition/DispositionRatText', 'disposition.rationaleText', 'text'],
  ['CareAdvice/CxKeywords', 'careAdvice.keywords', 'text'],
  ['CareAdvice/SymptomDiscriminator', 'careAdvice.symptomDiscriminator', 'text'],
];

/** Element names older releases spell differently. */
const aliases: Readonly<Record<string, string>> = { DispositionRational: 'DispositionRationale' };

type Json = Record<string, unknown>;

function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') {
      return undefined;
    }
    current = (current as Json)[key];
  }
  return current;
}

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let current = target;
  for (const key of keys.slice(0, -1)) {
    const next = current[key];
    if (next === null || typeof next !== 'object') {
      current[key] = {};
    }
    current = current[key] as Json;
  }
  current[keys.at(-1)!] = value;
}

const xmlText = (value: unknown, kind: Kind): string => (kind === 'bool' ? (value === true ? 'True' : 'False') : String(value));

function writeFields(fields: readonly Field[], source: unknown, out: Json): void {
  for (const [xml, path, kind] of fields) {
    let value = getPath(source, path);
    if (path === 'careAdvice.keywords' && Array.isArray(value)) {
      value = value.length > 0 ? value.join('|') : undefined;
    }
    if (value === undefined || value === null) {
      continue;
    }
    setPath(out, xml.replaceAll('/', '.'), xmlText(value, kind));
  }
}

const escapeXml = (_name: string, value: unknown): string =>
  String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');

const builder = new XMLBuilder({ format: true, indentBy: '  ', ignoreAttributes: false, attributeNamePrefix: '@_', processEntities: false, tagValueProcessor: escapeXml, attributeValueProcessor: escapeXml });

/** Characters XML 1.0 cannot carry at all, not even as references. */
// eslint-disable-next-line no-control-regex
const notXmlChar = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Encodes a (valid) canonical case as Pathways-case XML. Returns diagnostics for text XML cannot carry. */
export function encodePathwaysXml(value: CqiCase): { body?: string; diagnostics: Diagnostic[] } {
  const canonical = canonicalCqiCase(value);
  const diagnostics = findUnencodable(canonical, 'Case');
  if (diagnostics.length > 0) {
    return { diagnostics };
  }
  const pathwaysCase: Json = {};
  const release = canonical.case.pathwaysReleaseLabel ?? canonical.case.pathwaysReleaseId;
  writeFields(caseFields, { ...canonical, case: { ...canonical.case, pathwaysReleaseLabel: release } }, pathwaysCase);
  if (canonical.symptomDiscriminators) {
    setPath(pathwaysCase, 'SymptomDiscriminators.SymptomDiscriminator', canonical.symptomDiscriminators.map((sd) => {
      const out: Json = {};
      writeFields([['Code', 'code', 'text'], ['Description', 'display', 'text'], ['LineSequence', 'lineSequence', 'int']], sd, out);
      return out;
    }));
  }
  if (canonical.ambulance?.systemFlags) {
    setPath(pathwaysCase, 'Ambulance.SystemFlags.SystemFlag', canonical.ambulance.systemFlags);
  }
  pathwaysCase.TriageLineDetails = {
    TriageLine: canonical.triageLines.map((line) => {
      const out: Json = {};
      writeFields(lineFields, line, out);
      return out;
    }),
  };
  if (canonical.extensions) {
    pathwaysCase.Extensions = JSON.stringify(canonical.extensions);
  }
  const body = builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, NHSPathways: { '@_xmlns': pathwaysCaseNamespace, PathwaysCase: pathwaysCase } });
  return { body, diagnostics: [] };
}

function findUnencodable(value: unknown, path: string): Diagnostic[] {
  if (typeof value === 'string') {
    return notXmlChar.test(value)
      ? [{ code: 'CQI_WIRE_SYNTAX', severity: 'error', message: `${path} holds a control character that XML 1.0 cannot carry.`, hint: 'Remove control characters from the source text, or send JSON.', expression: path }]
      : [];
  }
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => findUnencodable(item, `${path}[${index}]`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => findUnencodable(child, path === 'Case' && key === 'extensions' ? `${path}.${key}` : `${path}.${key}`));
  }
  return [];
}

const repeated = ['TriageLineDetails.TriageLine', 'SymptomDiscriminators.SymptomDiscriminator', 'SystemFlags.SystemFlag'];
const parser = new XMLParser({
  parseTagValue: false,
  trimValues: false,
  ignoreAttributes: true,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  htmlEntities: true,
  isArray: (_name, jpath) => repeated.some((path) => String(jpath).endsWith(path)),
});

/**
 * Decodes Pathways-case XML (this encoder's output, or a Pathways case export) into the canonical model, unchecked:
 * validate the result with validateCqiCase. Elements the model does not know are reported, never dropped silently.
 */
export function decodePathwaysXml(body: string, file?: string): { value?: unknown; diagnostics: Diagnostic[] } {
  const where = file ?? 'the XML payload';
  const syntax = XMLValidator.validate(body);
  if (syntax !== true) {
    return {
      diagnostics: [{
        code: 'CQI_WIRE_SYNTAX',
        severity: 'error',
        message: `${where} is not well-formed XML: ${syntax.err.msg}`,
        hint: 'Check the line shown; the payload must be one NHSPathways/PathwaysCase document.',
        ...(file !== undefined ? { input: { file, line: syntax.err.line, column: syntax.err.col } } : {}),
      }],
    };
  }
  const document = parser.parse(body) as Json;
  const root = document.NHSPathways as Json | undefined;
  const pathwaysCase = (root?.PathwaysCase ?? document.PathwaysCase) as Json | undefined;
  if (pathwaysCase === undefined || typeof pathwaysCase !== 'object') {
    return {
      diagnostics: [{
        code: 'CQI_WIRE_SYNTAX',
        severity: 'error',
        message: `${where} has no NHSPathways/PathwaysCase element (root: ${Object.keys(document).filter((k) => k !== '#text').join(', ') || 'none'}).`,
        hint: `Send one <NHSPathways xmlns="${pathwaysCaseNamespace}"><PathwaysCase>… document.`,
        ...(file !== undefined ? { input: { file, line: 1 } } : {}),
      }],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const unknown = (name: string, xpath: string): void => {
    diagnostics.push({
      code: 'CQI_WIRE_SYNTAX',
      severity: 'warning',
      message: `${where}: element ${xpath} is not part of the CQI case shape; it was not read.`,
      hint: 'If the element carries data CQI needs, it belongs in the canonical model or under extensions.',
      ...(file !== undefined ? { input: { file, xpath, field: name } } : {}),
    });
  };
  const out: Json = {};
  readFields(caseFields, pathwaysCase, out, '/NHSPathways/PathwaysCase', unknown, ['SymptomDiscriminators', 'Ambulance/SystemFlags', 'TriageLineDetails', 'Extensions']);
  const release = getPath(out, 'case.pathwaysReleaseLabel');
  if (typeof release === 'string') {
    const id = release.split('_')[0]!;
    setPath(out, 'case.pathwaysReleaseId', id);
    if (id === release) {
      delete (out.case as Json).pathwaysReleaseLabel;
    }
  }
  for (const [path, system] of [
    ['symptomGroup', cqiCodeSystems.symptomGroup],
    ['triageDisposition', cqiCodeSystems.disposition],
    ['finalDisposition', cqiCodeSystems.disposition],
    ['ambulance.arpCategory', cqiCodeSystems.arpCategory],
  ] as const) {
    const coding = getPath(out, path);
    if (coding !== null && typeof coding === 'object') {
      setPath(out, path, { system, ...(coding as Json) });
    }
  }
  const sds = getPath(pathwaysCase, 'SymptomDiscriminators.SymptomDiscriminator');
  if (Array.isArray(sds)) {
    out.symptomDiscriminators = sds.map((sd, index) => {
      const item: Json = {};
      readFields([['Code', 'code', 'text'], ['Description', 'display', 'text'], ['LineSequence', 'lineSequence', 'int']], sd, item, `/NHSPathways/PathwaysCase/SymptomDiscriminators/SymptomDiscriminator[${index + 1}]`, unknown);
      return { system: cqiCodeSystems.symptomDiscriminator, ...item };
    });
  }
  const flags = getPath(pathwaysCase, 'Ambulance.SystemFlags.SystemFlag');
  if (Array.isArray(flags)) {
    setPath(out, 'ambulance.systemFlags', flags.map((flag) => textOf(flag)).filter((flag): flag is string => flag !== undefined));
  }
  const lines = getPath(pathwaysCase, 'TriageLineDetails.TriageLine');
  out.triageLines = (Array.isArray(lines) ? lines : []).map((line, index) => {
    const item: Json = {};
    readFields(lineFields, line, item, `/NHSPathways/PathwaysCase/TriageLineDetails/TriageLine[${index + 1}]`, unknown);
    item.sequence ??= index + 1;
    if (typeof item.nodeId === 'string') {
      item.nodeKind = nodeKindOf(item.nodeId);
    }
    const keywords = getPath(item, 'careAdvice.keywords');
    if (typeof keywords === 'string') {
      setPath(item, 'careAdvice.keywords', keywords.split('|').filter((k) => k !== ''));
    }
    if (getPath(item, 'careAdvice.symptomDiscriminator') === '0') {
      delete (item.careAdvice as Json).symptomDiscriminator;
    }
    return item;
  });
  const extensions = textOf(pathwaysCase.Extensions);
  if (extensions !== undefined) {
    try {
      out.extensions = JSON.parse(extensions) as unknown;
    } catch {
      diagnostics.push({ code: 'CQI_WIRE_SYNTAX', severity: 'error', message: `${where}: Extensions does not hold JSON.`, hint: 'Extensions carries a JSON object.', ...(file !== undefined ? { input: { file, xpath: '/NHSPathways/PathwaysCase/Extensions' } } : {}) });
    }
  }
  out.schemaVersion ??= cqiCaseSchemaVersion;
  out.status ??= getPath(out, 'finalDisposition') !== undefined ? 'complete' : 'partial';
  return { value: canonicalCqiCase(out as unknown as CqiCase), diagnostics };
}

function textOf(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : value !== null && typeof value === 'object' && typeof (value as Json)['#text'] === 'string' ? ((value as Json)['#text'] as string) : undefined;
  return text === undefined || text === '' ? undefined : text;
}

function readFields(fields: readonly Field[], element: unknown, out: Json, xpath: string, unknown: (name: string, xpath: string) => void, skip: readonly string[] = []): void {
  const known = new Map(fields.map(([xml, path, kind]) => [xml, [path, kind] as const]));
  const walk = (node: unknown, prefix: string): void => {
    if (node === null || typeof node !== 'object') {
      return;
    }
    for (const [rawName, child] of Object.entries(node as Json)) {
      if (rawName === '#text') {
        continue;
      }
      const name = aliases[rawName] ?? rawName;
      const xml = prefix === '' ? name : `${prefix}/${name}`;
      if (skip.includes(xml)) {
        continue;
      }
      const field = known.get(xml);
      if (field) {
        const text = textOf(child);
        if (text !== undefined) {
          setPath(out, field[0], convert(text, field[1]));
        }
      } else if (fields.some(([f]) => f.startsWith(`${xml}/`)) || skip.some((s) => s.startsWith(`${xml}/`))) {
        walk(child, xml);
      } else {
        unknown(rawName, `${xpath}/${xml}`);
      }
    }
  };
  walk(element, '');
}

function convert(text: string, kind: Kind): unknown {
  switch (kind) {
    case 'text':
      return text;
    case 'int':
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'bool':
      return /^true$/i.test(text.trim()) ? true : /^false$/i.test(text.trim()) ? false : text;
  }
}
