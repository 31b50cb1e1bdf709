/**
 * The canonical CQI case model `cqi-case/1.0.0`: the project's own model of one NHS Pathways triage, pending the
 * official IDT interface specification (see docs/cqi.md §7). Wire encoders map it to what CQI requires.
 * Optional members may be absent or null; both mean unknown, and the canonical form leaves them out.
 */
export const cqiCaseSchemaVersion = 'cqi-case/1.0.0';

/** Coding systems of Pathways outcomes (NHS Booking and Referral Standard). */
export const cqiCodeSystems = {
  symptomGroup: 'https://fhir.nhs.uk/Id/pathways-sg-code',
  symptomDiscriminator: 'https://fhir.nhs.uk/Id/pathways-sd-code',
  disposition: 'https://fhir.nhs.uk/Id/pathways-dx-code',
  arpCategory: 'https://fhir.nhs.uk/Id/pathways-arp-code',
} as const;

type Maybe<T> = T | null | undefined;

/** A Pathways `{id, description}` pair exactly as produced (never an invented enum). */
export interface CqiIdDescription {
  id: number;
  description?: Maybe<string>;
}

export interface CqiCaseDetails {
  caseId: string;
  hostCaseId?: Maybe<string>;
  cadCaseId?: Maybe<string>;
  journeyId?: Maybe<string>;
  /** ISO 8601 with zone, up to 9 fractional digits. */
  triageStart: string;
  triageEnd?: Maybe<string>;
  /** Normalised `major.minor.patch`. */
  pathwaysReleaseId: string;
  /** Raw label when it carries a suffix, e.g. `25.2.0_internalV3`. */
  pathwaysReleaseLabel?: Maybe<string>;
  callReason?: Maybe<string>;
  postcode?: Maybe<string>;
  launchType?: Maybe<number>;
  party?: Maybe<number>;
  trauma?: Maybe<CqiIdDescription>;
}

export interface CqiProvider {
  odsCode?: Maybe<string>;
  siteId?: Maybe<string>;
  siteName?: Maybe<string>;
  nhsEnglandCode?: Maybe<string>;
  service?: Maybe<'111' | '999'>;
  software?: Maybe<{ productName?: Maybe<string>; version?: Maybe<string> }>;
}

export interface CqiOperator {
  callHandlerUserId?: Maybe<string>;
  clinicianUserId?: Maybe<string>;
  skillset?: Maybe<CqiIdDescription>;
}

export interface CqiPatient {
  nhsNumber?: Maybe<string>;
  ageGroup?: Maybe<CqiIdDescription>;
  ageHours?: Maybe<number>;
  dateOfBirthOrYear?: Maybe<string>;
  gender?: Maybe<CqiIdDescription>;
  callerIsPatient?: Maybe<boolean>;
}

export interface CqiCoding<System extends string = string> {
  system: System;
  code: string;
  display?: Maybe<string>;
}

export interface CqiSymptomDiscriminator extends CqiCoding<typeof cqiCodeSystems.symptomDiscriminator> {
  /** Sequence of the triage line that set it. */
  lineSequence?: Maybe<number>;
}

export interface CqiFinalDisposition extends CqiCoding<typeof cqiCodeSystems.disposition> {
  /** DoS/CMS disposition id as given; never derived. */
  cmsId?: Maybe<number>;
  override?: Maybe<{ id: string; description?: Maybe<string> }>;
}

/** Derived from a triage line's node id: `Tx` question, `Cx` care advice, `Dx`+6 digits disposition node, `DOS`. */
export type CqiNodeKind = 'question' | 'careAdvice' | 'disposition' | 'dosSearch' | 'other';

export interface CqiTriageLine {
  sequence: number;
  userId?: Maybe<string>;
  timeIn: string;
  timeOut: string;
  pathwayId?: Maybe<string>;
  orderNumber?: Maybe<string>;
  /** The content node id (Pathways `QuestionType`), kept raw. */
  nodeId: string;
  nodeKind?: CqiNodeKind;
  questionText?: Maybe<string>;
  answerNumber?: Maybe<number>;
  answerText?: Maybe<string>;
  additionalText?: Maybe<string>;
  reportText?: Maybe<string>;
  includeInReport?: Maybe<boolean>;
  action?: Maybe<string>;
  interfaceId?: Maybe<number>;
  systemFlag?: Maybe<string>;
  pathwayVersion?: Maybe<{ major: number; minor: number; subRevision: number }>;
  disposition?: Maybe<{
    code?: Maybe<string>;
    rationale?: Maybe<string>;
    rationaleText?: Maybe<string>;
    overrideId?: Maybe<string>;
    overrideText?: Maybe<string>;
  }>;
  careAdvice?: Maybe<{ keywords?: string[]; symptomDiscriminator?: Maybe<string> }>;
}

export interface CqiSelectedService {
  dosTransactionId?: Maybe<string>;
  serviceId?: Maybe<string>;
  serviceName?: Maybe<string>;
  contactDetails?: Maybe<string>;
  open24Hrs?: Maybe<boolean>;
  accessNotes?: Maybe<string>;
  address?: Maybe<string>;
  capacity?: Maybe<string>;
}

/** One NHS Pathways triage as a canonical CQI case (`cqi-case/1.0.0`). */
export interface CqiCase {
  schemaVersion: typeof cqiCaseSchemaVersion;
  /** `complete` requires a final disposition. */
  status: 'complete' | 'partial';
  case: CqiCaseDetails;
  provider?: CqiProvider;
  operator?: CqiOperator;
  patient?: CqiPatient;
  startingPathway?: Maybe<{ id: string; description?: Maybe<string> }>;
  symptomGroup?: Maybe<CqiCoding<typeof cqiCodeSystems.symptomGroup>>;
  /** In line order; the case-level SD is the last entry. */
  symptomDiscriminators?: CqiSymptomDiscriminator[];
  triageDisposition?: Maybe<CqiCoding<typeof cqiCodeSystems.disposition>>;
  finalDisposition?: Maybe<CqiFinalDisposition>;
  ambulance?: Maybe<{ arpCategory?: Maybe<CqiCoding<typeof cqiCodeSystems.arpCategory>>; systemFlags?: string[] }>;
  selectedService?: Maybe<CqiSelectedService>;
  triageLines: CqiTriageLine[];
  extensions?: Record<string, unknown>;
}

/** The node kind a triage line's node id stands for. */
export function nodeKindOf(nodeId: string): CqiNodeKind {
  if (/^Tx/.test(nodeId)) {
    return 'question';
  }
  if (/^Cx/.test(nodeId)) {
    return 'careAdvice';
  }
  if (/^Dx\d{6}$/.test(nodeId)) {
    return 'disposition';
  }
  return nodeId === 'DOS' ? 'dosSearch' : 'other';
}

/** The canonical form of a case: null members, empty objects and empty lists left out (absent means unknown or none). */
export function canonicalCqiCase(value: CqiCase): CqiCase {
  return prune(value) as CqiCase;
}

function prune(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(prune);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (child === null || child === undefined) {
        continue;
      }
      const pruned = prune(child);
      const empty = Array.isArray(pruned) ? pruned.length === 0 && key !== 'triageLines' : typeof pruned === 'object' && Object.keys(pruned as object).length === 0;
      if (empty) {
        continue;
      }
      out[key] = pruned;
    }
    return out;
  }
  return value;
}
