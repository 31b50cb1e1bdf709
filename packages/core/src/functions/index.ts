export {
  compileDatePattern,
  createDateTimeConverter,
  formatOffset,
  isKnownTimeZone,
} from './datetime.js';
export type { DateParser, DateTimeConverter, DateTimeOptions, LocalDateTime } from './datetime.js';
export { keyPartText, ref, uuid5 } from './identifiers.js';
export { coding, lookupTarget, translate } from './lookup.js';
export type { CodingValue } from './lookup.js';
export { loadConceptMapLookup, loadCsvLookup, loadLookupFile } from './lookup-files.js';
export type { LoadedLookup } from './lookup-files.js';
export { isNhsNumber, nhsNumber, normaliseNhsNumber } from './nhs-number.js';
export { normaliseOdsCode, odsCode, odsCodePattern } from './ods-code.js';
export { normalisePostcode, postcode } from './postcode.js';
