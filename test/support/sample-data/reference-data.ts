/**
 * Fictional but plausible UK reference data for the synthetic calls. Site names and ODS codes are invented; the
 * outward postcodes are real districts (East Midlands) with random inward parts.
 */
import type { ReceivingSite } from './model.js';

/** Sites with an emergency department, where Category 1 and 2 patients go. */
export const acuteSites: readonly ReceivingSite[] = [
  { ods: 'RX1RA', name: 'Northwold General Hospital' },
  { ods: 'RK5BC', name: 'St Aldhelm’s Hospital' },
  { ods: 'RW3KM', name: 'Kingsmere Royal Infirmary' },
];

/** Other places of care that take Category 3 and 4 patients. */
export const otherSites: readonly ReceivingSite[] = [
  { ods: 'RTG2F', name: 'Fenbridge Urgent Treatment Centre' },
  { ods: 'RHQ4M', name: 'Ashby Vale Community Hospital' },
  { ods: 'RP7EM', name: 'Eastgate Mental Health Unit' },
];

export const outwardCodes: readonly string[] = [
  'NG1', 'NG3', 'NG5', 'NG7', 'NG9', 'NG17', 'DE1', 'DE22', 'DE24', 'LE1', 'LE4', 'LE11', 'LN1', 'LN6', 'S40',
  'NN1', 'NN15', 'PE21', 'DN21', 'NG31',
];

/** Letters allowed in the inward part of a UK postcode. */
export const inwardLetters = 'ABDEFGHJLNPQRSTUWXYZ';

/** Incident locations as call handlers type them: curly apostrophes, accents, pound signs, commas. */
export const locationDescriptions: readonly string[] = [
  'Outside Café Rouge, Market Square',
  'The King’s Head car park',
  'Poundstretcher (£1 aisle), Fenbridge Retail Park',
  'Junction of A52 and Derby Road',
  'Platform 2, Northwold station',
  'Home address',
  'Bus stop opposite St Aldhelm’s church',
  'Crèche, Kingsmere Leisure Centre',
  'Layby on A46 northbound',
  'Garden centre café, Ashby Road',
];

/** A description with a comma and a line break: it must be quoted in CSV. */
export const multiLineLocation = 'Flat 3, Mill Court\nRear entrance via car park, key safe code given';

export const ethnicCategories: readonly string[] = [
  'A', 'A', 'A', 'A', 'A', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'Z', '99',
];
