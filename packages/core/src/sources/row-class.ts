import { ORIGIN, type NodeOrigin, type SourceNode } from './types.js';

/** Builds a source node from a row's cells (in header order) and its origin. */
export type RowNodeFactory = (fields: readonly string[], origin: NodeOrigin) => SourceNode;

/** Above this many columns rows are built field by field (generated code would grow with the header). */
const maxGeneratedColumns = 256;

/**
 * A factory of source nodes for rows with this header. Rows come out as objects whose prototype is an empty
 * null-prototype object, so no key (`__proto__`, `constructor`…) reaches Object.prototype, exactly as with
 * `Object.create(null)` — but built by one generated constructor that stores every cell under its column name
 * (an empty one as undefined), so V8 keeps them as fast objects of one shape per header instead of hash tables:
 * several times cheaper to build and to read. Column names are only ever embedded JSON-quoted.
 */
export function rowNodeFactory(headers: readonly string[]): RowNodeFactory {
  if (headers.length > maxGeneratedColumns) {
    return (fields, origin) => {
      const node = Object.create(null) as SourceNode;
      for (let k = 0; k < headers.length; k++) {
        const value = fields[k]!;
        if (value !== '') {
          node[headers[k]!] = value;
        }
      }
      (node as { [ORIGIN]?: NodeOrigin })[ORIGIN] = origin;
      return node;
    };
  }
  // An empty cell is an absent value (`X.exists()` is false, `=X` yields nothing: FHIR has no empty strings). It is
  // stored as undefined rather than left out, so every row of a header has the same shape and each read of a
  // column in generated code or an expression stays monomorphic (rows differing in which cells are empty were
  // as many hidden classes).
  const body = headers.map((name, k) => `const v${k} = fields[${k}];\nthis[${JSON.stringify(name)}] = v${k} === '' ? undefined : v${k};`).join('\n');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- column names are only ever embedded JSON-quoted
  const Row = new Function('origin', 'fields', 'originKey', `'use strict';\n${body}\nthis[originKey] = origin;`) as unknown as {
    new (origin: NodeOrigin, fields: readonly string[], originKey: symbol): SourceNode;
    prototype: object;
  };
  Row.prototype = Object.create(null) as object;
  return (fields, origin) => new Row(origin, fields, ORIGIN);
}
