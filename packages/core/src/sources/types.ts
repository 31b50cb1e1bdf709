import type { Diagnostic, InputSpan } from '../diagnostics/diagnostic.js';

/**
 * Hidden origin of a source node (CSV row, XML element, JSON object). Stored under a symbol so that it is
 * invisible to expressions, JSON.stringify and fhirpath, yet survives for provenance and diagnostics.
 */
export const ORIGIN: unique symbol = Symbol.for('cadmap.origin');

export type SourceValue = string | number | boolean | null | SourceNode | readonly SourceValue[];

/**
 * One node of a source record: a CSV row (header → cell text, an empty cell as undefined; joined child tables
 * as arrays of rows), an XML element (attributes and child elements as properties) or a JSON object. Objects
 * are created with a null prototype so keys such as `__proto__` are plain data. A field that is undefined is
 * absent, as if the key were missing.
 */
export interface SourceNode {
  [field: string]: SourceValue | undefined;
}

export interface NodeOrigin {
  /** Locates the node itself, or one of its fields when `field` is given. */
  locate(field?: string): InputSpan;
}

export function originOf(node: unknown): NodeOrigin | undefined {
  return typeof node === 'object' && node !== null
    ? ((node as { [ORIGIN]?: NodeOrigin })[ORIGIN] ?? undefined)
    : undefined;
}

/**
 * Attaches an origin. A plain symbol-keyed property: JSON.stringify, Object.keys/entries, for…in and fhirpath
 * all ignore symbol keys, and a plain store is far cheaper than defineProperty on every row of an export.
 */
export function setOrigin(node: object, origin: NodeOrigin): void {
  (node as { [ORIGIN]?: NodeOrigin })[ORIGIN] = origin;
}

/**
 * What a reader yields: one root record (a call) with its joined records, or a rejected piece of input.
 * Nothing read is ever dropped: input that cannot become a record is yielded with `data` undefined, its raw
 * content and the diagnostics that explain why, so it reaches the dead-letter output. A reader may compute
 * `origin` and `raw` when they are first read (getters): copy a record's members by name, not by spreading it.
 */
export interface SourceRecord {
  /** Natural key of the record (e.g. the CAD incident id), or '' when it has none. */
  readonly key: string;
  /** The record, or undefined when the input could not be read as a record. */
  readonly data: SourceNode | undefined;
  /** Where the record (or the rejected input) starts. */
  readonly origin: InputSpan;
  /**
   * Original content for the dead-letter output: for CSV the raw lines per table (`{ calls: [...], resources: [...] }`),
   * for XML the element's text, for JSON/NDJSON the record's text.
   */
  readonly raw: RawContent;
  /**
   * The characters of `raw`, each line counted with one more for its line break, when the reader knows them
   * without building `raw` (the limit checks need only this).
   */
  readonly rawLength?: number;
  /** Problems found while reading this record. Errors make the record fail; warnings travel with it. */
  readonly diagnostics: readonly Diagnostic[];
}

export type RawContent = string | Readonly<Record<string, readonly string[]>>;

/** An input given to a reader: a file path, or a named stream (e.g. stdin, an HTTP body). */
export type InputFile =
  | { readonly path: string; readonly table?: string }
  | { readonly name: string; readonly stream: AsyncIterable<Uint8Array>; readonly table?: string };

export const inputName = (input: InputFile): string => ('path' in input ? input.path : input.name);
