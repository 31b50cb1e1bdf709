import { describe, expect, it } from 'vitest';
import { compactString, compactStrings } from './compact-strings.js';

describe('compactStrings', () => {
  it('keeps every value as it is (only its representation changes), in place, in arrays and objects', () => {
    const wide = '─ box drawing ’ quote';
    const text = `${wide} https://example.org/Extension-A é`;
    const value = { a: text.slice(wide.length + 1), b: [text.slice(0, 5), 1, null, { c: wide }], d: true };
    const before = JSON.stringify(value);
    expect(compactStrings(value)).toBe(value);
    expect(JSON.stringify(value)).toBe(before);
    expect(compactString('')).toBe('');
    expect(compactString('ÿ é')).toBe('ÿ é');
  });

  it('treats a key `__proto__` as data', () => {
    const value = JSON.parse('{"__proto__": "x", "inner": {"__proto__": ["y"]}}') as Record<string, unknown>;
    compactStrings(value);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(value.inner)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
