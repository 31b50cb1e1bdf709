/**
 * The vendor-neutral shape of a synthetic ambulance call. Each vendor writer renders it in its own export format;
 * the three sample mappings turn those exports back into the same ADS content. Times are wall-clock local times
 * (Europe/London) as `yyyy-MM-ddTHH:mm:ss` strings; optional fields are absent when the CAD did not record them.
 */

/** ADS call origin codes (ads.md §6.1), kept as the two-character ADS code. */
export type CallOrigin = '01' | '02' | '03' | '04' | '05' | '06' | '10' | '15';

export type ResponseCategory = 1 | 2 | 3 | 4;

/** ADS33 treatment type. */
export type TreatmentType = 'hear-and-treat' | 'see-and-treat' | 'see-and-convey';

/** Why a call was closed without a face-to-face response (ADS4). */
export type StopCode = 'duplicate' | 'caller-cancelled' | 'hoax' | 'no-patient-found' | 'referred-other-service';

export type VehicleType = 'DCA' | 'RRV' | 'HEMS';

export type Gender = 'male' | 'female' | 'other' | 'unknown';

export interface SampleResource {
  readonly callSign: string;
  readonly vehicleType: VehicleType;
  readonly mobilised?: string;
  readonly arrived?: string;
  readonly leftScene?: string;
  readonly atHospital?: string;
  readonly handover?: string;
  readonly clear?: string;
  readonly stoodDown?: string;
}

export interface ReceivingSite {
  /** ODS site code, e.g. `RX1RA`. */
  readonly ods: string;
  readonly name: string;
}

export interface SamplePatient {
  /** 1-based patient number within the call. */
  readonly patientNo: number;
  readonly nhsNumber?: string;
  readonly birthDate?: string;
  readonly gender?: Gender;
  /** NHS England ethnic category code (A–Z, 99). */
  readonly ethnicCategory?: string;
  /** As the call handler typed it: not always normalised, sometimes not a postcode at all (`NFA`). */
  readonly postcode?: string;
  readonly conveyedTo?: ReceivingSite;
  /** Call signs of the resources assigned to this patient (including any stood down en route). */
  readonly callSigns: readonly string[];
}

export interface SampleCall {
  /** CAD incident id: 8 digits, ascending in generation order so every export file is in key order. */
  readonly incidentId: string;
  /** When the CAD created the call identifier (ADS2A). */
  readonly incidentCreated: string;
  readonly callConnected: string;
  readonly callAnswered?: string;
  readonly callEnded?: string;
  readonly callOrigin: CallOrigin;
  readonly initialCategory: ResponseCategory;
  readonly reportingCategory: ResponseCategory;
  readonly dispatchCodeEstablished?: string;
  readonly aqi: boolean;
  /** Call received from NHS 111 by manual or automated transfer. */
  readonly nhs111: boolean;
  readonly cat1EarlyPrediction: boolean;
  readonly stopCode?: StopCode;
  readonly treatmentType?: TreatmentType;
  readonly clockStart?: string;
  readonly clockStop?: string;
  readonly aqiResponseSeconds?: number;
  /** Free text typed by the call handler; carries characters that need Windows-1252 (’ é £) and commas. */
  readonly locationDescription?: string;
  readonly resources: readonly SampleResource[];
  readonly patients: readonly SamplePatient[];
  /** Which edge cases this call exercises (for READMEs and tests; not exported by any vendor). */
  readonly edgeCases: readonly string[];
}

/** Writes calls one at a time to a vendor export, so that 100k calls never sit in memory together. */
export interface ExportWriter {
  write(call: SampleCall): void;
  /** Finishes the export and returns the files written. */
  close(): string[];
}
