/**
 * JSON and lexical checks of FHIR R4 primitive values. The regular expressions are the `regex` extensions of the
 * R4 4.0.1 primitive StructureDefinitions (https://hl7.org/fhir/R4/datatypes.html#primitive), anchored.
 */
const year = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const month = '(0[1-9]|1[0-2])';
const day = '(0[1-9]|[1-2][0-9]|3[0-1])';
const time = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const zone = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';

const patterns: Readonly<Record<string, RegExp>> = {
  date: new RegExp(`^${year}(-${month}(-${day})?)?$`),
  dateTime: new RegExp(`^${year}(-${month}(-${day}(T${time}${zone})?)?)?$`),
  instant: new RegExp(`^${year}-${month}-${day}T${time}${zone}$`),
  time: new RegExp(`^${time}$`),
  code: /^[^\s]+( [^\s]+)*$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  uri: /^\S*$/,
  url: /^\S*$/,
  canonical: /^\S*$/,
  base64Binary: /^(\s*([0-9a-zA-Z+/=]){4}\s*)+$/,
};

const numericTypes = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt']);

/** Returns what is wrong with a primitive JSON value of the given FHIR type, or undefined when it is valid. */
export function primitiveProblem(type: string, value: unknown): string | undefined {
  if (type === 'boolean') {return typeof value === 'boolean' ? undefined : `expected a JSON boolean, found ${describe(value)}`;}
  if (numericTypes.has(type)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {return `expected a JSON number, found ${describe(value)}`;}
    if (type === 'decimal') {return undefined;}
    if (!Number.isInteger(value)) {return `${value} is not an integer`;}
    if (value > 2147483647 || value < -2147483648) {return `${value} is outside the 32-bit range of ${type}`;}
    if (type === 'positiveInt' && value < 1) {return `${value} is not a positiveInt (≥ 1)`;}
    if (type === 'unsignedInt' && value < 0) {return `${value} is not an unsignedInt (≥ 0)`;}
    return undefined;
  }
  if (typeof value !== 'string') {return `expected a JSON string, found ${describe(value)}`;}
  if (value.length === 0) {return 'empty string: leave the property out instead';}
  if (type === 'xhtml') {return /^\s*<div[\s>]/.test(value) ? undefined : 'narrative XHTML must be a <div> element';}
  if (type === 'string' || type === 'markdown') {
    return value.trim().length === 0 ? 'the string has only whitespace' : undefined;
  }
  const pattern = patterns[type];
  if (pattern && !pattern.test(value)) {return `"${value}" is not a valid ${type}`;}
  if ((type === 'date' || type === 'dateTime' || type === 'instant') && value.length >= 10 && !isRealDate(value)) {
    return `"${value}" is not a real calendar date`;
  }
  return undefined;
}

function isRealDate(value: string): boolean {
  const y = Number(value.slice(0, 4));
  const m = Number(value.slice(5, 7));
  const d = Number(value.slice(8, 10));
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
  return d <= days;
}

function describe(value: unknown): string {
  if (value === null) {return 'null';}
  if (Array.isArray(value)) {return 'an array';}
  if (typeof value === 'object') {return 'an object';}
  if (typeof value === 'string') {return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;}
  return `${typeof value} ${typeof value === 'number' || typeof value === 'boolean' ? String(value) : ''}`.trim();
}
