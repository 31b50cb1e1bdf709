/**
 * Builds synthetic, vendor-neutral ambulance calls. Everything derives from a seeded {@link Random}: the same seed
 * gives the same calls, byte for byte.
 */
import { addMinutes, addSeconds, isoDate, isoLocal, localTime, type LocalTime } from './local-time.js';
import type {
  CallOrigin,
  Gender,
  ReceivingSite,
  ResponseCategory,
  SampleCall,
  SamplePatient,
  SampleResource,
  StopCode,
  TreatmentType,
  VehicleType,
} from './model.js';
import { invalidNhsNumber, validNhsNumber } from './nhs-number.js';
import { Random } from './random.js';
import {
  ethnicCategories,
  inwardLetters,
  acuteSites,
  locationDescriptions,
  multiLineLocation,
  otherSites,
  outwardCodes,
} from './reference-data.js';

/** What a scenario fixes; everything left out is drawn at random. */
export interface CallSpec {
  readonly connected: string;
  readonly origin?: CallOrigin;
  readonly category?: ResponseCategory;
  readonly reportingCategory?: ResponseCategory;
  readonly outcome?: TreatmentType | { readonly stopCode: StopCode };
  readonly patients?: number;
  /** Leave out every optional field. */
  readonly sparse?: boolean;
  /** RRV first on scene, then a DCA: two vehicles on patient 1. */
  readonly twoVehiclesOnPatient?: boolean;
  /** Each extra patient gets its own DCA (else one DCA sees every patient). */
  readonly vehiclePerPatient?: boolean;
  /** Patients on different DCAs go to different receiving sites. */
  readonly differentSites?: boolean;
  readonly helicopter?: boolean;
  readonly standDownExtra?: boolean;
  readonly invalidNhsNumber?: boolean;
  readonly postcode?: string;
  readonly locationDescription?: string;
  readonly cat1EarlyPrediction?: boolean;
  /** Minutes from arrival on scene to leaving scene (to push a call across midnight). */
  readonly onSceneMinutes?: number;
  readonly edgeCases?: readonly string[];
}

const origins: readonly (readonly [CallOrigin, number])[] = [
  ['01', 72],
  ['02', 14],
  ['03', 6],
  ['04', 3],
  ['05', 2],
  ['06', 1],
  ['10', 1],
  ['15', 1],
];

const categories: readonly (readonly [ResponseCategory, number])[] = [
  [1, 10],
  [2, 52],
  [3, 28],
  [4, 10],
];

/** Mean minutes from mobilisation to arrival, by category. */
const travelMinutes: Readonly<Record<ResponseCategory, number>> = { 1: 7, 2: 19, 3: 48, 4: 95 };

const stopCodes: readonly StopCode[] = [
  'duplicate',
  'caller-cancelled',
  'hoax',
  'no-patient-found',
  'referred-other-service',
];

const genders: readonly (readonly [Gender, number])[] = [
  ['female', 49],
  ['male', 48],
  ['unknown', 2],
  ['other', 1],
];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Hands out call signs so that no call sign appears twice in one call. */
class CallSignPool {
  private readonly used = new Set<string>();

  constructor(private readonly rng: Random) {}

  take(type: VehicleType): string {
    for (;;) {
      const sign =
        type === 'DCA'
          ? `MEDIC ${this.rng.int(11, 79)}`
          : type === 'RRV'
            ? `RRV${this.rng.int(301, 339)}`
            : this.rng.pick(['HELIMED 54', 'HELIMED 58']);
      if (!this.used.has(sign)) {
        this.used.add(sign);
        return sign;
      }
    }
  }
}

function randomPostcode(rng: Random): string {
  const inward = `${rng.int(1, 9)}${rng.pick([...inwardLetters])}${rng.pick([...inwardLetters])}`;
  return `${rng.pick(outwardCodes)} ${inward}`;
}

function randomBirthDate(rng: Random, callTime: LocalTime): string {
  const age = rng.weighted<[number, number]>([
    [[0, 4], 5],
    [[5, 17], 6],
    [[18, 44], 22],
    [[45, 64], 22],
    [[65, 79], 25],
    [[80, 101], 20],
  ]);
  const years = rng.int(age[0], age[1]);
  return isoDate(addMinutes(callTime, -(years * 365.25 + rng.int(0, 364)) * 24 * 60));
}

function randomTravel(rng: Random, category: ResponseCategory): number {
  const mean = travelMinutes[category];
  return Math.max(2, mean * (0.4 + rng.next() * 1.3));
}

interface PatientSeed {
  readonly callSigns: readonly string[];
  readonly conveyedTo?: ReceivingSite;
}

function buildPatient(
  rng: Random,
  patientNo: number,
  callTime: LocalTime,
  seed: PatientSeed,
  spec: CallSpec,
): SamplePatient {
  const patient: Mutable<SamplePatient> = { patientNo, callSigns: seed.callSigns };
  if (seed.conveyedTo !== undefined) {
    patient.conveyedTo = seed.conveyedTo;
  }
  if (spec.sparse === true) {
    return patient;
  }
  if (spec.invalidNhsNumber === true && patientNo === 1) {
    patient.nhsNumber = invalidNhsNumber(rng);
  } else if (rng.chance(0.97)) {
    if (rng.chance(0.85)) {
      patient.nhsNumber = validNhsNumber(rng);
    }
  } else {
    patient.nhsNumber = invalidNhsNumber(rng);
  }
  if (rng.chance(0.93)) {
    patient.birthDate = randomBirthDate(rng, callTime);
  }
  patient.gender = rng.weighted(genders);
  if (rng.chance(0.75)) {
    patient.ethnicCategory = rng.pick(ethnicCategories);
  }
  if (spec.postcode !== undefined && patientNo === 1) {
    patient.postcode = spec.postcode;
  } else if (rng.chance(0.88)) {
    patient.postcode = randomPostcode(rng);
  }
  return patient;
}

/** Builds one call from a scenario; `incidentId` is assigned by the caller. */
export function buildCall(rng: Random, incidentId: string, spec: CallSpec): SampleCall {
  const connected = localTime(spec.connected);
  const sparse = spec.sparse === true;
  const origin = spec.origin ?? rng.weighted(origins);
  const category = spec.category ?? (origin === '02' ? rng.weighted(categories.slice(1)) : rng.weighted(categories));
  const reportingCategory =
    spec.reportingCategory ??
    (rng.chance(0.12) ? (Math.min(4, Math.max(1, category + rng.pick([-1, 1]))) as ResponseCategory) : category);
  const answered = addSeconds(connected, rng.int(2, 25));
  const created = addSeconds(answered, rng.int(5, 40));
  const ended = addSeconds(answered, rng.int(150, 900));
  const dispatch = addSeconds(answered, category === 1 ? rng.int(20, 90) : rng.int(45, 300));
  const outcome: TreatmentType | { readonly stopCode: StopCode } =
    spec.outcome ??
    rng.weighted<TreatmentType | { readonly stopCode: StopCode }>([
      [{ stopCode: rng.pick(stopCodes) }, 6],
      ['hear-and-treat', 12],
      ['see-and-treat', 30],
      ['see-and-convey', 52],
    ]);
  const signs = new CallSignPool(rng);
  const resources: Mutable<SampleResource>[] = [];
  const patientSeeds: PatientSeed[] = [];
  let stopCode: StopCode | undefined;
  let treatmentType: TreatmentType | undefined;

  const firstMobilised = addSeconds(dispatch, rng.int(-30, 120));
  const mobilise = (type: VehicleType, mobilised: LocalTime): Mutable<SampleResource> => {
    const resource: Mutable<SampleResource> = { callSign: signs.take(type), vehicleType: type };
    resource.mobilised = isoLocal(mobilised);
    resources.push(resource);
    return resource;
  };

  if (typeof outcome === 'object') {
    stopCode = outcome.stopCode;
    if (stopCode === 'no-patient-found') {
      const vehicle = mobilise('DCA', firstMobilised);
      const arrived = addMinutes(firstMobilised, randomTravel(rng, category));
      vehicle.arrived = isoLocal(arrived);
      vehicle.clear = isoLocal(addMinutes(arrived, rng.int(5, 25)));
    } else if (stopCode === 'hoax' || (stopCode === 'caller-cancelled' && rng.chance(0.5))) {
      const vehicle = mobilise(rng.chance(0.5) ? 'RRV' : 'DCA', firstMobilised);
      vehicle.stoodDown = isoLocal(addMinutes(firstMobilised, rng.int(2, 12)));
    }
  } else if (outcome === 'hear-and-treat') {
    treatmentType = outcome;
    patientSeeds.push({ callSigns: [] });
  } else {
    treatmentType = outcome;
    const convey = outcome === 'see-and-convey';
    const patientCount = spec.patients ?? rng.weighted([
      [1, 88],
      [2, 9],
      [3, 3],
    ]);
    const twoVehicles =
      spec.twoVehiclesOnPatient ?? (spec.helicopter === true || (category <= 2 && rng.chance(0.3)));
    const firstType: VehicleType = spec.helicopter === true ? 'HEMS' : twoVehicles ? 'RRV' : 'DCA';
    const first = mobilise(firstType, firstMobilised);
    const firstArrived = addMinutes(firstMobilised, randomTravel(rng, category));
    first.arrived = isoLocal(firstArrived);
    const onScene = spec.onSceneMinutes ?? rng.int(25, 70);

    let dca: Mutable<SampleResource> = first;
    let dcaArrived = firstArrived;
    if (firstType !== 'DCA') {
      const mobilised = addMinutes(firstMobilised, rng.int(0, 10));
      dca = mobilise('DCA', mobilised);
      dcaArrived = addMinutes(mobilised, randomTravel(rng, category) + rng.int(2, 15));
      dca.arrived = isoLocal(dcaArrived);
    }
    const finishDca = (vehicle: Mutable<SampleResource>, arrivedAt: LocalTime): LocalTime => {
      if (convey) {
        const left = addMinutes(arrivedAt, onScene);
        const atHospital = addMinutes(left, rng.int(10, 40));
        const handover = addMinutes(atHospital, rng.weighted([
          [rng.int(8, 15), 50],
          [rng.int(16, 60), 35],
          [rng.int(61, 180), 15],
        ]));
        vehicle.leftScene = isoLocal(left);
        vehicle.atHospital = isoLocal(atHospital);
        vehicle.handover = isoLocal(handover);
        vehicle.clear = isoLocal(addMinutes(handover, rng.int(10, 30)));
        return left;
      }
      const clear = addMinutes(arrivedAt, onScene);
      vehicle.clear = isoLocal(clear);
      return clear;
    };
    const dcaDone = finishDca(dca, dcaArrived);
    if (first !== dca) {
      first.clear = isoLocal(addMinutes(dcaDone, rng.int(0, 10)));
    }

    const site = category <= 2 || rng.chance(0.7) ? rng.pick(acuteSites) : rng.pick(otherSites);
    const firstPatientSigns = first === dca ? [dca.callSign] : [first.callSign, dca.callSign];
    let standDown: Mutable<SampleResource> | undefined;
    if (spec.standDownExtra ?? rng.chance(0.08)) {
      const mobilised = addMinutes(firstMobilised, rng.int(1, 5));
      standDown = mobilise('RRV', mobilised);
      standDown.stoodDown = isoLocal(addMinutes(mobilised, rng.int(2, 12)));
    }
    patientSeeds.push({
      callSigns: standDown === undefined ? firstPatientSigns : [...firstPatientSigns, standDown.callSign],
      ...(convey ? { conveyedTo: site } : {}),
    });
    for (let extra = 2; extra <= patientCount; extra += 1) {
      if (spec.vehiclePerPatient ?? rng.chance(0.5)) {
        const mobilised = addMinutes(firstMobilised, rng.int(2, 15));
        const own = mobilise('DCA', mobilised);
        const arrivedAt = addMinutes(mobilised, randomTravel(rng, category));
        own.arrived = isoLocal(arrivedAt);
        finishDca(own, arrivedAt);
        const otherSite =
          (spec.differentSites ?? rng.chance(0.4))
            ? (acuteSites.find((candidate) => candidate !== site) ?? site)
            : site;
        patientSeeds.push({ callSigns: [own.callSign], ...(convey ? { conveyedTo: otherSite } : {}) });
      } else {
        patientSeeds.push({ callSigns: [dca.callSign], ...(convey ? { conveyedTo: site } : {}) });
      }
    }
  }

  const arrivals = resources.flatMap((r) => (r.arrived === undefined ? [] : [localTime(r.arrived)]));
  const mobilisations = resources.flatMap((r) => (r.mobilised === undefined ? [] : [localTime(r.mobilised)]));
  const aqi = treatmentType !== undefined && !rng.chance(0.04);
  const clockStart = Math.min(dispatch, addSeconds(connected, category === 1 ? 30 : 240), ...mobilisations);
  const clockStop = arrivals.length > 0 ? Math.min(...arrivals) : undefined;

  const call: Mutable<SampleCall> = {
    incidentId,
    incidentCreated: isoLocal(created),
    callConnected: isoLocal(connected),
    callOrigin: origin,
    initialCategory: category,
    reportingCategory,
    aqi,
    nhs111: origin === '02',
    cat1EarlyPrediction: spec.cat1EarlyPrediction ?? (category === 1 && rng.chance(0.6)),
    resources,
    patients: patientSeeds.map((seed, index) => buildPatient(rng, index + 1, connected, seed, spec)),
    edgeCases: spec.edgeCases ?? [],
  };
  if (stopCode !== undefined) {
    call.stopCode = stopCode;
  }
  if (treatmentType !== undefined) {
    call.treatmentType = treatmentType;
  }
  if (!sparse) {
    call.callAnswered = isoLocal(answered);
    call.callEnded = isoLocal(ended);
    call.dispatchCodeEstablished = isoLocal(dispatch);
    call.locationDescription = spec.locationDescription ?? rng.pick(locationDescriptions);
    if (aqi) {
      call.clockStart = isoLocal(clockStart);
      if (clockStop !== undefined) {
        call.clockStop = isoLocal(clockStop);
        call.aqiResponseSeconds = clockStop - clockStart;
      }
    }
  }
  return call;
}

/**
 * The edge cases every vendor sample must show. Each scenario is written once and rendered by all three
 * vendor writers.
 */
const edgeCaseSpecs: readonly CallSpec[] = [
  {
    connected: '2024-03-31T01:05:10',
    category: 1,
    outcome: 'see-and-treat',
    patients: 1,
    twoVehiclesOnPatient: false,
    standDownExtra: false,
    onSceneMinutes: 25,
    edgeCases: ['BST starts: every local time of the call inside the 01:00–02:00 gap on 2024-03-31'],
  },
  {
    connected: '2024-03-31T01:48:05',
    category: 3,
    outcome: 'hear-and-treat',
    edgeCases: ['BST starts: call connected in the gap, hear and treat'],
  },
  {
    connected: '2024-10-27T01:20:15',
    category: 2,
    outcome: 'see-and-convey',
    patients: 1,
    twoVehiclesOnPatient: true,
    standDownExtra: false,
    onSceneMinutes: 30,
    edgeCases: ['BST ends: local times inside the repeated 01:00–02:00 hour on 2024-10-27', 'two vehicles on one patient'],
  },
  {
    connected: '2024-06-14T23:41:30',
    category: 2,
    outcome: 'see-and-convey',
    patients: 1,
    twoVehiclesOnPatient: false,
    onSceneMinutes: 40,
    edgeCases: ['call crossing midnight'],
  },
  {
    connected: '2024-08-02T23:58:10',
    category: 4,
    outcome: 'see-and-treat',
    patients: 1,
    twoVehiclesOnPatient: false,
    edgeCases: ['call crossing midnight (connected before, resources after)'],
  },
  {
    connected: '2024-04-09T10:02:00',
    origin: '03',
    outcome: { stopCode: 'referred-other-service' },
    edgeCases: ['closed with a stop code (referred to another service) and no response'],
  },
  {
    connected: '2024-05-21T16:44:12',
    origin: '01',
    outcome: { stopCode: 'duplicate' },
    edgeCases: ['closed with a stop code (duplicate call), no response'],
  },
  {
    connected: '2024-07-11T02:15:51',
    origin: '04',
    outcome: { stopCode: 'hoax' },
    edgeCases: ['closed with a stop code after a vehicle was mobilised and stood down'],
  },
  {
    connected: '2024-09-03T13:27:40',
    outcome: { stopCode: 'no-patient-found' },
    category: 2,
    edgeCases: ['stop code: vehicle on scene, no patient found'],
  },
  {
    connected: '2024-05-04T17:35:22',
    category: 1,
    outcome: 'see-and-convey',
    patients: 3,
    twoVehiclesOnPatient: true,
    vehiclePerPatient: true,
    differentSites: true,
    locationDescription: 'M1 J24 southbound, lane 2, three-vehicle RTC',
    edgeCases: ['several patients on one call', 'several receiving sites', 'two vehicles on one patient'],
  },
  {
    connected: '2024-06-22T20:10:09',
    category: 2,
    outcome: 'see-and-convey',
    patients: 2,
    twoVehiclesOnPatient: false,
    vehiclePerPatient: false,
    edgeCases: ['a vehicle attending two patients (one vehicle Location)', 'several patients on one call'],
  },
  {
    connected: '2024-07-30T09:12:44',
    category: 3,
    outcome: 'see-and-treat',
    patients: 2,
    twoVehiclesOnPatient: false,
    vehiclePerPatient: false,
    edgeCases: ['a vehicle attending two patients, both treated on scene'],
  },
  {
    connected: '2024-04-18T11:05:37',
    origin: '02',
    category: 3,
    outcome: 'hear-and-treat',
    edgeCases: ['hear and treat with no vehicle', 'call from NHS 111'],
  },
  {
    connected: '2024-08-19T14:50:03',
    origin: '02',
    category: 2,
    outcome: 'see-and-convey',
    patients: 1,
    edgeCases: ['call from NHS 111, conveyed'],
  },
  {
    connected: '2024-05-13T08:20:18',
    category: 2,
    outcome: 'see-and-convey',
    patients: 1,
    twoVehiclesOnPatient: true,
    standDownExtra: true,
    edgeCases: ['two vehicles on one patient and a third stood down en route'],
  },
  {
    connected: '2024-09-25T06:33:57',
    category: 3,
    outcome: 'see-and-treat',
    patients: 1,
    invalidNhsNumber: true,
    edgeCases: ['an invalid NHS number (fails modulus 11)'],
  },
  {
    connected: '2024-10-05T15:18:29',
    category: 3,
    outcome: 'see-and-convey',
    patients: 1,
    sparse: true,
    edgeCases: ['missing optional fields (no answered/ended, dispatch code time, AQI times, demographics)'],
  },
  {
    connected: '2024-07-04T12:00:45',
    category: 4,
    outcome: 'hear-and-treat',
    sparse: true,
    edgeCases: ['missing optional fields, hear and treat'],
  },
  {
    connected: '2024-06-03T03:47:11',
    category: 2,
    outcome: 'see-and-convey',
    patients: 1,
    locationDescription: multiLineLocation,
    postcode: 'NFA',
    edgeCases: ['free text with a comma and a line break', 'postcode NFA (no fixed abode) is not a postcode'],
  },
  {
    connected: '2024-08-27T18:22:36',
    category: 1,
    outcome: 'see-and-convey',
    patients: 1,
    helicopter: true,
    cat1EarlyPrediction: true,
    edgeCases: ['Category 1 with early prediction, air ambulance first on scene'],
  },
  {
    connected: '2024-09-14T22:09:58',
    category: 1,
    reportingCategory: 2,
    outcome: 'see-and-treat',
    patients: 1,
    postcode: 'ng72uh',
    edgeCases: ['reporting category differs from initial', 'postcode typed without space in lower case'],
  },
];

/** Number of calls in the fixed sample set. */
export const sampleCallCount = 64;

/** The fixed sample set: the edge cases plus random calls, in incident-id (and time) order. */
export function sampleCalls(seed = 20240331): SampleCall[] {
  const rng = new Random(seed);
  const specs: CallSpec[] = [...edgeCaseSpecs];
  let time = localTime('2024-03-29T07:14:00');
  while (specs.length < sampleCallCount) {
    time = addMinutes(time, rng.int(2 * 24 * 60, 4 * 24 * 60) + rng.int(0, 59));
    specs.push({ connected: isoLocal(time) });
  }
  specs.sort((a, b) => localTime(a.connected) - localTime(b.connected));
  let id = 24_000_101;
  return specs.map((spec) => {
    id += rng.int(1, 40);
    return buildCall(rng, String(id), spec);
  });
}

/**
 * Generates `count` random calls one at a time, starting 2024-01-01, in ascending incident-id order. Nothing is
 * kept between calls, so memory stays flat however many calls are asked for.
 */
export function* streamCalls(count: number, seed = 1): Generator<SampleCall> {
  const rng = new Random(seed);
  let time = localTime('2024-01-01T00:00:00');
  for (let index = 0; index < count; index += 1) {
    time = addSeconds(time, rng.int(5, 55));
    yield buildCall(rng, String(30_000_000 + index), { connected: isoLocal(time) });
  }
}
