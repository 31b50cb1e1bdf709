import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mapAll } from '../run.js';
import { loadMapping } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'cadmap-hostile-mapping-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(name: string, content: string): string {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

const sentinel = '__cadmapExpressionRan';
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
afterEach(() => {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
  expect((globalThis as Record<string, unknown>)[sentinel]).toBeUndefined();
});

const input = file('calls.ndjson', '{"id":"1","nhs":"9434765919"}\n');

/** Loads a CQI-document mapping with the given constants block and template lines, and maps one NDJSON record. */
async function run(constants: string, template: Record<string, string>) {
  const lines = Object.entries(template).map(([name, value]) => `    ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  const path = file('mapping.yaml', `cadmap: 1\nid: hostile\ntarget: cqi-case\n${constants}\nsource:\n  format: ndjson\n  key: id\ndocument:\n  key: "=id"\n  template:\n${lines.join('\n')}\n`);
  const loaded = await loadMapping(path);
  if (loaded.mapping === undefined) {
    return { load: loaded.diagnostics, document: undefined, diagnostics: [] };
  }
  const { results } = await mapAll(loaded.mapping, [{ path: input }]);
  return { load: loaded.diagnostics, document: results[0]!.document as Record<string, unknown> | undefined, diagnostics: results[0]!.diagnostics.filter((d) => !d.code.startsWith('CQI_')) };
}

describe('YAML mapping keys and constants named __proto__, constructor, prototype', () => {
  it('keeps constants of those names as data', async () => {
    const constants = 'constants:\n  constructor: { prototype: { polluted: yes } }\n  prototype: p\n  obj: { a: 1 }';
    const { load, document } = await run(constants, { a: '=%constructor.prototype.polluted', b: '=%prototype', c: '=%obj.a' });
    expect(load).toEqual([]);
    expect(document).toEqual({ a: 'yes', b: 'p', c: 1 });
  });

  it('keeps a constant named __proto__ as data or refuses it with a code', async () => {
    const { load, document } = await run('constants:\n  __proto__: { polluted: yes }', { a: '=%__proto__.polluted' });
    if (load.length > 0) {
      expect(load.map((d) => d.code).every((code) => code.startsWith('MAP_'))).toBe(true);
    } else {
      expect(document).toEqual({ a: 'yes' });
    }
  });

  it('never lets an expression reach Object.prototype through a constant', async () => {
    const { load, document, diagnostics } = await run('constants:\n  obj: { a: 1 }', {
      a: '=%obj.__proto__',
      b: '=%obj.constructor',
      c: '=%obj.__proto__.polluted',
      d: '=%obj.toString',
      e: '=%obj.repeat(__proto__)',
      f: '=%obj.a',
      i: '=id',
      g: '=%record.__proto__',
      h: '=id.constructor',
    });
    expect(load).toEqual([]);
    expect({ document, diagnostics }).toEqual({ document: { f: 1, i: '1' }, diagnostics: [] });
  });

  it('writes template keys of those names as data in the output', async () => {
    const path = file('template-keys.yaml', 'cadmap: 1\nid: hostile\ntarget: cqi-case\nsource:\n  format: ndjson\n  key: id\ndocument:\n  key: "=id"\n  template:\n    __proto__: { polluted: "=id" }\n    constructor: "=id"\n    prototype: { fixed: yes }\n');
    const loaded = await loadMapping(path);
    expect(loaded.diagnostics).toEqual([]);
    const { results } = await mapAll(loaded.mapping!, [{ path: input }]);
    const document = results[0]!.document as Record<string, unknown>;
    expect(Object.keys(document).sort()).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(JSON.stringify(document)).toBe('{"__proto__":{"polluted":"1"},"constructor":"1","prototype":{"fixed":"yes"}}');
    expect(document['polluted']).toBeUndefined();
  });

  it('defines a template key __proto__ beside an absent sibling as data, the same with provenance on and off', async () => {
    const path = file(
      'proto-sibling.yaml',
      'cadmap: 1\nid: hostile\nsource:\n  format: ndjson\n  key: id\nresources:\n  - id: c\n    resourceType: Communication\n    key: =id\n    template:\n      status: completed\n      note:\n        - __proto__: { polluted: "=id" }\n          absent: "=missing"\n          text: "=id"\n',
    );
    const loaded = await loadMapping(path);
    expect(loaded.diagnostics).toEqual([]);
    const outputs = [];
    for (const provenance of [false, true]) {
      const { results } = await mapAll(loaded.mapping!, [{ path: input }], { provenance });
      const note = (results[0]!.bundle!.entry![0]!.resource as unknown as { note: Record<string, unknown>[] }).note[0]!;
      expect(Object.getPrototypeOf(note)).toBe(Object.prototype);
      expect(Object.keys(note).sort()).toEqual(['__proto__', 'text']);
      expect(note['polluted']).toBeUndefined();
      outputs.push(JSON.stringify(note));
    }
    expect(outputs[0]).toBe('{"__proto__":{"polluted":"1"},"text":"1"}');
    expect(outputs[1]).toBe(outputs[0]);
  });
});

describe('expressions cannot reach the file system, network or process', () => {
  it.each([
    `constructor.constructor('globalThis.${sentinel} = 1')()`,
    `constructor('globalThis.${sentinel} = 1')`,
    `%record.constructor.constructor('globalThis.${sentinel} = 1')`,
    `id.constructor('globalThis.${sentinel} = 1')`,
    `__defineGetter__('x', 'y')`,
    'valueOf()',
    `eval('globalThis.${sentinel} = 1')`,
    `require('node:fs')`,
    `%process`,
    `%globalThis`,
    `import('node:child_process')`,
  ])('%s is refused with a code when the mapping is loaded', async (expression) => {
    const { load } = await run('', { a: `=${expression}` });
    expect(load.length).toBeGreaterThan(0);
    expect(load.every((d) => ['MAP_EXPRESSION_SYNTAX', 'MAP_UNKNOWN_FUNCTION', 'MAP_UNKNOWN_VARIABLE'].includes(d.code))).toBe(true);
  });

  it.each(['%record.constructor', '__proto__', 'id.__proto__.constructor', '%record.select(constructor)', "%record.ofType(Object)"])(
    '%s yields nothing or a coded evaluation error',
    async (expression) => {
      const { load, document, diagnostics } = await run('', { a: `=${expression}`, b: '=id' });
      expect(load).toEqual([]);
      expect(document).toEqual({ b: '1' });
      expect(diagnostics.every((d) => d.code === 'MAP_EVAL_ERROR')).toBe(true);
    },
  );

  it('trace() writes nothing to the console (traced values may be personal data)', async () => {
    const log = vi.spyOn(console, 'log');
    try {
      const { document } = await run('', { a: "=nhs.trace('nhs')" });
      expect(document).toEqual({ a: '9434765919' });
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
    }
  });
});
