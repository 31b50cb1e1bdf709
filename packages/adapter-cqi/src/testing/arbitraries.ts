/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- mutations break the types on purpose */
/**
 * fast-check arbitraries of canonical CQI cases, for property tests (not part of the package build).
 * `validCqiCase` yields cases with no diagnostics at all; `invalidCqiCase` breaks one rule and says which code it expects.
 */
import fc from 'fast-check';
import { canonicalCqiCase, cqiCodeSystems, nodeKindOf, type CqiCase, type CqiTriageLine, type DiagnosticCode } from '@cadmap/core';

const special = fc.constantFrom('&', '<', '>', '"', "'", ' ', '\n', '\r\n', '\t', ']]>', 'é', '😀', '£', '&amp;', '  ');
const textArb = fc.string({ unit: fc.oneof(fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }), special), minLength: 1, maxLength: 12 });
const keywordArb = textArb.filter((k) => !k.includes('|'));
const digits = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const dxCode = digits(2, 5).map((d) => `Dx${d}`);
const sdCode = digits(4, 4).filter((d) => d !== '0000').map((d) => `${Number(d) + 4000}`);
const pathwayId = fc.tuple(fc.constantFrom('PW', 'PA', 'PT', 'PFA', 'PMA', 'PMC', 'PM'), fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 1, maxLength: 5 })).map(([p, s]) => p + s);
const idDescription = fc.record({ id: fc.integer({ min: 0, max: 20 }), description: textArb }, { requiredKeys: ['id'] });
const nodeId = fc.oneof(digits(6, 6).map((d) => `Tx${d}`), digits(6, 6).map((d) => `Cx${d}`), digits(6, 6).map((d) => `Dx${d}`), fc.constant('DOS'), fc.constant('PMI'));

/** ISO instant with 7 fractional digits (as Pathways writes them) from epoch nanoseconds. */
function instant(nanos: bigint): string {
  const millis = nanos / 1_000_000n;
  const base = new Date(Number(millis)).toISOString().slice(0, 19);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0').slice(0, 7);
  return `${base}.${fraction}Z`;
}

const lineArb = fc.record(
  {
    userId: textArb,
    pathwayId,
    orderNumber: digits(1, 5),
    nodeId,
    questionText: textArb,
    answerNumber: fc.integer({ min: 0, max: 8 }),
    answerText: textArb,
    additionalText: textArb,
    reportText: textArb,
    includeInReport: fc.boolean(),
    action: fc.constantFrom('Next', 'Back', 'Change', 'Save and close'),
    interfaceId: fc.integer({ min: 0, max: 12 }),
    systemFlag: fc.constantFrom('0', '1', '2', 'Trauma', 'Non Trauma'),
    pathwayVersion: fc.record({ major: fc.nat(40), minor: fc.nat(9), subRevision: fc.nat(9) }),
    disposition: fc.record({ code: dxCode, rationale: textArb, rationaleText: textArb, overrideId: digits(1, 2), overrideText: textArb }, { requiredKeys: [] }),
    careAdvice: fc.record({ keywords: fc.array(keywordArb, { minLength: 1, maxLength: 3 }), symptomDiscriminator: sdCode }, { requiredKeys: [] }),
  },
  { requiredKeys: ['nodeId'] },
);

/** A case that validates with no diagnostics, in canonical form (no nulls, no empty objects or lists). */
export const validCqiCase: fc.Arbitrary<CqiCase> = fc
  .record({
    caseId: fc.uuid(),
    optional: fc.record(
      {
        hostCaseId: fc.uuid(),
        cadCaseId: fc.uuid(),
        journeyId: fc.uuid(),
        callReason: textArb,
        postcode: fc.constantFrom('ZZ99 3AA', 'LS1 4AP', 'SW1A 1AA'),
        launchType: fc.nat(3),
        party: fc.constantFrom(1, 3),
        trauma: idDescription,
      },
      { requiredKeys: [] },
    ),
    release: fc.tuple(fc.nat(40), fc.nat(9), fc.nat(9), fc.option(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s), { nil: undefined })),
    start: fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_800_000_000_000_000_000n }),
    steps: fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 90_000_000_000n }), fc.bigInt({ min: 0n, max: 90_000_000_000n }), fc.integer({ min: 1, max: 3 }), lineArb), { minLength: 1, maxLength: 8 }),
    clinician: fc.boolean(),
    operatorId: textArb,
    skillset: idDescription,
    provider: fc.record({ odsCode: fc.constantFrom('RX9', 'NL3'), siteId: digits(1, 3), siteName: textArb, nhsEnglandCode: fc.constantFrom('111AD9', '999X1'), service: fc.constantFrom('111' as const, '999' as const), software: fc.record({ productName: textArb, version: textArb }) }, { requiredKeys: [] }),
    patient: fc.record({ nhsNumber: digits(10, 10), ageGroup: idDescription, ageHours: fc.nat(1_000_000), dateOfBirthOrYear: textArb, gender: idDescription, callerIsPatient: fc.boolean() }, { requiredKeys: [] }),
    startingPathway: fc.option(fc.record({ id: pathwayId, description: textArb }, { requiredKeys: ['id'] }), { nil: undefined }),
    symptomGroup: fc.option(fc.record({ code: digits(4, 4), display: textArb }, { requiredKeys: ['code'] }), { nil: undefined }),
    sds: fc.array(fc.record({ code: sdCode, display: textArb, lineSequence: fc.integer({ min: 1, max: 200 }) }, { requiredKeys: ['code'] }), { maxLength: 3 }),
    triageDisposition: fc.option(fc.record({ code: dxCode, display: textArb }, { requiredKeys: ['code'] }), { nil: undefined }),
    finalDisposition: fc.option(fc.record({ code: dxCode, display: textArb, cmsId: fc.integer({ min: 1000, max: 99999 }), override: fc.record({ id: digits(1, 2), description: textArb }, { requiredKeys: ['id'] }) }, { requiredKeys: ['code'] }), { nil: undefined }),
    ambulance: fc.option(fc.record({ arpCategory: fc.record({ code: fc.constantFrom('1', '2', '3', '4'), display: textArb }, { requiredKeys: ['code'] }), systemFlags: fc.array(textArb, { minLength: 1, maxLength: 3 }) }, { requiredKeys: [] }), { nil: undefined }),
    selectedService: fc.option(fc.record({ dosTransactionId: fc.uuid(), serviceId: digits(3, 8), serviceName: textArb, contactDetails: textArb, open24Hrs: fc.boolean(), accessNotes: textArb, address: textArb, capacity: textArb }, { requiredKeys: [] }), { nil: undefined }),
    extensions: fc.option(fc.dictionary(fc.string({ unit: fc.constantFrom(...'abcdefgh'), minLength: 1, maxLength: 6 }), fc.oneof(textArb, fc.integer(), fc.boolean()), { minKeys: 1, maxKeys: 3 }), { nil: undefined }),
  })
  .map((g): CqiCase => {
    let clock = g.start;
    let sequence = 0;
    const lines: CqiTriageLine[] = g.steps.map(([gap, duration, step, line]) => {
      const timeIn = clock + gap;
      const timeOut = timeIn + duration;
      clock = timeOut;
      sequence += step;
      return { sequence, timeIn: instant(timeIn), timeOut: instant(timeOut), ...line, nodeKind: nodeKindOf(line.nodeId) };
    });
    const [major, minor, patch, suffix] = g.release;
    const releaseId = `${major}.${minor}.${patch}`;
    const complete = g.finalDisposition !== undefined;
    const value: CqiCase = {
      schemaVersion: 'cqi-case/1.0.0',
      status: complete ? 'complete' : 'partial',
      case: {
        caseId: g.caseId,
        ...g.optional,
        triageStart: instant(g.start),
        triageEnd: instant(clock),
        pathwaysReleaseId: releaseId,
        ...(suffix !== undefined ? { pathwaysReleaseLabel: `${releaseId}_${suffix}` } : {}),
      },
      operator: { [g.clinician ? 'clinicianUserId' : 'callHandlerUserId']: g.operatorId, skillset: g.skillset },
      triageLines: lines,
    };
    if (Object.keys(g.provider).length > 0) {
      value.provider = g.provider;
    }
    if (Object.keys(g.patient).length > 0) {
      value.patient = g.patient;
    }
    if (g.startingPathway) {
      value.startingPathway = g.startingPathway;
    }
    if (g.symptomGroup) {
      value.symptomGroup = { system: cqiCodeSystems.symptomGroup, ...g.symptomGroup };
    }
    if (g.sds.length > 0) {
      value.symptomDiscriminators = g.sds.map((sd) => ({ system: cqiCodeSystems.symptomDiscriminator, ...sd }));
    }
    if (g.triageDisposition) {
      value.triageDisposition = { system: cqiCodeSystems.disposition, ...g.triageDisposition };
    }
    if (g.finalDisposition) {
      value.finalDisposition = { system: cqiCodeSystems.disposition, ...g.finalDisposition };
    }
    if (g.ambulance && Object.keys(g.ambulance).length > 0) {
      value.ambulance = g.ambulance.arpCategory ? { ...g.ambulance, arpCategory: { system: cqiCodeSystems.arpCategory, ...g.ambulance.arpCategory } } : { ...g.ambulance, arpCategory: undefined };
      if (value.ambulance.arpCategory === undefined) {
        delete value.ambulance.arpCategory;
      }
    }
    if (g.selectedService && Object.keys(g.selectedService).length > 0) {
      value.selectedService = g.selectedService;
    }
    if (g.extensions) {
      value.extensions = g.extensions;
    }
    return canonicalCqiCase(value);
  });

type Mutation = readonly [expected: DiagnosticCode, mutate: (value: Record<string, any>) => void];

/** One way to break a case, and the code the validator must answer with. */
const mutations: readonly Mutation[] = [
  ['CQI_TRIAGE_TIME_ORDER', (v) => { v.case.triageEnd = '2000-01-01T00:00:00Z'; }],
  ['CQI_LINE_TIME_ORDER', (v) => { v.triageLines[0].timeOut = '2000-01-01T00:00:00.0000001+00:00'; v.case.triageStart = '1999-12-31T23:00:00Z'; v.triageLines[0].timeIn = '2000-01-01T00:00:00.0000002Z'; }],
  ['CQI_FINAL_DISPOSITION_MISSING', (v) => { v.status = 'complete'; delete v.finalDisposition; }],
  ['CQI_SCHEMA', (v) => { v.finalDisposition = { system: cqiCodeSystems.disposition, code: 75 }; v.status = 'complete'; }],
  ['CQI_DX_CODE', (v) => { v.triageDisposition = { system: cqiCodeSystems.disposition, code: 'Dx220041' }; }],
  ['CQI_SG_CODE', (v) => { v.symptomGroup = { system: cqiCodeSystems.symptomGroup, code: 'SG12' }; }],
  ['CQI_SD_CODE', (v) => { v.triageLines[0].careAdvice = { symptomDiscriminator: '0' }; }],
  ['CQI_PATHWAY_ID', (v) => { v.triageLines[0].pathwayId = 'pw1751'; }],
  ['CQI_RELEASE_ID', (v) => { v.case.pathwaysReleaseId = '25.2.0_internalV3'; delete v.case.pathwaysReleaseLabel; }],
  ['CQI_LINE_SEQUENCE', (v) => { v.triageLines.push({ ...v.triageLines[0] }); }],
  ['CQI_SCHEMA', (v) => { delete v.case.caseId; }],
  ['CQI_SCHEMA', (v) => { v.triageLines[0].colour = 'red'; }],
  ['CQI_SCHEMA', (v) => { v.triageLines[0].timeIn = '01/03/2024 11:15'; }],
  ['CQI_SCHEMA', (v) => { v.case.callReason = ''; }],
  ['CQI_SCHEMA', (v) => { v.triageLines[0].answerNumber = '1'; }],
  ['CQI_SCHEMA_VERSION', (v) => { v.schemaVersion = 'cqi-case/2.0.0'; }],
  ['CQI_NODE_KIND', (v) => { v.triageLines[0].nodeId = 'Tx1'; v.triageLines[0].nodeKind = 'careAdvice'; }],
  ['CQI_OPERATOR', (v) => { v.operator = { callHandlerUserId: 'JW', clinicianUserId: 'AB' }; }],
];

/** A valid case broken in one way, with the diagnostic code that must be reported. */
export const invalidCqiCase: fc.Arbitrary<{ value: unknown; expected: DiagnosticCode }> = fc
  .tuple(validCqiCase, fc.constantFrom(...mutations))
  .map(([valid, [expected, mutate]]) => {
    const value = structuredClone(valid) as Record<string, any>;
    mutate(value);
    return { value, expected };
  });
