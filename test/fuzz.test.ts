import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { accountFields, isDiagnosticCode, loadMapping, runMapping, type Diagnostic, type InputFile, type Mapping } from '../packages/core/src/index.js';
import { readPathsOf } from '../packages/core/src/mapping/read-paths.js';
import { projectRoot } from './support/fixtures.js';
import { applyEdits, fuzzRunner, longRunBudgetMs, longRunCases, textEdit } from './support/fuzzing.js';

/**
 * Fuzzing of the readers, the engine and the mapping loader: CSV, XML, NDJSON and JSON inputs mutated from the
 * sample exports or generated from scratch, and mutated YAML mappings. Every input must yield output or coded
 * diagnostics: no exception escapes, no case hangs (each is time-boxed), nothing read is silently dropped.
 *
 * The CI size fits about 20 s; `npm run fuzz` sets FUZZ_RUNS for a long run (the number of cases per property).
 */
const properties = 8;
/** Cases per property: FUZZ_RUNS spread over the properties, or the CI size. */
const runs = longRunCases !== undefined ? Math.ceil(longRunCases / properties) : 1500;
/** Wall-clock budget per property: the CI run stops early rather than overrun; a long run gets hours. */
const budgetMs = longRunCases !== undefined ? longRunBudgetMs : 4_000;
/** One case that takes longer than this has hung (a generous bound: cases take milliseconds). */
const caseTimeoutMs = 20_000;
/** vitest's own per-test timeout: room for the whole budget of the properties a test runs. */
const testTimeoutMs = 2 * budgetMs + 60_000;

const runFuzz = fuzzRunner('fuzz');
/** Runs an async property under the fuzz budget and counts the cases it ran. */
const fuzz = <T>(name: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> => runFuzz(name, arbitrary, check, { runs, budgetMs, caseTimeoutMs });

// ---------------------------------------------------------------------------------------------------------------
// inputs

const hostileTokens = [
  '"', '""', ',', ';', '\n', '\r', '\r\n', '\t', '\0', '\uFEFF', '\uD800', '\u2028', '\u00e9', '<', '>', '/>', '</', '&', '&amp;', '&lol;', '&#0;', '&#x110000;',
  '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<!DOCTYPE x [<!ENTITY a "b">]>', '<!DOCTYPE x SYSTEM "file:///etc/passwd">',
  '{', '}', '[', ']', ':', '"__proto__":', '__proto__', 'constructor', 'prototype', 'toString', 'null', 'true', '1e999', '-0', '9434765919',
  '31/03/2024 01:30:00', '2024-10-27T01:30:00', "'", '\\', '\\u0000', 'x'.repeat(300),
  // YAML anchors and aliases, for the mapping loader
  '&a ', '*a', '&a [*a]', '!!binary ',
];

const editText = fc.oneof(fc.constantFrom(...hostileTokens), fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 8 }));
const edits = fc.array(textEdit(editText), { minLength: 1, maxLength: 8 });

/** Invalid bytes too: a few raw bytes spliced into the encoded text. */
const rawBytes = fc.array(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }), { maxLength: 2 });
function encode(text: string, splices: readonly { at: number; bytes: Uint8Array }[]): Buffer {
  let bytes = Buffer.from(text, 'utf8');
  for (const { at, bytes: extra } of splices) {
    const k = at % (bytes.length + 1);
    bytes = Buffer.concat([bytes.subarray(0, k), extra, bytes.subarray(k)]);
  }
  return bytes;
}

/** A stream input, split into a few chunks so readers see records and multibyte characters cut at chunk edges. */
function streamInput(name: string, bytes: Buffer, cut: number, table?: string): InputFile {
  const k = bytes.length === 0 ? 0 : cut % bytes.length;
  const stream = Readable.from([bytes.subarray(0, k), bytes.subarray(k)].filter((part) => part.length > 0));
  return table === undefined ? { name, stream } : { name, stream, table };
}

// ---------------------------------------------------------------------------------------------------------------
// the vendors

interface Vendor {
  readonly mapping: Mapping;
  readonly mappingFile: string;
  readonly mappingText: string;
  /** Seed inputs: a few records of each sample file, as (file name, table, text). */
  readonly seeds: readonly { readonly name: string; readonly table?: string; readonly text: string }[];
  /** The whole sample export. */
  readonly sample: readonly InputFile[];
  /** Every path at which some record of the sample has a value (segments joined with NUL). */
  readonly present: ReadonlySet<string>;
}

const vendors = new Map<string, Vendor>();

/** The first `lines` lines of a text. */
const head = (text: string, lines: number): string => `${text.split('\n').slice(0, lines).join('\n')}\n`;

/** The first `count` elements closing with `endTag`, with the document's end tags. */
function firstElements(text: string, endTag: string, count: number, tail: string): string {
  let at = 0;
  for (let k = 0; k < count; k++) {
    const next = text.indexOf(endTag, at);
    if (next === -1) {
      return text;
    }
    at = next + endTag.length;
  }
  return `${text.slice(0, at)}\n${tail}`;
}

beforeAll(async () => {
  const seedsOf: Record<string, (sample: string) => Vendor['seeds']> = {
    'northwind-csv': (sample) =>
      readdirSync(sample).map((file) => ({
        name: file,
        table: file.includes('calls') ? 'calls' : file.includes('resources') ? 'resources' : 'patients',
        text: head(readFileSync(join(sample, file), 'utf8'), 6),
      })),
    'harbour-xml': (sample) => {
      const file = readdirSync(sample)[0]!;
      return [{ name: file, text: firstElements(readFileSync(join(sample, file), 'utf8'), '</hc:Incident>', 2, '  </hc:Incidents>\n</hc:CadExport>\n') }];
    },
    'beacon-ndjson': (sample) => {
      const file = readdirSync(sample)[0]!;
      return [{ name: file, text: head(readFileSync(join(sample, file), 'utf8'), 3) }];
    },
    'pathways-cqi': (sample) => {
      const file = readdirSync(sample).sort()[0]!;
      return [{ name: file, text: readFileSync(join(sample, file), 'utf8') }];
    },
  };
  for (const [vendor, seeds] of Object.entries(seedsOf)) {
    const dir = join(projectRoot, 'mappings', vendor);
    const mappingFile = join(dir, 'mapping.yaml');
    const { mapping, diagnostics } = await loadMapping(mappingFile);
    if (!mapping) {
      throw new Error(`${vendor}: ${JSON.stringify(diagnostics)}`);
    }
    const sample = readdirSync(join(dir, 'sample')).map((file) => ({ path: join(dir, 'sample', file) }));
    vendors.set(vendor, { mapping, mappingFile, mappingText: readFileSync(mappingFile, 'utf8'), seeds: seeds(join(dir, 'sample')), sample, present: await presentPaths(mapping, sample) });
  }
});

/** Every path at which some record of the inputs has a value, lists read through as FHIRPath reads them. */
async function presentPaths(mapping: Mapping, inputs: readonly InputFile[]): Promise<Set<string>> {
  const present = new Set<string>();
  const walk = (value: unknown, path: readonly string[]): void => {
    if (Array.isArray(value)) {
      value.forEach((item) => walk(item, path));
    } else if (value !== undefined && value !== null && value !== '') {
      present.add(path.join('\u0000'));
      if (typeof value === 'object') {
        for (const [name, member] of Object.entries(value)) {
          walk(member, [...path, name]);
        }
      }
    }
  };
  const run = await runMapping(mapping, inputs);
  for await (const result of run.results()) {
    walk(result.source.data, []);
  }
  return present;
}

/** A misspelling of a name: a letter dropped, doubled or in the other case, two swapped, or one added. */
function misspell(name: string, kind: 'drop' | 'double' | 'case' | 'swap' | 'add', at: number): string {
  const k = at % name.length;
  switch (kind) {
    case 'drop':
      return name.length > 1 ? name.slice(0, k) + name.slice(k + 1) : `${name}x`;
    case 'double':
      return name.slice(0, k + 1) + name.slice(k);
    case 'case': {
      const c = name[k]!;
      return name.slice(0, k) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + name.slice(k + 1);
    }
    case 'swap':
      return k + 1 < name.length ? name.slice(0, k) + name[k + 1]! + name[k]! + name.slice(k + 2) : `${name}s`;
    case 'add':
      return name.slice(0, k) + 'q' + name.slice(k);
  }
}

/** Every diagnostic has a known code, a severity and a message. */
function expectCoded(diagnostics: readonly Diagnostic<string>[]): void {
  for (const d of diagnostics) {
    if (!isDiagnosticCode(d.code) || typeof d.message !== 'string' || d.message === '') {
      expect.fail(`uncoded or empty diagnostic: ${JSON.stringify(d)}`);
    }
  }
}

/** Maps the inputs to the end and checks the outcome: results or coded diagnostics, nothing dropped silently. */
async function expectMappedOrDiagnosed(mapping: Mapping, inputs: InputFile[]): Promise<void> {
  const run = await runMapping(mapping, inputs);
  expectCoded(run.diagnostics);
  let results = 0;
  for await (const result of run.results()) {
    results++;
    expectCoded(result.diagnostics);
    const explained = result.ok || result.skipped === true || result.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal');
    if (!explained) {
      expect.fail(`record ${result.key} is neither mapped nor rejected with an error: ${JSON.stringify(result.diagnostics)}`);
    }
    if (result.source.data === undefined && result.diagnostics.length === 0) {
      expect.fail('an input piece was rejected without a diagnostic');
    }
  }
  if (results === 0 && !run.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal')) {
    // An input with no records at all is fine only when it is empty or blank.
    expect(inputs.length).toBeGreaterThan(0);
  }
}

function vendor(name: string): Vendor {
  const found = vendors.get(name);
  if (found === undefined) {
    throw new Error(`vendor ${name} not loaded`);
  }
  return found;
}

describe('fuzzing', () => {
  it.each(['northwind-csv', 'harbour-xml', 'beacon-ndjson', 'pathways-cqi'])('%s: inputs mutated from the sample', async (name) => {
    const { mapping, seeds } = vendor(name);
    const mutatedInput = fc.record({ which: fc.nat(), edits, splices: rawBytes, cut: fc.nat() });
    await fuzz(`mutated ${name}`, mutatedInput, async ({ which, edits: list, splices, cut }) => {
      const target = which % seeds.length;
      const inputs = seeds.map((s, index) => {
        const text = index === target ? applyEdits(s.text, list) : s.text;
        return streamInput(s.name, index === target ? encode(text, splices) : Buffer.from(text), cut, s.table);
      });
      await expectMappedOrDiagnosed(mapping, inputs);
    });
  }, testTimeoutMs);

  it('inputs generated from scratch in every format', async () => {
    const xmlName = fc.oneof(fc.constantFrom('CadExport', 'Incidents', 'Incident', 'Call', 'a', 'hc:Incident', '__proto__', 'constructor', 'toString'), fc.stringMatching(/^[A-Za-z_][\w.-]{0,6}$/));
    const xmlTree = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        editText.map((t) => t.replace(/[<&]/g, '')),
        fc.tuple(xmlName, fc.array(fc.tuple(xmlName, editText), { maxLength: 3 }), fc.array(tie('node'), { maxLength: 4 })).map(
          ([name, attributes, children]) => `<${name}${attributes.map(([a, v]) => ` ${a}="${v.replace(/["<&]/g, '')}"`).join('')}>${children.join('')}</${name}>`,
        ),
      ),
    })).node;
    const xmlDocument = fc.array(xmlTree, { maxLength: 4 }).map((incidents) => `<CadExport><Incidents>${incidents.map((i) => `<Incident id="1">${i}</Incident>`).join('')}</Incidents></CadExport>`);
    const jsonLine = fc.oneof(fc.json({ depthSize: 'small' }), fc.jsonValue().map((v) => JSON.stringify({ id: '1', nested: v })), editText);
    const csvCell = fc.oneof(editText, fc.string({ maxLength: 10 }));
    const csvText = fc.array(fc.array(csvCell, { minLength: 1, maxLength: 6 }), { maxLength: 6 }).map((rows) => rows.map((row) => row.join(',')).join('\n'));
    const generated = fc.oneof(
      fc.record({ vendor: fc.constant('harbour-xml'), text: fc.oneof(xmlDocument, fc.string(), fc.string({ unit: 'binary' })) }),
      fc.record({ vendor: fc.constant('beacon-ndjson'), text: fc.oneof(fc.array(jsonLine, { maxLength: 5 }).map((lines) => lines.join('\n')), fc.string({ unit: 'binary' })) }),
      fc.record({ vendor: fc.constant('northwind-csv'), text: fc.oneof(csvText, fc.string({ unit: 'binary' })) }),
    );
    await fuzz('generated', fc.record({ input: generated, bytes: fc.uint8Array({ maxLength: 64 }), raw: fc.boolean(), cut: fc.nat() }), async ({ input, bytes, raw, cut }) => {
      const { mapping, seeds } = vendor(input.vendor);
      const content = raw ? Buffer.from(bytes) : Buffer.from(input.text);
      const inputs = seeds.map((s, index) => (index === 0 ? streamInput(s.name, content, cut, s.table) : streamInput(s.name, Buffer.from(s.text), cut, s.table)));
      await expectMappedOrDiagnosed(mapping, inputs);
    });
    // A JSON (not NDJSON) reading of generated documents, with a record path that may or may not match.
    const jsonSource = { ...vendor('beacon-ndjson').mapping.source, format: 'json' as const, json: { record: '/calls' } };
    const jsonMapping: Mapping = { ...vendor('beacon-ndjson').mapping, source: jsonSource };
    await fuzz('generated json', fc.oneof(fc.json(), fc.jsonValue().map((v) => JSON.stringify({ calls: [v, { id: 'x' }] })), editText), async (text) => {
      await expectMappedOrDiagnosed(jsonMapping, [streamInput('calls.json', Buffer.from(text), 7)]);
    });
  }, testTimeoutMs);

  it('a field, column or XML path renamed in a vendor mapping is named by a diagnostic when the sample is mapped', async () => {
    const renamed = fc.record({
      which: fc.constantFrom('northwind-csv', 'harbour-xml', 'beacon-ndjson', 'pathways-cqi'),
      read: fc.nat(),
      kind: fc.constantFrom('drop' as const, 'double' as const, 'case' as const, 'swap' as const, 'add' as const),
      at: fc.nat(),
    });
    // a case loads a mapping and reads a whole sample: slower than the others, so at least 15 s even in CI
    await runFuzz('renamed field', renamed, async ({ which, read: pick, kind, at }) => {
      const { mapping, mappingFile, mappingText, sample, present } = vendor(which);
      const reads = readPathsOf(mapping).filter((read) => !read.expression.text.includes('\n'));
      const read = reads[pick % reads.length]!;
      const name = read.segments[read.segments.length - 1]!;
      const renamedName = misspell(name, kind, at);
      const renamedPath = [...read.segments.slice(0, -1), renamedName];
      fc.pre(renamedName !== name && !present.has(renamedPath.join('\u0000')) && /^[A-Za-z0-9_ ]+$/.test(renamedName));
      // the name where it stands in the expression as a member (not a function, a string or a longer name)
      const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const member = name.includes(' ') ? new RegExp(`\`${escaped}\``, 'g') : new RegExp(`(?<![\\w%'\`])${escaped}(?![\\w(])`, 'g');
      const expressionText = read.expression.text.replace(member, name.includes(' ') ? `\`${renamedName}\`` : renamedName);
      const lines = mappingText.split('\n');
      const line = lines[read.expression.span.line - 1] ?? '';
      const start = read.expression.span.column - 1;
      fc.pre(expressionText !== read.expression.text && line.slice(start, start + read.expression.text.length) === read.expression.text);
      lines[read.expression.span.line - 1] = line.slice(0, start) + expressionText + line.slice(start + read.expression.text.length);
      const text = lines.join('\n');
      const loaded = await loadMapping(mappingFile, { readText: (path) => (path === mappingFile ? Promise.resolve(text) : readFile(path, 'utf8')) });
      expectCoded(loaded.diagnostics);
      if (loaded.mapping === undefined) {
        expect(loaded.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal')).toBe(true);
        return;
      }
      fc.pre(readPathsOf(loaded.mapping).some((each) => each.segments.join('\u0000') === renamedPath.join('\u0000')));
      // what a map run reports before its first record and at its end (field-accounting.test.ts checks they are the same)
      const { diagnostics } = await accountFields(loaded.mapping, sample);
      expectCoded(diagnostics);
      if (!diagnostics.some((d) => d.message.includes(renamedName))) {
        expect.fail(`${which}: ${read.expression.text} → ${expressionText} maps with no diagnostic naming ${renamedName}: ${JSON.stringify(diagnostics.map((d) => d.message))}`);
      }
    }, { runs, budgetMs: Math.max(budgetMs, 15_000), caseTimeoutMs });
  }, testTimeoutMs + 30_000);

  it('mutated YAML mappings load with coded diagnostics, and what loads maps the sample', async () => {
    await fuzz('mapping', fc.record({ which: fc.constantFrom('northwind-csv', 'harbour-xml', 'beacon-ndjson', 'pathways-cqi'), edits }), async ({ which, edits: list }) => {
      const { mappingFile, mappingText, seeds } = vendor(which);
      const text = applyEdits(mappingText, list);
      const loaded = await loadMapping(mappingFile, { readText: (path) => (path === mappingFile ? Promise.resolve(text) : readFile(path, 'utf8')) });
      expectCoded(loaded.diagnostics);
      if (loaded.mapping === undefined) {
        expect(loaded.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal')).toBe(true);
        return;
      }
      await expectMappedOrDiagnosed(loaded.mapping, seeds.map((s) => streamInput(s.name, Buffer.from(s.text), 1 << 30, s.table)));
    });
  }, testTimeoutMs);
});
