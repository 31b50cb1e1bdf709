import { isNhsNumber, normaliseNhsNumber } from '../functions/nhs-number.js';

export { isNhsNumber };

/** What replaces a secret. */
export const redactedMark = '[redacted]';

/** Secrets shorter than this are not scrubbed by value: they would mask ordinary words and numbers. */
export const minSecretLength = 6;

/**
 * An NHS number with all but its last three digits masked, e.g. `*******415`: enough for a person to find the
 * record, not enough to identify the patient.
 */
export function maskNhsNumber(nhsNumber: string): string {
  const digits = nhsNumber.replace(/\D/g, '');
  return `*******${digits.slice(-3)}`;
}

/** Ten digits, each pair optionally separated by one space or dash (as `99 98 97 04 15` or `999-897-0415`). */
const tenDigits = String.raw`(?<!\d)\d(?:[ -]?\d){9}(?!\d)`;

/** Whether a field name names an NHS number (`NhsNo`, `nhs_number`, `patientNHSNumber`…). */
export const isNhsNumberField = (name: string): boolean => /nhs[_ -]?(?:number|num|no)?$/i.test(name);

/** `text` with every run of ten digits (in any grouping nhsNumber() reads) masked, valid or not. */
export function maskTenDigitRuns(text: string): string {
  return text.replace(new RegExp(tenDigits, 'g'), (digits) => maskNhsNumber(digits));
}

/** Names of fields whose value is a secret, as `name: value`, `name=value` or `"name":"value"`. */
const secretField = String.raw`(?:access[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?assertion|client[_-]?secret|password|passphrase|shared[_-]?key|api[_-]?key)`;

const rules: readonly [RegExp, (match: string, ...groups: string[]) => string][] = [
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, () => '[private key redacted]'],
  [/\b(Bearer|NHSMESH)\s+[A-Za-z0-9._~+/=:-]{8,}/gi, (_m, scheme = '') => `${scheme} ${redactedMark}`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, () => '[jwt redacted]'],
  [
    new RegExp(String.raw`(["']?\b[A-Za-z0-9_.-]*?${secretField}["']?\s*[:=]\s*["']?)(?![\[{])[^\s"'&,;{}\[\]]+`, 'gi'),
    (_m, prefix = '') => `${prefix}${redactedMark}`,
  ],
  // any ten digits given as the value of a field named as an NHS number, valid or not: `"nhsNumber":"…"`,
  // `NHS_NO=…`, or `column 3 'NhsNumber', record 7) = "…"` as explain shows an input cell
  [
    new RegExp(String.raw`(\b[A-Za-z_]*nhs[_ -]?(?:number|num|no)?\b(?:["']?\s*|[^\n"=:]{0,60}?)[:=]\s*["']?)(${tenDigits})`, 'gi'),
    (_m, prefix = '', digits = '') => `${prefix}${maskNhsNumber(digits)}`,
  ],
  // elsewhere, ten digits (in any grouping nhsNumber() reads) that pass the modulus 11 check
  [new RegExp(tenDigits, 'g'), (match, ...rest) => (normaliseNhsNumber(match) !== undefined && !insideHexToken(match, rest) ? maskNhsNumber(match) : match)],
];

/**
 * True when ten digits are only a stretch of a hexadecimal token such as a UUID, a hash or a MESH message id
 * (`…-a32a-0123456789dd`): a letter touches them and the whole token is hexadecimal digits and dashes.
 */
function insideHexToken(match: string, rest: unknown[]): boolean {
  const offset = rest.at(-2) as number;
  const text = rest.at(-1) as string;
  const before = text[offset - 1] ?? '';
  const after = text[offset + match.length] ?? '';
  if (!/[A-Za-z]/.test(before + after)) {
    return false;
  }
  let start = offset;
  let end = offset + match.length;
  while (start > 0 && /[0-9A-Za-z_-]/.test(text[start - 1]!)) {
    start--;
  }
  while (end < text.length && /[0-9A-Za-z_-]/.test(text[end]!)) {
    end++;
  }
  return /^[0-9A-Fa-f-]+$/.test(text.slice(start, end));
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Scrubs secrets and personal identifiers from text meant for people (log lines, error messages, reports):
 * private keys, bearer and MESH (`NHSMESH`) tokens, JWTs, the values of token, password, passphrase, shared-key
 * and API-key fields, NHS numbers (10 digits in any spaced or dashed grouping, masked to their last three digits:
 * in a field named as an NHS number always, elsewhere when they pass the modulus 11 check), and every secret value it has been given (e.g. the mailbox password the
 * caller loaded), wherever it appears.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const secret of secrets) {
      this.addSecret(secret);
    }
  }

  /**
   * Scrubs `value` wherever it appears from now on (also JSON- and URL-encoded). Values shorter than
   * {@link minSecretLength} are ignored; a PEM block adds each of its base64 lines too.
   */
  addSecret(value: string | undefined): void {
    if (value === undefined) {
      return;
    }
    const trimmed = value.trim();
    const variants = [trimmed, JSON.stringify(trimmed).slice(1, -1), encodeURIComponent(trimmed)];
    if (trimmed.includes('-----BEGIN')) {
      variants.push(...trimmed.split(/\r?\n/).filter((line) => !line.startsWith('-----') && line.length >= 16));
    }
    for (const variant of variants) {
      if (variant.length >= minSecretLength && !this.secrets.has(variant)) {
        this.secrets.add(variant);
        this.pattern = undefined;
      }
    }
  }

  /** How many secret values (with their encodings) are scrubbed by value. */
  get size(): number {
    return this.secrets.size;
  }

  /** The scrubbed text. */
  readonly redact = (text: string): string => {
    let out = text;
    if (this.secrets.size > 0) {
      this.pattern ??= new RegExp(
        [...this.secrets]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      );
      out = out.replace(this.pattern, redactedMark);
    }
    for (const [pattern, replace] of rules) {
      out = out.replace(pattern, replace as (substring: string, ...args: unknown[]) => string);
    }
    return out;
  };
}

const shared = new Redactor();

/**
 * Scrubs text meant for logs or error messages by pattern (no known secret values; see {@link Redactor} for
 * those): private keys, bearer and NHSMESH tokens, JWTs, token/password/shared-key/API-key fields, and NHS
 * numbers masked to their last three digits.
 */
export function redact(text: string): string {
  return shared.redact(text);
}
