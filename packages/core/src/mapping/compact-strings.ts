/**
 * Strings from a mapping file as strings of their own. The YAML and FHIRPath parsers cut values out of the
 * file's text, and a file holding one character beyond Latin-1 (a `─` in a comment) is a two-byte string: so
 * would be every value cut from it, and every bundle and JSON text those values end up in (about a third slower
 * to serialise). A copy is one-byte whenever its characters allow it.
 */
export function compactString(text: string): string {
  return wideCharacter.test(text) ? text : Buffer.from(text, 'latin1').toString('latin1');
}

/** {@link compactString} for every string in a parsed YAML value (changed in place; the value is returned). */
export function compactStrings(value: unknown): unknown {
  if (typeof value === 'string') {
    return compactString(value);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      value[i] = compactStrings(value[i]);
    }
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const current = record[key];
      if (typeof current === 'string') {
        // defined, not assigned: a key `__proto__` is data here
        Object.defineProperty(record, key, { value: compactString(current), writable: true, enumerable: true, configurable: true });
      } else {
        compactStrings(current);
      }
    }
  }
  return value;
}

// eslint-disable-next-line no-control-regex -- the whole Latin-1 range, control characters included
const wideCharacter = /[^\x00-\xff]/;
