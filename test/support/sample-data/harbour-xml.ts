/**
 * Harbour CAD export: one UTF-8 XML document in namespace `urn:harbour:cad:2` (prefix `hc`), nested
 * Incident ⟶ Responses/Response ⟶ Patients/Patient, ids and call signs as attributes, ISO local times
 * without offset. A patient seen by two vehicles appears under both Responses with identical content.
 */
import { join } from 'node:path';
import { FileSink } from './file-sink.js';
import type { ExportWriter, Gender, SampleCall, SamplePatient, StopCode, TreatmentType, VehicleType } from './model.js';

export const harbourStopCode: Readonly<Record<StopCode, readonly [string, string]>> = {
  duplicate: ['01', 'Duplicate call'],
  'caller-cancelled': ['02', 'Caller cancelled'],
  hoax: ['03', 'Hoax call'],
  'no-patient-found': ['04', 'No patient found'],
  'referred-other-service': ['05', 'Referred to another service'],
};

export const harbourTreatment: Readonly<Record<TreatmentType, string>> = {
  'hear-and-treat': 'HearAndTreat',
  'see-and-treat': 'SeeAndTreat',
  'see-and-convey': 'SeeAndConvey',
};

export const harbourVehicleType: Readonly<Record<VehicleType, string>> = {
  DCA: 'Double Crewed Ambulance',
  RRV: 'Rapid Response Vehicle',
  HEMS: 'Air Ambulance',
};

/** NHS Data Dictionary "Person Stated Gender Code". */
export const harbourGender: Readonly<Record<Gender, readonly [string, string]>> = {
  male: ['1', 'Male'],
  female: ['2', 'Female'],
  other: ['9', 'Indeterminate'],
  unknown: ['0', 'Not Known'],
};

const originText: Readonly<Record<string, string>> = {
  '01': '999',
  '02': 'NHS 111',
  '03': 'Healthcare Professional',
  '04': 'Police',
  '05': 'Telecare',
  '06': 'Other Ambulance Service',
  '10': 'Fire Service',
  '15': 'British Transport Police',
};

export function xmlEscape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const element = (indent: string, name: string, value: string | undefined): string =>
  value === undefined ? '' : `${indent}<hc:${name}>${xmlEscape(value)}</hc:${name}>\n`;

function patientXml(patient: SamplePatient, indent: string): string {
  const inner = `${indent}  `;
  let xml = `${indent}<hc:Patient number="${patient.patientNo}">\n`;
  xml += element(inner, 'NhsNumber', patient.nhsNumber);
  xml += element(inner, 'BirthDate', patient.birthDate);
  if (patient.gender !== undefined) {
    const [code, text] = harbourGender[patient.gender];
    xml += `${inner}<hc:Gender code="${code}">${text}</hc:Gender>\n`;
  }
  if (patient.ethnicCategory !== undefined) {
    xml += `${inner}<hc:Ethnicity code="${xmlEscape(patient.ethnicCategory)}"/>\n`;
  }
  xml += element(inner, 'Postcode', patient.postcode);
  if (patient.conveyedTo !== undefined) {
    xml += `${inner}<hc:Destination odsSite="${xmlEscape(patient.conveyedTo.ods)}">${xmlEscape(patient.conveyedTo.name)}</hc:Destination>\n`;
  }
  return `${xml}${indent}</hc:Patient>\n`;
}

function patientsXml(patients: readonly SamplePatient[], indent: string): string {
  if (patients.length === 0) {
    return '';
  }
  return `${indent}<hc:Patients>\n${patients.map((p) => patientXml(p, `${indent}  `)).join('')}${indent}</hc:Patients>\n`;
}

/** Renders one call as an `hc:Incident` element. */
export function harbourIncident(call: SampleCall): string {
  const i = '    ';
  let xml = `${i}<hc:Incident id="INC${call.incidentId}">\n`;
  const callAttributes = [
    `created="${call.incidentCreated}"`,
    `connected="${call.callConnected}"`,
    ...(call.callAnswered === undefined ? [] : [`answered="${call.callAnswered}"`]),
    ...(call.callEnded === undefined ? [] : [`ended="${call.callEnded}"`]),
  ];
  xml += `${i}  <hc:Call ${callAttributes.join(' ')}/>\n`;
  xml += `${i}  <hc:Origin code="${call.callOrigin}" nhs111Transfer="${call.nhs111}">${xmlEscape(originText[call.callOrigin] ?? '')}</hc:Origin>\n`;
  xml += `${i}  <hc:Triage initialCategory="${call.initialCategory}" reportingCategory="${call.reportingCategory}"`;
  xml +=
    call.dispatchCodeEstablished === undefined
      ? '/>\n'
      : `>\n${i}    <hc:DispositionEstablished>${call.dispatchCodeEstablished}</hc:DispositionEstablished>\n${i}  </hc:Triage>\n`;
  xml += `${i}  <hc:Aqi included="${call.aqi}"`;
  if (call.clockStart === undefined) {
    xml += '/>\n';
  } else {
    xml += '>\n';
    xml += element(`${i}    `, 'ClockStart', call.clockStart);
    xml += element(`${i}    `, 'ClockStop', call.clockStop);
    if (call.aqiResponseSeconds !== undefined) {
      xml += `${i}    <hc:ResponseTime unit="s">${call.aqiResponseSeconds}</hc:ResponseTime>\n`;
    }
    xml += `${i}  </hc:Aqi>\n`;
  }
  if (call.stopCode !== undefined) {
    const [code, text] = harbourStopCode[call.stopCode];
    xml += `${i}  <hc:Outcome stopCode="${code}">${xmlEscape(text)}</hc:Outcome>\n`;
  } else if (call.treatmentType !== undefined) {
    xml += `${i}  <hc:Outcome treatment="${harbourTreatment[call.treatmentType]}"/>\n`;
  }
  xml += element(`${i}  `, 'IncidentLocation', call.locationDescription);

  const remotePatients = call.patients.filter((p) => p.callSigns.length === 0);
  if (call.resources.length > 0 || remotePatients.length > 0) {
    xml += `${i}  <hc:Responses>\n`;
    const r = `${i}    `;
    for (const resource of call.resources) {
      xml += `${r}<hc:Response kind="vehicle" callSign="${xmlEscape(resource.callSign)}" vehicleType="${harbourVehicleType[resource.vehicleType]}">\n`;
      xml += element(`${r}  `, 'Mobilised', resource.mobilised);
      xml += element(`${r}  `, 'OnScene', resource.arrived);
      xml += element(`${r}  `, 'LeftScene', resource.leftScene);
      xml += element(`${r}  `, 'AtHospital', resource.atHospital);
      xml += element(`${r}  `, 'Handover', resource.handover);
      xml += element(`${r}  `, 'Clear', resource.clear);
      xml += element(`${r}  `, 'StoodDown', resource.stoodDown);
      xml += patientsXml(
        call.patients.filter((p) => p.callSigns.includes(resource.callSign)),
        `${r}  `,
      );
      xml += `${r}</hc:Response>\n`;
    }
    if (remotePatients.length > 0) {
      xml += `${r}<hc:Response kind="clinical-hub" desk="CH0${(Number(call.incidentId) % 6) + 1}">\n`;
      xml += patientsXml(remotePatients, `${r}  `);
      xml += `${r}</hc:Response>\n`;
    }
    xml += `${i}  </hc:Responses>\n`;
  }
  return `${xml}${i}</hc:Incident>\n`;
}

/** Writes one `<name>.xml` document in `directory`, an Incident at a time. */
export function harbourWriter(directory: string, name = 'harbour_export_2024'): ExportWriter {
  const sink = new FileSink(join(directory, `${name}.xml`));
  sink.write('<?xml version="1.0" encoding="UTF-8"?>\n');
  sink.write('<hc:CadExport xmlns:hc="urn:harbour:cad:2" schemaVersion="2.3" trust="RHB">\n');
  sink.write('  <hc:Incidents>\n');
  return {
    write(call: SampleCall): void {
      sink.write(harbourIncident(call));
    },
    close(): string[] {
      sink.write('  </hc:Incidents>\n</hc:CadExport>\n');
      return [sink.close()];
    },
  };
}
