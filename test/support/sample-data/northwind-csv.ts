/**
 * Northwind CAD nightly export: three Windows-1252 CSV files (calls, resources, patients) joined by IncidentId,
 * CRLF line ends, UK dates (`31/03/2024 01:30:00`), rows in ascending IncidentId order in every file.
 */
import { join } from 'node:path';
import { FileSink } from './file-sink.js';
import { localTime, ukDate, ukLocal } from './local-time.js';
import type { CallOrigin, ExportWriter, Gender, SampleCall, StopCode, TreatmentType, VehicleType } from './model.js';

export const northwindCallSource: Readonly<Record<CallOrigin, string>> = {
  '01': '999',
  '02': 'NHS111',
  '03': 'HCP',
  '04': 'POLICE',
  '05': 'TELECARE',
  '06': 'OTHER AMB',
  '10': 'FIRE',
  '15': 'BTP',
};

export const northwindStopCode: Readonly<Record<StopCode, readonly [string, string]>> = {
  duplicate: ['DUP', 'Duplicate call'],
  'caller-cancelled': ['CANC', 'Caller cancelled – no longer required'],
  hoax: ['HOAX', 'Hoax / malicious call'],
  'no-patient-found': ['NPF', 'No patient found on arrival'],
  'referred-other-service': ['REF', 'Referred to other service'],
};

export const northwindTreatment: Readonly<Record<TreatmentType, string>> = {
  'hear-and-treat': 'H&T',
  'see-and-treat': 'S&T',
  'see-and-convey': 'S&C',
};

export const northwindVehicleType: Readonly<Record<VehicleType, string>> = { DCA: 'DCA', RRV: 'RRV', HEMS: 'AIR' };

export const northwindGender: Readonly<Record<Gender, string>> = {
  male: 'Male',
  female: 'Female',
  other: 'Indeterminate',
  unknown: 'Not Known',
};

const callColumns = [
  'IncidentId', 'IncidentCreated', 'CallConnected', 'CallAnswered', 'CallEnded', 'CallSource', 'InitialCategory',
  'ReportingCategory', 'DispatchCodeTime', 'AqiFlag', 'Nhs111Flag', 'StopCode', 'StopReason', 'TreatmentType',
  'ClockStart', 'ClockStop', 'AqiResponseSecs', 'LocationDescription',
] as const;
const resourceColumns = [
  'IncidentId', 'CallSign', 'VehicleType', 'Mobilised', 'Arrived', 'LeftScene', 'AtHospital', 'Handover', 'Clear',
  'StoodDown',
] as const;
const patientColumns = [
  'IncidentId', 'PatientNo', 'NhsNumber', 'DateOfBirth', 'Gender', 'EthnicCategory', 'Postcode', 'DestinationOds',
  'DestinationName', 'AttendingCallSign1', 'AttendingCallSign2', 'AttendingCallSign3',
] as const;
const maxCallSigns = 3;

const ukTime = (value: string | undefined): string => (value === undefined ? '' : ukLocal(localTime(value)));

/** Quotes a field when it holds a delimiter, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const csvRow = (fields: readonly string[]): string => `${fields.map(csvField).join(',')}\r\n`;

/** NHS numbers as call handlers key them: some spaced 3-3-4, most not. */
function nhsNumberAsTyped(value: string, incidentId: string): string {
  return Number(incidentId) % 3 === 0 ? `${value.slice(0, 3)} ${value.slice(3, 6)} ${value.slice(6)}` : value;
}

/** Writes `<prefix>_calls.csv`, `<prefix>_resources.csv` and `<prefix>_patients.csv` in `directory`. */
export function northwindWriter(directory: string, prefix = 'NWCAD_2024'): ExportWriter {
  const calls = new FileSink(join(directory, `${prefix}_calls.csv`), 'windows-1252');
  const resources = new FileSink(join(directory, `${prefix}_resources.csv`), 'windows-1252');
  const patients = new FileSink(join(directory, `${prefix}_patients.csv`), 'windows-1252');
  calls.write(csvRow(callColumns));
  resources.write(csvRow(resourceColumns));
  patients.write(csvRow(patientColumns));
  return {
    write(call: SampleCall): void {
      const stop = call.stopCode === undefined ? undefined : northwindStopCode[call.stopCode];
      calls.write(
        csvRow([
          call.incidentId,
          ukTime(call.incidentCreated),
          ukTime(call.callConnected),
          ukTime(call.callAnswered),
          ukTime(call.callEnded),
          northwindCallSource[call.callOrigin],
          String(call.initialCategory),
          String(call.reportingCategory),
          ukTime(call.dispatchCodeEstablished),
          call.aqi ? 'Y' : 'N',
          call.nhs111 ? 'Y' : 'N',
          stop?.[0] ?? '',
          stop?.[1] ?? '',
          call.treatmentType === undefined ? '' : northwindTreatment[call.treatmentType],
          ukTime(call.clockStart),
          ukTime(call.clockStop),
          call.aqiResponseSeconds === undefined ? '' : String(call.aqiResponseSeconds),
          call.locationDescription ?? '',
        ]),
      );
      for (const resource of call.resources) {
        resources.write(
          csvRow([
            call.incidentId,
            resource.callSign,
            northwindVehicleType[resource.vehicleType],
            ukTime(resource.mobilised),
            ukTime(resource.arrived),
            ukTime(resource.leftScene),
            ukTime(resource.atHospital),
            ukTime(resource.handover),
            ukTime(resource.clear),
            ukTime(resource.stoodDown),
          ]),
        );
      }
      for (const patient of call.patients) {
        if (patient.callSigns.length > maxCallSigns) {
          throw new Error(`Northwind exports at most ${maxCallSigns} call signs per patient`);
        }
        patients.write(
          csvRow([
            call.incidentId,
            String(patient.patientNo),
            patient.nhsNumber === undefined ? '' : nhsNumberAsTyped(patient.nhsNumber, call.incidentId),
            patient.birthDate === undefined ? '' : ukDate(localTime(`${patient.birthDate}T00:00:00`)),
            patient.gender === undefined ? '' : northwindGender[patient.gender],
            patient.ethnicCategory ?? '',
            patient.postcode ?? '',
            patient.conveyedTo?.ods ?? '',
            patient.conveyedTo?.name ?? '',
            patient.callSigns[0] ?? '',
            patient.callSigns[1] ?? '',
            patient.callSigns[2] ?? '',
          ]),
        );
      }
    },
    close(): string[] {
      return [calls.close(), resources.close(), patients.close()];
    },
  };
}
