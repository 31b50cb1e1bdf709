/**
 * The ADS data items a report counts, each with a test of whether a bundle fills it (shared/docs/ads.md §8).
 * Items whose FHIR placement is unknown are not listed; the checks follow the element paths the guide states.
 */
interface Resource {
  readonly resourceType?: string;
  readonly [element: string]: unknown;
}

export interface AdsItem {
  readonly id: string;
  readonly label: string;
  readonly section: 'Call' | 'Response' | 'Patient contact';
  readonly filled: (resources: readonly Resource[]) => boolean;
}

const ofType = (resources: readonly Resource[], type: string): Resource[] => resources.filter((r) => r.resourceType === type);
const present = (value: unknown): boolean => value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);
const extensions = (resource: Resource | undefined): { url?: string; extension?: { url?: string; valueCodeableConcept?: { coding?: { code?: string }[] } }[] }[] =>
  Array.isArray(resource?.extension) ? (resource.extension as never[]) : [];
const hasExtension = (resource: Resource | undefined, fragment: string): boolean => extensions(resource).some((e) => e.url?.includes(fragment) === true);
const typedDateTimes = (resource: Resource | undefined): string[] =>
  extensions(resource)
    .filter((e) => e.url?.includes('TypedDateTime') === true)
    .flatMap((e) => (e.extension ?? []).flatMap((part) => part.valueCodeableConcept?.coding?.map((c) => c.code ?? '') ?? []));
const responseCategories = (resource: Resource | undefined): string[] =>
  extensions(resource)
    .filter((e) => e.url?.includes('ResponseCategory') === true)
    .flatMap((e) => (e.extension ?? []).filter((part) => part.url === 'responseCategoryType').flatMap((part) => part.valueCodeableConcept?.coding?.map((c) => c.code ?? '') ?? []));
const communication = (resources: readonly Resource[]): Resource | undefined => ofType(resources, 'Communication')[0];
const identifiers = (resource: Resource | undefined): { system?: string; value?: string; period?: { start?: string } }[] => (Array.isArray(resource?.identifier) ? (resource.identifier as never[]) : []);

export const adsItems: readonly AdsItem[] = [
  { id: 'ADS0', label: 'Submitting organisation', section: 'Call', filled: (r) => present(communication(r)?.sender) },
  { id: 'ADS1', label: 'Provider organisation', section: 'Call', filled: (r) => present(communication(r)?.recipient) },
  { id: 'ADS2A', label: 'Call date', section: 'Call', filled: (r) => identifiers(communication(r)).some((i) => present(i.period?.start)) },
  { id: 'ADS2B', label: 'Call origin', section: 'Call', filled: (r) => hasExtension(communication(r), 'CallOrigin') },
  { id: 'ADS3', label: 'Call identifier', section: 'Call', filled: (r) => identifiers(communication(r)).some((i) => present(i.value)) },
  { id: 'ADS4', label: 'Stop code', section: 'Call', filled: (r) => present(communication(r)?.statusReason) },
  { id: 'ADS8', label: 'AQI incident flag', section: 'Call', filled: (r) => hasExtension(communication(r), 'AQIIncidentFlag') },
  { id: 'ADS10', label: 'Time call connected', section: 'Call', filled: (r) => present(communication(r)?.sent) },
  { id: 'ADS15', label: 'Initial response category', section: 'Call', filled: (r) => responseCategories(communication(r)).some((code) => /initial/i.test(code)) },
  { id: 'ADS20', label: 'Reporting response category', section: 'Call', filled: (r) => responseCategories(communication(r)).some((code) => /report/i.test(code)) },
  { id: 'ADS21', label: 'Time dispatch code established', section: 'Call', filled: (r) => typedDateTimes(communication(r)).includes('time-dispatch-code-established') },
  { id: 'ADS33', label: 'Treatment type', section: 'Call', filled: (r) => present(communication(r)?.category) },
  { id: 'CALLSIGN', label: 'Call sign (vehicle)', section: 'Response', filled: (r) => ofType(r, 'Location').some((l) => JSON.stringify(l.meta ?? '').includes('AmbulanceResponseVehicle')) },
  { id: 'MOBILISED', label: 'Time resource mobilised', section: 'Response', filled: (r) => ofType(r, 'Encounter').some((e) => typedDateTimes(e).includes('time-resource-mobilised')) },
  { id: 'ON_SCENE', label: 'Time at scene', section: 'Response', filled: (r) => ofType(r, 'Encounter').some((e) => typedDateTimes(e).some((code) => /scene/.test(code) && !/left/.test(code))) },
  { id: 'PATIENT', label: 'Patient contact', section: 'Patient contact', filled: (r) => ofType(r, 'Patient').length > 0 },
  { id: 'NHS_NUMBER', label: 'NHS number', section: 'Patient contact', filled: (r) => ofType(r, 'Patient').some((p) => identifiers(p).some((i) => i.system?.includes('nhs-number') === true && present(i.value))) },
  { id: 'BIRTH_DATE', label: 'Birth date', section: 'Patient contact', filled: (r) => ofType(r, 'Patient').some((p) => present(p.birthDate)) },
  { id: 'GENDER', label: 'Gender', section: 'Patient contact', filled: (r) => ofType(r, 'Patient').some((p) => present(p.gender)) },
  { id: 'ETHNICITY', label: 'Ethnic category', section: 'Patient contact', filled: (r) => ofType(r, 'Patient').some((p) => hasExtension(p, 'EthnicCategory')) },
  { id: 'POSTCODE', label: 'Postcode', section: 'Patient contact', filled: (r) => ofType(r, 'Patient').some((p) => Array.isArray(p.address) && (p.address as { postalCode?: string }[]).some((a) => present(a.postalCode))) },
  { id: 'DESTINATION', label: 'Conveying destination', section: 'Patient contact', filled: (r) => ofType(r, 'Encounter').some((e) => present((e.hospitalization as { destination?: unknown } | undefined)?.destination)) },
];

/** The ids of the ADS items a bundle fills. */
export function filledAdsItems(bundle: unknown): string[] {
  const entries = (bundle as { entry?: { resource?: Resource }[] } | undefined)?.entry;
  const resources = Array.isArray(entries) ? entries.map((entry) => entry.resource).filter((r): r is Resource => typeof r === 'object' && r !== null) : [];
  return adsItems.filter((item) => item.filled(resources)).map((item) => item.id);
}
