/**
 * Beacon CAD export: NDJSON, one call per line, UTF-8; nested `units[]` and `patients[]` (patients point at units
 * through `unitRefs[]`), vendor codes (`PHONE999`, `C2`, `STC`, `F`), ISO local times without offset. Optional
 * values are sometimes left out and sometimes `null`, as the vendor does.
 */
import { join } from 'node:path';
import { FileSink } from './file-sink.js';
import type {
  CallOrigin,
  ExportWriter,
  Gender,
  SampleCall,
  StopCode,
  TreatmentType,
  VehicleType,
} from './model.js';

export const beaconOrigin: Readonly<Record<CallOrigin, string>> = {
  '01': 'PHONE999',
  '02': 'NHS111',
  '03': 'HCP',
  '04': 'POLICE',
  '05': 'TELECARE',
  '06': 'AMBSVC',
  '10': 'FIRE',
  '15': 'BTP',
};

export const beaconStopCode: Readonly<Record<StopCode, string>> = {
  duplicate: 'DUPL',
  'caller-cancelled': 'CANX',
  hoax: 'HOAX',
  'no-patient-found': 'NOPT',
  'referred-other-service': 'REFR',
};

export const beaconTreatment: Readonly<Record<TreatmentType, string>> = {
  'hear-and-treat': 'HT',
  'see-and-treat': 'ST',
  'see-and-convey': 'STC',
};

export const beaconUnitKind: Readonly<Record<VehicleType, string>> = { DCA: 'AMB', RRV: 'CAR', HEMS: 'AIR' };

export const beaconSex: Readonly<Record<Gender, string>> = { male: 'M', female: 'F', other: 'O', unknown: 'U' };

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Drops undefined values; a sparse call writes null for them instead (Beacon does both). */
function compact(entries: Readonly<Record<string, Json | undefined>>, nulls: boolean): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) {
      out[key] = value;
    } else if (nulls) {
      out[key] = null;
    }
  }
  return out;
}

/** Renders one call as a Beacon JSON object. */
export function beaconCall(call: SampleCall): { [key: string]: Json } {
  const nulls = call.callAnswered === undefined;
  const unitIds = new Map(call.resources.map((resource, index) => [resource.callSign, `U${index + 1}`]));
  return compact(
    {
      callRef: `BCN-${call.incidentId}`,
      origin: beaconOrigin[call.callOrigin],
      timestamps: compact(
        {
          incidentCreated: call.incidentCreated,
          callConnected: call.callConnected,
          callAnswered: call.callAnswered,
          callEnded: call.callEnded,
          dispositionEstablished: call.dispatchCodeEstablished,
        },
        nulls,
      ),
      category: { initial: `C${call.initialCategory}`, reporting: `C${call.reportingCategory}` },
      flags: { aqi: call.aqi, nhs111: call.nhs111, cat1EarlyPrediction: call.cat1EarlyPrediction },
      aqi:
        call.clockStart === undefined
          ? undefined
          : compact(
              { clockStart: call.clockStart, clockStop: call.clockStop, responseSeconds: call.aqiResponseSeconds },
              false,
            ),
      outcome: compact(
        {
          treatment: call.treatmentType === undefined ? undefined : beaconTreatment[call.treatmentType],
          stopCode: call.stopCode === undefined ? undefined : beaconStopCode[call.stopCode],
        },
        false,
      ),
      locationText: call.locationDescription,
      units: call.resources.map((resource) =>
        compact(
          {
            unitId: unitIds.get(resource.callSign),
            callSign: resource.callSign,
            kind: beaconUnitKind[resource.vehicleType],
            times: compact(
              {
                mobilised: resource.mobilised,
                onScene: resource.arrived,
                leftScene: resource.leftScene,
                atHospital: resource.atHospital,
                handover: resource.handover,
                clear: resource.clear,
                stoodDown: resource.stoodDown,
              },
              false,
            ),
          },
          false,
        ),
      ),
      patients: call.patients.map((patient) =>
        compact(
          {
            seq: patient.patientNo,
            nhsNo: patient.nhsNumber,
            dob: patient.birthDate,
            sex: patient.gender === undefined ? undefined : beaconSex[patient.gender],
            ethnicity: patient.ethnicCategory,
            postcode: patient.postcode,
            destination:
              patient.conveyedTo === undefined
                ? undefined
                : { siteCode: patient.conveyedTo.ods, siteName: patient.conveyedTo.name },
            unitRefs: patient.callSigns.map((sign) => unitIds.get(sign) ?? sign),
          },
          nulls,
        ),
      ),
    },
    nulls,
  );
}

/** Writes `<name>.ndjson` in `directory`, one call per line. */
export function beaconWriter(directory: string, name = 'beacon-calls-2024'): ExportWriter {
  const sink = new FileSink(join(directory, `${name}.ndjson`));
  return {
    write(call: SampleCall): void {
      sink.write(`${JSON.stringify(beaconCall(call))}\n`);
    },
    close(): string[] {
      return [sink.close()];
    },
  };
}
