/**
 * The benchmark baseline: the northwind-csv mapping (mappings/northwind-csv/mapping.yaml) written by hand in plain
 * TypeScript, as a competent engineer would without cadmap. It streams the three Windows-1252 CSV files in step
 * (all sorted by IncidentId) and yields one ADS bundle per call, byte-identical to the engine's bundle
 * (northwind-baseline.test.ts checks that). Diagnostics are not collected; bad values are left out as the engine
 * leaves them out. It reuses cadmap's pure domain helpers (dates, NHS numbers, postcodes, ODS codes, UUIDv5 ids)
 * so that the comparison is about the mapping, not about those.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Bundle, BundleEntry, Coding, Communication, Encounter, Extension, Location, Organization, Patient } from 'fhir/r4.js';
import iconv from 'iconv-lite';
import { entryFullUrl, entryUuid, mappingNamespace } from '../packages/core/dist/bundle/ids.js';
import { createDateTimeConverter, normaliseNhsNumber, normaliseOdsCode, normalisePostcode } from '../packages/core/dist/functions/index.js';

// ── Constants (mappings/northwind-csv/mapping.yaml over mappings/common/ads.yaml) ───────────────────────────
const namespace = mappingNamespace('northwind-csv');
const providerOds = 'RNW';
const providerName = 'Northwind Valley Ambulance Service NHS Trust';
const callIdentifierSystem = 'https://fhir.northwind-valley.example.nhs.uk/Id/cad-incident';
const callSignSystem = 'https://fhir.northwind-valley.example.nhs.uk/Id/call-sign';
const typedDateTimeExtension = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-TypedDateTime';
const responseCategoryExtension = 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-ResponseCategory';

const bundleMeta = { tag: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/ADS-BundleType', code: 'mvp' }] };
const communicationMeta = { profile: ['https://fhir.nhs.uk/R4/StructureDefinition/UKCore-ADS-Communication'] };
const encounterMeta = { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter'] };
const patientMeta = { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] };
const vehicleMeta = { profile: ['https://fhir.nhs.uk/R4/StructureDefinition/UKCore-ADS-AmbulanceResponseVehicle-Location'] };
const receivingMeta = { profile: ['https://fhir.nhs.uk/R4/StructureDefinition/UKCore-ADS-Receiving-Location'] };
const organizationMeta = { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Organization'] };
const vehicleType = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'AMB', display: 'Ambulance' }] }];
const vehiclePhysicalType = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 've', display: 'Vehicle' }] };
const encounterClassSystem = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const organizationUrl = entryFullUrl(namespace, 'Organization', providerOds);
const organizationReference = { reference: organizationUrl };
const organization: Organization = {
  resourceType: 'Organization',
  meta: organizationMeta,
  identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: providerOds }],
  name: providerName,
};

// ── Code tables ───────────────────────────────────────────────────────────────────────────────────────────
/** A lookup as cadmap defines it: keys matched after trimming, case-insensitively unless told otherwise. */
class Lookup<T> {
  private readonly byKey = new Map<string, T>();
  constructor(
    entries: Readonly<Record<string, T>>,
    private readonly caseSensitive = false,
  ) {
    for (const [key, value] of Object.entries(entries)) {
      const normalised = this.normalise(key);
      if (!this.byKey.has(normalised)) {
        this.byKey.set(normalised, value);
      }
      if (!this.byKey.has(key)) {
        this.byKey.set(key, value);
      }
    }
  }

  private normalise(key: string): string {
    return this.caseSensitive ? key.trim() : key.trim().toLowerCase();
  }

  get(value: string | undefined): T | undefined {
    return value === undefined ? undefined : (this.byKey.get(value) ?? this.byKey.get(this.normalise(value)));
  }
}

const codings = (system: string, entries: Readonly<Record<string, readonly [string, string]>>): Record<string, Coding> =>
  Object.fromEntries(Object.entries(entries).map(([key, [code, display]]) => [key, { system, code, display }]));

const callOrigin = codings('https://fhir.nhs.uk/R4/CodeSystem/Ambulance-CallOrigin', {
  '01': ['01', '999'],
  '02': ['02', 'NHS 111'],
  '03': ['03', 'Healthcare Professional'],
  '04': ['04', 'Police Force'],
  '05': ['05', 'Telecare Provider/Service'],
  '06': ['06', 'Other Ambulance Service'],
  '10': ['10', 'Fire Service'],
  '15': ['15', 'British Transport Police'],
});
/** northwindCallSource, then adsCallOrigin (every target code is in adsCallOrigin). */
const callSource = new Lookup<Coding | undefined>({
  '999': callOrigin['01'],
  NHS111: callOrigin['02'],
  HCP: callOrigin['03'],
  POLICE: callOrigin['04'],
  TELECARE: callOrigin['05'],
  'OTHER AMB': callOrigin['06'],
  FIRE: callOrigin['10'],
  BTP: callOrigin['15'],
});
const responseCategorySystem = 'https://fhir.nhs.uk/R4/CodeSystem/ADS-ResponseCategory';
const responseCategory = new Lookup<Coding>(
  codings(responseCategorySystem, {
    '1': ['1', 'Category 1 - life-threatening'],
    '2': ['2', 'Category 2 - emergency'],
    '3': ['3', 'Category 3 - urgent'],
    '4': ['4', 'Category 4 - less urgent'],
  }),
);
const responseCategoryTypeSystem = 'https://fhir.nhs.uk/R4/CodeSystem/ADS-ResponseCategoryType';
const initialCategoryType = {
  url: 'responseCategoryType',
  valueCodeableConcept: { coding: [{ system: responseCategoryTypeSystem, code: 'initial', display: 'Initial Response Category' }] },
};
const reportingCategoryType = {
  url: 'responseCategoryType',
  valueCodeableConcept: { coding: [{ system: responseCategoryTypeSystem, code: 'reporting', display: 'Reporting Response Category' }] },
};
const yesNo = (system: string): Lookup<Coding> => {
  const yes = { system, code: 'Y', display: 'Yes' };
  const no = { system, code: 'N', display: 'No' };
  return new Lookup<Coding>({ Y: yes, N: no, yes, no, true: yes, false: no, '1': yes, '0': no });
};
const aqiIncidentFlag = yesNo('http://terminology.hl7.org/CodeSystem/v2-0136');
const nhs111Flag = yesNo('http://terminology.hl7.org/CodeSystem/v2-0136');
/** northwindStopCode, then adsStopCode. */
const stopCode = new Lookup<Coding>(
  codings('https://fhir.example-trust.nhs.uk/CodeSystem/ads-stop-code', {
    DUP: ['duplicate', 'Duplicate call'],
    CANC: ['caller-cancelled', 'Caller cancelled'],
    HOAX: ['hoax', 'Hoax or malicious call'],
    NPF: ['no-patient-found', 'No patient found'],
    REF: ['referred-other-service', 'Referred to another service'],
  }),
);
/** northwindTreatment, then adsTreatmentType. */
const treatmentType = new Lookup<Coding>(
  codings('https://fhir.example-trust.nhs.uk/CodeSystem/ads-treatment-type', {
    'H&T': ['hear-and-treat', 'Hear and treat'],
    'S&T': ['see-and-treat', 'See and treat'],
    'S&C': ['see-and-convey', 'See and convey'],
  }),
);
const closedNoResponse: Coding = {
  system: 'https://fhir.example-trust.nhs.uk/CodeSystem/ads-treatment-type',
  code: 'closed-no-response',
  display: 'Call closed with a stop code without a face-to-face response',
};
const gender = new Lookup<Patient['gender']>({ Male: 'male', Female: 'female', Indeterminate: 'other', 'Not Known': 'unknown' });
const vehicleDescription = new Lookup<string>({ DCA: 'Double crewed ambulance', RRV: 'Rapid response vehicle', AIR: 'Air ambulance' });
const ethnicCategory = new Lookup<Coding>(
  codings('https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', {
    A: ['A', 'White - British'],
    B: ['B', 'White - Irish'],
    C: ['C', 'White - Any other White background'],
    D: ['D', 'Mixed - White and Black Caribbean'],
    E: ['E', 'Mixed - White and Black African'],
    F: ['F', 'Mixed - White and Asian'],
    G: ['G', 'Mixed - Any other mixed background'],
    H: ['H', 'Asian or Asian British - Indian'],
    J: ['J', 'Asian or Asian British - Pakistani'],
    K: ['K', 'Asian or Asian British - Bangladeshi'],
    L: ['L', 'Asian or Asian British - Any other Asian background'],
    M: ['M', 'Black or Black British - Caribbean'],
    N: ['N', 'Black or Black British - African'],
    P: ['P', 'Black or Black British - Any other Black background'],
    R: ['R', 'Other Ethnic Groups - Chinese'],
    S: ['S', 'Other Ethnic Groups - Any other ethnic group'],
    Z: ['Z', 'Not stated'],
    '99': ['99', 'Not known'],
  }),
);

/** The UKCore-DateTimeType sub-extension of a TypedDateTime extension, one per date-time type. */
const dateTimeType = (code: string, display: string): Extension => ({
  url: 'dateTimeType',
  valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-DateTimeType', code, display }] },
});
const timeCallAnswered = dateTimeType('time-call-answered', 'Time Call Answered');
const timeCallEnded = dateTimeType('time-call-ended', 'Time Call Ended');
const timeDispatchCode = dateTimeType('time-dispatch-code-established', 'Time Dispatch Code Established');
const clockStart = dateTimeType('clock-start-date-time', 'Clock Start Date Time');
const clockStop = dateTimeType('clock-stop-date-time', 'Clock Stop Date Time');

// ── Dates ─────────────────────────────────────────────────────────────────────────────────────────────────
const dates = createDateTimeConverter({
  timeZone: 'Europe/London',
  dateFormats: ['dd/MM/yyyy HH:mm:ss', 'dd/MM/yyyy HH:mm'],
  ambiguousTime: 'earlier',
});
const ignoreReports = { report: (): void => undefined };
const dateTime = (value: string | undefined): string | undefined => (value === undefined ? undefined : dates.dateTime(value, ignoreReports));
const birthDate = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : dates.date(value, ignoreReports, 'dd/MM/yyyy');

const typedDateTime = (type: Extension, value: string): Extension => {
  const at = dateTime(value);
  return { url: typedDateTimeExtension, extension: at === undefined ? [type] : [type, { url: 'dateTime', valueDateTime: at }] };
};

// ── CSV ───────────────────────────────────────────────────────────────────────────────────────────────────
type Row = readonly string[];

/**
 * Rows of one Windows-1252 CSV file (RFC 4180 quoting, LF or CRLF), read ahead one chunk at a time so that the
 * caller awaits only when the buffered rows run out.
 */
class CsvFile {
  private readonly chunks: AsyncIterator<Buffer>;
  private rows: Row[] = [];
  private next = 0;
  private rest = '';
  private ended = false;

  constructor(path: string) {
    this.chunks = (createReadStream(path, { highWaterMark: 1 << 16 }) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The current row without consuming it, or undefined at the end of the file. */
  async peek(): Promise<Row | undefined> {
    while (this.next === this.rows.length) {
      if (this.ended) {
        return undefined;
      }
      await this.read();
    }
    return this.rows[this.next];
  }

  /** The current row if it is already buffered (null when more text must be read first). */
  peekBuffered(): Row | undefined | null {
    return this.next < this.rows.length ? this.rows[this.next] : this.ended ? undefined : null;
  }

  skip(): void {
    this.next++;
  }

  private async read(): Promise<void> {
    const chunk = await this.chunks.next();
    this.rows = [];
    this.next = 0;
    if (chunk.done) {
      this.ended = true;
      if (this.rest !== '') {
        this.parse(`${this.rest}\n`);
        this.rest = '';
      }
      return;
    }
    const text = this.rest + iconv.decode(chunk.value, 'windows-1252');
    this.rest = text.slice(this.parse(text));
  }

  /** Parses the complete rows of `text` into this.rows; returns where the incomplete rest starts. */
  private parse(text: string): number {
    const rows = this.rows;
    let start = 0;
    let quote = -1;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline < 0) {
        return start;
      }
      if (quote !== text.length && quote < start) {
        quote = text.indexOf('"', start);
        if (quote < 0) {
          quote = text.length;
        }
      }
      if (quote > newline) {
        const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
        if (end > start) {
          rows.push(text.slice(start, end).split(','));
        }
        start = newline + 1;
        continue;
      }
      const end = parseQuotedRow(text, start, rows);
      if (end < 0) {
        return start;
      }
      start = end;
    }
  }
}

/** Parses one row holding quotes from `start`; pushes it and returns the start of the next row, or -1 if incomplete. */
function parseQuotedRow(text: string, start: number, rows: Row[]): number {
  const fields: string[] = [];
  let i = start;
  for (;;) {
    let value = '';
    if (text.charCodeAt(i) === 34) {
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0 || quote + 1 >= text.length) {
          return -1;
        }
        value += text.slice(i, quote);
        if (text.charCodeAt(quote + 1) === 34) {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
    }
    let end = i;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === 44 || c === 10 || c === 13) {
        break;
      }
      end++;
    }
    if (end >= text.length) {
      return -1;
    }
    fields.push(value + text.slice(i, end));
    const c = text.charCodeAt(end);
    if (c === 44) {
      i = end + 1;
      continue;
    }
    if (c === 13) {
      if (end + 1 >= text.length) {
        return -1;
      }
      end += text.charCodeAt(end + 1) === 10 ? 1 : 0;
    }
    rows.push(fields);
    return end + 1;
  }
}

/** Orders incident ids as cadmap does: numerically when both are digits, else as text. */
function compareIds(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  if (a.length !== b.length && /^\d+$/.test(a) && /^\d+$/.test(b)) {
    return a.replace(/^0+(?=\d)/, '').length - b.replace(/^0+(?=\d)/, '').length || (a < b ? -1 : 1);
  }
  return a < b ? -1 : 1;
}

/** Index of each named column in a header row (-1 when absent). */
function columns<const Name extends string>(header: Row, names: readonly Name[]): Record<Name, number> {
  return Object.fromEntries(names.map((name) => [name, header.indexOf(name)])) as Record<Name, number>;
}

/** The cell's value, or undefined when it is empty (not recorded) or missing. */
const cell = (row: Row, index: number): string | undefined => {
  const value = row[index];
  return value === '' ? undefined : value;
};

// ── Mapping ───────────────────────────────────────────────────────────────────────────────────────────────
const referenceCache = new Map<string, string>();

/** fullUrl of a Location keyed by call sign or site code; these recur across calls, so they are cached. */
function locationUrl(key: string): string {
  let url = referenceCache.get(key);
  if (url === undefined) {
    url = entryFullUrl(namespace, 'Location', key);
    if (referenceCache.size >= 50_000) {
      referenceCache.clear();
    }
    referenceCache.set(key, url);
  }
  return url;
}

const resourceTimes = [
  ['Mobilised', dateTimeType('time-resource-mobilised', 'Time Resource Mobilised')],
  ['Arrived', dateTimeType('time-resource-arrived-on-scene', 'Time Resource Arrived On Scene')],
  ['StoodDown', dateTimeType('time-stood-down', 'Time Stood Down')],
  ['LeftScene', dateTimeType('time-resource-left-scene', 'Time Resource Left Scene')],
  ['AtHospital', dateTimeType('time-arrived-receiving-location', 'Time Arrived at Receiving Location')],
  ['Handover', dateTimeType('time-patient-handover', 'Time Patient Handover')],
  ['Clear', dateTimeType('time-clear', 'Time Clear')],
] as const;

const callColumns = [
  'IncidentId', 'IncidentCreated', 'CallConnected', 'CallAnswered', 'CallEnded', 'CallSource', 'InitialCategory',
  'ReportingCategory', 'DispatchCodeTime', 'AqiFlag', 'Nhs111Flag', 'StopCode', 'StopReason', 'TreatmentType',
  'ClockStart', 'ClockStop', 'AqiResponseSecs',
] as const;
const resourceColumns = ['IncidentId', 'CallSign', 'VehicleType', ...resourceTimes.map(([name]) => name)] as const;
const patientColumns = [
  'IncidentId', 'PatientNo', 'NhsNumber', 'DateOfBirth', 'Gender', 'EthnicCategory', 'Postcode', 'DestinationOds',
  'DestinationName', 'AttendingCallSign1', 'AttendingCallSign2', 'AttendingCallSign3',
] as const;

type BundleBuilder = (call: Row, resources: readonly Row[], patients: readonly Row[]) => Bundle;

/** Builds the bundle of one call from its rows, given the three header rows. */
function bundleBuilder(callHeader: Row, resourceHeader: Row, patientHeader: Row): BundleBuilder {
  const c = columns(callHeader, callColumns);
  const r = columns(resourceHeader, resourceColumns);
  const p = columns(patientHeader, patientColumns);
  const timeColumns = resourceTimes.map(([name, type]) => [r[name], type] as const);

  const attends = (patient: Row, callSign: string | undefined): boolean =>
    callSign !== undefined &&
    (patient[p.AttendingCallSign1] === callSign || patient[p.AttendingCallSign2] === callSign || patient[p.AttendingCallSign3] === callSign);

  function communication(call: Row, incidentId: string, encounterUrls: readonly string[]): Communication {
    const extension: Extension[] = [];
    const origin = callSource.get(cell(call, c.CallSource));
    extension.push(
      origin === undefined
        ? { url: 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-CallOrigin' }
        : { url: 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-CallOrigin', valueCodeableConcept: { coding: [origin] } },
    );
    const initial = responseCategory.get(cell(call, c.InitialCategory));
    extension.push({
      url: responseCategoryExtension,
      extension:
        initial === undefined ? [initialCategoryType] : [initialCategoryType, { url: 'responseCategoryCode', valueCodeableConcept: { coding: [initial] } }],
    });
    const reporting = responseCategory.get(cell(call, c.ReportingCategory));
    extension.push({
      url: responseCategoryExtension,
      extension:
        reporting === undefined
          ? [reportingCategoryType]
          : [reportingCategoryType, { url: 'responseCategoryCode', valueCodeableConcept: { coding: [reporting] } }],
    });
    const aqiFlag = cell(call, c.AqiFlag);
    if (aqiFlag !== undefined) {
      const coding = aqiIncidentFlag.get(aqiFlag);
      const url = 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-AQIIncidentFlag';
      extension.push(coding === undefined ? { url } : { url, valueCodeableConcept: { coding: [coding] } });
    }
    const aqiSeconds = cell(call, c.AqiResponseSecs);
    if (aqiSeconds !== undefined) {
      const url = 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-AQIResponseTime';
      const system = 'http://unitsofmeasure.org';
      extension.push(
        /^[+-]?\d+(\.\d+)?$/.test(aqiSeconds)
          ? { url, valueDuration: { value: Number(aqiSeconds), unit: 's', system, code: 's' } }
          : { url, valueDuration: { unit: 's', system, code: 's' } },
      );
    }
    const nhs111 = cell(call, c.Nhs111Flag);
    if (nhs111 !== undefined) {
      const coding = nhs111Flag.get(nhs111);
      const url = 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-111Flag';
      extension.push(coding === undefined ? { url } : { url, valueCodeableConcept: { coding: [coding] } });
    }
    const answered = cell(call, c.CallAnswered);
    if (answered !== undefined) {
      extension.push(typedDateTime(timeCallAnswered, answered));
    }
    const ended = cell(call, c.CallEnded);
    if (ended !== undefined) {
      extension.push(typedDateTime(timeCallEnded, ended));
    }
    const dispatchCode = cell(call, c.DispatchCodeTime);
    if (dispatchCode !== undefined) {
      extension.push(typedDateTime(timeDispatchCode, dispatchCode));
    }
    const start = cell(call, c.ClockStart);
    if (start !== undefined) {
      extension.push(typedDateTime(clockStart, start));
    }
    const stop = cell(call, c.ClockStop);
    if (stop !== undefined) {
      extension.push(typedDateTime(clockStop, stop));
    }

    const created = dateTime(cell(call, c.IncidentCreated));
    const stopped = cell(call, c.StopCode);
    const resource: Partial<Communication> = {
      resourceType: 'Communication',
      meta: communicationMeta,
      extension,
      identifier: [
        created === undefined
          ? { system: callIdentifierSystem, value: incidentId }
          : { system: callIdentifierSystem, value: incidentId, period: { start: created } },
      ],
      status: stopped === undefined ? 'completed' : 'not-done',
    };
    if (stopped !== undefined) {
      const coding = stopCode.get(stopped);
      const text = cell(call, c.StopReason);
      if (coding !== undefined) {
        resource.statusReason = text === undefined ? { coding: [coding] } : { coding: [coding], text };
      } else if (text !== undefined) {
        resource.statusReason = { text };
      }
    }
    const treatment = treatmentType.get(cell(call, c.TreatmentType));
    if (treatment !== undefined) {
      resource.category = [{ coding: [treatment] }];
    } else if (cell(call, c.TreatmentType) === undefined && cell(call, c.StopCode) !== undefined) {
      resource.category = [{ coding: [closedNoResponse] }];
    }
    const sent = dateTime(cell(call, c.CallConnected));
    if (sent !== undefined) {
      resource.sent = sent;
    }
    resource.sender = organizationReference;
    resource.recipient = [organizationReference];
    if (encounterUrls.length > 0) {
      resource.about = encounterUrls.map((reference) => ({ reference }));
    }
    return resource as Communication;
  }

  function encounter(patient: Row, attending: readonly Row[], patientUrl: string, hearAndTreat: boolean): Encounter {
    const resource: Partial<Encounter> = { resourceType: 'Encounter', meta: encounterMeta };
    const extension: Extension[] = [];
    for (const [column, type] of timeColumns) {
      for (const vehicle of attending) {
        const value = cell(vehicle, column);
        if (value !== undefined) {
          extension.push(typedDateTime(type, value));
        }
      }
    }
    if (extension.length > 0) {
      resource.extension = extension;
    }
    resource.status = 'finished';
    resource.class = hearAndTreat
      ? { system: encounterClassSystem, code: 'VR', display: 'virtual' }
      : { system: encounterClassSystem, code: 'FLD', display: 'field' };
    resource.subject = { reference: patientUrl };
    if (attending.length > 0) {
      resource.location = attending.map((vehicle) => {
        const callSign = vehicle[r.CallSign]!;
        const start = dateTime(cell(vehicle, r.Arrived));
        const end = dateTime(cell(vehicle, r.LeftScene) ?? cell(vehicle, r.Clear));
        const location = { reference: locationUrl(callSign), display: callSign };
        if (start === undefined && end === undefined) {
          return { location };
        }
        return { location, period: start === undefined ? { end: end! } : end === undefined ? { start } : { start, end } };
      });
    }
    const destination = cell(patient, p.DestinationOds);
    if (destination !== undefined) {
      const ods = normaliseOdsCode(destination);
      const display = cell(patient, p.DestinationName);
      if (ods !== undefined) {
        resource.hospitalization = { destination: display === undefined ? { reference: locationUrl(ods) } : { reference: locationUrl(ods), display } };
      } else if (display !== undefined) {
        resource.hospitalization = { destination: { display } };
      }
    }
    resource.serviceProvider = organizationReference;
    return resource as Encounter;
  }

  function patientResource(patient: Row): Patient {
    const resource: Partial<Patient> = { resourceType: 'Patient', meta: patientMeta };
    const ethnicity = cell(patient, p.EthnicCategory);
    if (ethnicity !== undefined) {
      const coding = ethnicCategory.get(ethnicity);
      const url = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory';
      resource.extension = [coding === undefined ? { url } : { url, valueCodeableConcept: { coding: [coding] } }];
    }
    const nhsNumberText = cell(patient, p.NhsNumber);
    const nhsNumber = nhsNumberText === undefined ? undefined : normaliseNhsNumber(nhsNumberText);
    if (nhsNumber !== undefined) {
      resource.identifier = [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber }];
    }
    const sex = gender.get(cell(patient, p.Gender));
    if (sex !== undefined) {
      resource.gender = sex;
    }
    const born = birthDate(cell(patient, p.DateOfBirth));
    if (born !== undefined) {
      resource.birthDate = born;
    }
    const postcodeText = cell(patient, p.Postcode);
    const postalCode = postcodeText === undefined ? undefined : normalisePostcode(postcodeText);
    if (postalCode !== undefined) {
      resource.address = [{ use: 'home', postalCode }];
    }
    return resource as Patient;
  }

  function vehicleLocation(vehicle: Row, callSign: string): Location {
    const resource: Partial<Location> = {
      resourceType: 'Location',
      meta: vehicleMeta,
      identifier: [{ system: callSignSystem, value: callSign }],
      name: callSign,
    };
    const description = vehicleDescription.get(cell(vehicle, r.VehicleType));
    if (description !== undefined) {
      resource.description = description;
    }
    resource.mode = 'kind';
    resource.type = vehicleType;
    resource.physicalType = vehiclePhysicalType;
    return resource as Location;
  }

  return (call, resources, patients) => {
    const incidentId = call[c.IncidentId]!;
    const hearAndTreat = call[c.TreatmentType] === 'H&T';
    const seen = new Set<string>();
    const contacts: BundleEntry[] = [];
    const people: BundleEntry[] = [];
    const encounterUrls: string[] = [];
    for (const patient of patients) {
      const patientNo = cell(patient, p.PatientNo);
      if (patientNo === undefined) {
        continue;
      }
      const key = `${incidentId}|${patientNo}`;
      const encounterUrl = entryFullUrl(namespace, 'Encounter', key);
      const patientUrl = entryFullUrl(namespace, 'Patient', key);
      encounterUrls.push(encounterUrl);
      if (!seen.has(encounterUrl)) {
        seen.add(encounterUrl);
        const attending = resources.filter((vehicle) => attends(patient, cell(vehicle, r.CallSign)));
        contacts.push({ fullUrl: encounterUrl, resource: encounter(patient, attending, patientUrl, hearAndTreat) });
      }
      if (!seen.has(patientUrl)) {
        seen.add(patientUrl);
        people.push({ fullUrl: patientUrl, resource: patientResource(patient) });
      }
    }

    const entry: BundleEntry[] = [
      { fullUrl: entryFullUrl(namespace, 'Communication', incidentId), resource: communication(call, incidentId, encounterUrls) },
      ...contacts,
      ...people,
    ];
    for (const vehicle of resources) {
      const callSign = cell(vehicle, r.CallSign);
      if (callSign === undefined || !patients.some((patient) => attends(patient, callSign))) {
        continue;
      }
      const fullUrl = locationUrl(callSign);
      if (!seen.has(fullUrl)) {
        seen.add(fullUrl);
        entry.push({ fullUrl, resource: vehicleLocation(vehicle, callSign) });
      }
    }
    for (const patient of patients) {
      const destination = cell(patient, p.DestinationOds);
      const ods = destination === undefined ? undefined : normaliseOdsCode(destination);
      if (ods === undefined) {
        continue;
      }
      const fullUrl = locationUrl(ods);
      if (!seen.has(fullUrl)) {
        seen.add(fullUrl);
        const name = cell(patient, p.DestinationName);
        const site: Location = {
          resourceType: 'Location',
          meta: receivingMeta,
          identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-site-code', value: ods }],
          ...(name === undefined ? {} : { name }),
          mode: 'instance',
        };
        entry.push({ fullUrl, resource: site });
      }
    }
    entry.push({ fullUrl: organizationUrl, resource: organization });
    return {
      resourceType: 'Bundle',
      id: entryUuid(namespace, 'Bundle', incidentId),
      meta: bundleMeta,
      type: 'collection',
      entry,
    };
  };
}

/** The rows of `table` whose IncidentId equals `id`, skipping rows before it (rows are sorted by IncidentId). */
async function rowsOf(table: CsvFile, idColumn: number, id: string, into: Row[]): Promise<void> {
  for (;;) {
    let row = table.peekBuffered();
    if (row === null) {
      row = await table.peek();
    }
    if (row === undefined) {
      return;
    }
    const order = compareIds(row[idColumn] ?? '', id);
    if (order > 0) {
      return;
    }
    table.skip();
    if (order === 0) {
      into.push(row);
    }
  }
}

/**
 * Maps a Northwind CAD export (`*_calls.csv`, `*_resources.csv`, `*_patients.csv`) to one ADS bundle per call,
 * by hand: the same output as mappings/northwind-csv/mapping.yaml run by the cadmap engine.
 */
export async function* mapNorthwindByHand(files: readonly string[]): AsyncGenerator<Bundle> {
  const pick = (suffix: string): CsvFile => {
    const path = files.find((file) => basename(file).endsWith(suffix));
    if (path === undefined) {
      throw new Error(`no *${suffix} among ${files.join(', ')}`);
    }
    return new CsvFile(path);
  };
  const calls = pick('_calls.csv');
  const resources = pick('_resources.csv');
  const patients = pick('_patients.csv');
  const callHeader = await calls.peek();
  const resourceHeader = await resources.peek();
  const patientHeader = await patients.peek();
  if (callHeader === undefined || resourceHeader === undefined || patientHeader === undefined) {
    return;
  }
  calls.skip();
  resources.skip();
  patients.skip();
  const build = bundleBuilder(callHeader, resourceHeader, patientHeader);
  const callId = callHeader.indexOf('IncidentId');
  const resourceId = resourceHeader.indexOf('IncidentId');
  const patientId = patientHeader.indexOf('IncidentId');
  for (;;) {
    let call = calls.peekBuffered();
    if (call === null) {
      call = await calls.peek();
    }
    if (call === undefined) {
      return;
    }
    calls.skip();
    const id = call[callId];
    if (id === undefined || id === '') {
      continue;
    }
    const callResources: Row[] = [];
    const callPatients: Row[] = [];
    await rowsOf(resources, resourceId, id, callResources);
    await rowsOf(patients, patientId, id, callPatients);
    yield build(call, callResources, callPatients);
  }
}
