import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadMapping, type Mapping } from '../mapping/load.js';
import { mapAll } from '../run.js';
import type { InputFile } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'cadmap-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

const secret = 'TOP-SECRET-7d1f0a';
const secretFile = file('secret.txt', secret);
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

afterEach(() => {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
});

/** A small CQI-document mapping reading `id` and a few hostile names from each record. */
async function mapping(source: string): Promise<Mapping> {
  const path = file(
    'mapping.yaml',
    `cadmap: 1
id: hostile
target: cqi-case
source:
${source}
document:
  key: "=id"
  template:
    id: "=id"
    proto: "=__proto__"
    ctor: "=constructor"
    prototype: "=prototype"
    protoPolluted: "=__proto__.polluted"
    ctorPolluted: "=constructor.prototype.polluted"
`,
  );
  const loaded = await loadMapping(path);
  expect(loaded.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal')).toEqual([]);
  return loaded.mapping!;
}

/** A mapping whose document is `template` (expressions by output name). */
async function mappingOf(source: string, template: Record<string, string>): Promise<Mapping> {
  const lines = Object.entries(template).map(([name, expression]) => `    ${name}: ${JSON.stringify(expression)}`);
  const path = file('mapping.yaml', `cadmap: 1\nid: hostile\ntarget: cqi-case\nsource:\n${source}\ndocument:\n  key: "=id"\n  template:\n${lines.join('\n')}\n`);
  const loaded = await loadMapping(path);
  expect(loaded.diagnostics).toEqual([]);
  return loaded.mapping!;
}

async function run(source: string, inputs: InputFile[]) {
  const { diagnostics, results } = await mapAll(await mapping(source), inputs);
  const output = JSON.stringify(results.map((r) => ({ key: r.key, document: r.document, diagnostics: r.diagnostics, raw: r.source.raw })));
  return { diagnostics, results, output, codes: results.map((r) => r.diagnostics.map((d) => d.code).filter((code) => !code.startsWith('CQI_'))) };
}

const xmlSource = '  format: xml\n  key: id\n  xml: { record: /Export/Incident }';
/** The columns a CSV export needs for the hostile names the mapping reads (a column the mapping reads must exist). */
const hostileColumns = '__proto__,constructor,prototype';

describe('XML external entities and entity expansion', () => {
  it('refuses a DOCTYPE declaring an external (file://) entity, without reading the file', async () => {
    const input = file('xxe.xml', `<?xml version="1.0"?>\n<!DOCTYPE Export [<!ENTITY xxe SYSTEM "file://${secretFile}">]>\n<Export><Incident id="1">&xxe;</Incident></Export>`);
    const { results, output, codes } = await run(xmlSource, [{ path: input }]);
    expect(codes).toEqual([['SRC_XML_SYNTAX']]);
    expect(results[0]!.ok).toBe(false);
    expect(results[0]!.diagnostics[0]!.input).toMatchObject({ line: 2 });
    expect(output).not.toContain(secret);
  });

  it('refuses a parameter entity pulling an external DTD', async () => {
    const input = file('xxe-param.xml', `<!DOCTYPE Export [<!ENTITY % remote SYSTEM "file://${secretFile}"> %remote;]>\n<Export><Incident id="1"/></Export>`);
    const { output, codes } = await run(xmlSource, [{ path: input }]);
    expect(codes).toEqual([['SRC_XML_SYNTAX']]);
    expect(output).not.toContain(secret);
  });

  it('never fetches an external DTD and leaves undeclared entity references as text', async () => {
    const input = file('dtd.xml', `<!DOCTYPE Export SYSTEM "file://${secretFile}">\n<Export><Incident id="1"><note>&xxe;</note></Incident></Export>`);
    const { results, output } = await run(xmlSource, [{ path: input }]);
    expect(results).toHaveLength(1);
    expect(results[0]!.key).toBe('1');
    expect(output).not.toContain(secret);
  });

  it('refuses "billion laughs" entity expansion quickly, whatever the nesting', async () => {
    const levels = Array.from({ length: 10 }, (_, k) => `<!ENTITY lol${k + 1} "${`&lol${k};`.repeat(10)}">`).join('\n');
    const input = file('lol.xml', `<?xml version="1.0"?>\n<!DOCTYPE Export [\n<!ENTITY lol0 "lol">\n${levels}\n]>\n<Export><Incident id="1">&lol10;</Incident></Export>`);
    const { results, codes } = await run(xmlSource, [{ path: input }]);
    expect(codes).toEqual([['SRC_XML_SYNTAX']]);
    expect(JSON.stringify(results).length).toBeLessThan(10_000);
  });

  it('refuses a DOCTYPE hidden inside a record', async () => {
    const input = file('inner.xml', `<Export><Incident id="1"><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://${secretFile}">]>&xxe;</Incident></Export>`);
    const { output, codes } = await run(xmlSource, [{ path: input }]);
    expect(codes.flat()).toContain('SRC_XML_SYNTAX');
    expect(output).not.toContain(secret);
  });
});

describe('DOCTYPE internal subsets and characters XML does not allow', () => {
  it.each([
    ['a comment hiding the end of the subset', `<!DOCTYPE x [<!-- ] --> <!ENTITY e "boom">]>`],
    ['lower case', `<!doctype Export [<!ENTITY e "boom">]>`],
    ['mixed case and a quoted system id', `<!DocType Export SYSTEM "a>b" [<!ENTITY e "boom">]>`],
    ['an empty subset', `<!DOCTYPE Export []>`],
  ])('refuses a DOCTYPE with an internal subset written with %s', async (_, doctype) => {
    const input = file('subset.xml', `<?xml version="1.0"?>\n${doctype}\n<Export><Incident id="1">&e;</Incident></Export>`);
    const { results, codes } = await run(xmlSource, [{ path: input }]);
    expect(codes).toEqual([['SRC_XML_SYNTAX']]);
    expect(results[0]!.diagnostics[0]!.input).toMatchObject({ line: 2, column: 1 });
    expect(results[0]!.document).toBeUndefined();
  });

  it.each([
    ['&#0;', '&#0;'],
    ['&#xD800;', '&#xD800;'],
    ['&#x110000;', '&#x110000;'],
    ['&#1114112;', '&#1114112;'],
    ['a raw NUL', '\u0000'],
    ['a raw ESC', '\u001b[2J'],
  ])('sets aside a record holding %s with a coded, located diagnostic and reads the next', async (_, text) => {
    const input = file('chars.xml', `<Export>\n<Incident id="1">\n  <note>a${text}b</note></Incident>\n<Incident id="2"><note>ok &#x1F691;</note></Incident></Export>`);
    const { results, codes } = await run(xmlSource, [{ path: input }]);
    expect(codes).toEqual([['SRC_XML_CHARACTER'], []]);
    expect(results[0]!.diagnostics[0]!.input).toMatchObject({ line: 3, column: 10 });
    expect(results[1]!.key).toBe('2');
  });
});

describe('runaway rows and tags are cut at maxRecordBytes and reading resumes at the next record', () => {
  const big = 'z'.repeat(200_000);
  const limited = (source: string): string => `${source}\n  limits: { maxRecordBytes: 10000 }`;

  it('sets a CSV row with a runaway field aside once, keeps 10,000 characters of it, and counts lines exactly', async () => {
    // the columns the hostile mapping reads are there: a run stops on an unknown column
    const input = file('runaway.csv', `id,__proto__,constructor,prototype\n1,ok,,\n2,${big}\n3,fine,,\r4,"${big}\n5,after,,\n6,end,,\n`);
    const { results } = await run(limited('  format: csv\n  tables:\n    calls: { files: "*.csv", key: id }'), [{ path: input }]);
    expect(results.map((r) => [r.key, r.diagnostics.filter((d) => !d.code.startsWith('CQI_')).map((d) => [d.code, d.input?.line])])).toEqual([
      ['1', []],
      ['', [['SRC_LIMIT', 3]]],
      ['3', []],
      ['', [['SRC_LIMIT', 5]]],
      ['5', []],
      ['6', []],
    ]);
    expect(results.map((r) => JSON.stringify(r.source.raw).length).every((length) => length < 10_100)).toBe(true);
    expect(results.map((r) => r.source.origin.line)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it.each([
    ['an unclosed attribute', `<Incident id="2" note="${big}\n<Incident id="3"/>`, 'SRC_XML_SYNTAX', ['1']],
    ['a closed but runaway attribute', `<Incident id="2" note="${big}"/>\n<Incident id="3"/>`, 'SRC_LIMIT', ['1', '3']],
    ['an unclosed comment', `<!-- ${big}\n<Incident id="3"/>`, 'SRC_XML_SYNTAX', ['1']],
    ['a runaway comment inside a record', `<Incident id="2"><!-- ${big} --></Incident>\n<Incident id="3"/>`, 'SRC_LIMIT', ['1', '3']],
  ])('sets aside %s with a located diagnostic and at most 64 KiB of it', async (_, middle, code, keys) => {
    const input = file('runaway.xml', `<Export>\n<Incident id="1"/>\n${middle}</Export>\n`);
    const { results } = await run(limited(xmlSource), [{ path: input }]);
    const setAside = results.filter((r) => r.key === '');
    expect(setAside).toHaveLength(1);
    expect(setAside[0]!.diagnostics).toMatchObject([{ code, input: { line: 3, column: 1 } }]);
    expect(JSON.stringify(setAside[0]!.source.raw).length).toBeLessThan(64 * 1024 + 100);
    expect(results.filter((r) => r.key !== '').map((r) => r.key)).toEqual(keys);
  });

  it('sets aside an unclosed DOCTYPE with at most 64 KiB of it', async () => {
    const input = file('doctype.xml', `<?xml version="1.0"?>\n<!DOCTYPE Export SYSTEM "${big}\n<Export><Incident id="1"/></Export>\n`);
    const { results } = await run(limited(xmlSource), [{ path: input }]);
    expect(results[0]!.diagnostics).toMatchObject([{ code: 'SRC_XML_SYNTAX', input: { line: 2, column: 1 } }]);
    expect(JSON.stringify(results[0]!.source.raw).length).toBeLessThan(64 * 1024 + 100);
  });
});

describe('__proto__, constructor and prototype in input never reach a prototype', () => {
  it('maps them as data from vendor JSON and NDJSON keys', async () => {
    const line = '{"id":"1","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":"p"}';
    const ndjson = await run('  format: ndjson\n  key: id', [{ path: file('a.ndjson', `${line}\n`) }]);
    const json = await run("  format: json\n  key: id\n  json: { record: '' }", [{ path: file('a.json', `[${line}]`) }]);
    for (const { results } of [ndjson, json]) {
      expect(results).toHaveLength(1);
      expect(results[0]!.document).toMatchObject({ id: '1', proto: { polluted: 'yes' }, ctor: { prototype: { polluted: 'yes' } }, prototype: 'p', protoPolluted: 'yes', ctorPolluted: 'yes' });
    }
  });

  it('maps them as data from CSV headers', async () => {
    const input = file('calls.csv', 'id,__proto__,constructor,prototype\n1,a,b,c\n');
    const { results } = await run('  format: csv\n  tables:\n    calls: { files: "*.csv", key: id }', [{ path: input }]);
    expect(results[0]!.document).toMatchObject({ id: '1', proto: 'a', ctor: 'b', prototype: 'c' });
  });

  it('maps XML elements of those names as data and reports a __proto__ attribute with a code', async () => {
    const elements = file('elements.xml', '<Export><Incident id="1"><toString>t</toString><valueOf>v</valueOf><hasOwnProperty>h</hasOwnProperty></Incident></Export>');
    const names = await mapAll(await mappingOf('  format: xml\n  key: id\n  xml: { record: /Export/Incident }', { a: '=toString', b: '=valueOf', c: '=hasOwnProperty' }), [{ path: elements }]);
    expect(names.results[0]!.document).toEqual({ a: 't', b: 'v', c: 'h' });
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const element = file('proto-element.xml', `<Export><Incident id="1"><${name}><polluted>yes</polluted></${name}></Incident><Incident id="2"/></Export>`);
      const refused = await run(xmlSource, [{ path: element }]);
      expect(refused.codes[0], name).toEqual(['SRC_XML_SYNTAX']);
      expect(refused.results[0]!.source.raw, name).toContain(`<${name}>`);
      expect(refused.results[1]!.key, name).toBe('2');
    }
    const attribute = file('attribute.xml', '<Export><Incident id="1" __proto__="x" constructor="y"/><Incident id="2"/></Export>');
    const { results, codes } = await run(xmlSource, [{ path: attribute }]);
    expect(codes[0]).toEqual(['SRC_XML_SYNTAX']);
    expect(results[0]!.source.raw).toContain('__proto__="x"');
    expect(results[1]!.key).toBe('2');
  });
});

describe('size limits', () => {
  const ndjson = (limits: string) => `  format: ndjson\n  key: id\n  limits: { ${limits} }`;

  it('sets a record with an oversized field aside with SRC_LIMIT naming the limit, and carries on', async () => {
    const input = file('field.ndjson', `{"id":"1","note":"${'x'.repeat(200)}"}\n{"id":"2","note":"short"}\n`);
    const { results } = await run(ndjson('maxFieldBytes: 100'), [{ path: input }]);
    expect(results.map((r) => r.key)).toEqual(['1', '2']);
    expect(results[0]!.ok).toBe(false);
    expect(results[0]!.document).toBeUndefined();
    const problem = results[0]!.diagnostics.find((d) => d.code === 'SRC_LIMIT')!;
    expect(problem.message).toContain('source.limits.maxFieldBytes');
    expect(problem.message).toContain('200 bytes');
    expect(problem.hint).toContain('maxFieldBytes');
    expect(problem.input).toMatchObject({ line: 1, pointer: '/note', field: 'note' });
    expect(results[0]!.source.raw).toContain('xxxx');
    expect(results[1]!.diagnostics.filter((d) => d.code === 'SRC_LIMIT')).toEqual([]);
  });

  it('measures fields in UTF-8 bytes, not characters', async () => {
    const input = file('utf8.ndjson', `{"id":"1","note":"${'é'.repeat(60)}"}\n`);
    const { results } = await run(ndjson('maxFieldBytes: 100'), [{ path: input }]);
    expect(results[0]!.diagnostics.map((d) => d.code)).toContain('SRC_LIMIT');
  });

  it('limits record size, nesting depth and field size in every format', async () => {
    const deepJson = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const cases: [string, string, string, string][] = [
      ['ndjson record', ndjson('maxRecordBytes: 50'), 'r.ndjson', `{"id":"1","note":"${'y'.repeat(60)}"}\n{"id":"2"}\n`],
      ['ndjson depth', ndjson('maxDepth: 3'), 'd.ndjson', `{"id":"1","a":{"b":{"c":{}}}}\n{"id":"2","a":{"b":1}}\n`],
      ['ndjson deep beyond the stack', ndjson('maxDepth: 64'), 'dd.ndjson', `{"id":"1","a":${deepJson}}\n{"id":"2"}\n`],
      ['json depth', "  format: json\n  key: id\n  json: { record: '' }\n  limits: { maxDepth: 3 }", 'd.json', '[{"id":"1","a":[[[1]]]},{"id":"2"}]'],
      ['xml record', `${xmlSource}\n  limits: { maxRecordBytes: 40 }`, 'r.xml', `<Export><Incident id="1">${'z'.repeat(60)}</Incident><Incident id="2"/></Export>`],
      ['xml depth', `${xmlSource}\n  limits: { maxDepth: 3 }`, 'd.xml', '<Export><Incident id="1"><a><b><c/></b></a></Incident><Incident id="2"><a/></Incident></Export>'],
      ['xml deep beyond the parser', xmlSource, 'dd.xml', `<Export><Incident id="1">${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}</Incident><Incident id="2"/></Export>`],
      ['xml attribute', `${xmlSource}\n  limits: { maxFieldBytes: 10 }`, 'f.xml', `<Export><Incident id="1" note="${'n'.repeat(20)}"/><Incident id="2"/></Export>`],
      ['csv field', '  format: csv\n  tables:\n    calls: { files: "*.csv", key: id }\n  limits: { maxFieldBytes: 10 }', 'f.csv', `id,note,${hostileColumns}\n1,${'c'.repeat(20)},,,\n2,ok,,,\n`],
      ['csv record', '  format: csv\n  tables:\n    calls: { files: "*.csv", key: id }\n  limits: { maxRecordBytes: 20 }', 'r.csv', `id,note,${hostileColumns}\n1,${'c'.repeat(30)},,,\n2,ok,,,\n`],
    ];
    for (const [name, source, fileName, content] of cases) {
      const { results } = await run(source, [{ path: file(fileName, content) }]);
      const limit = results.flatMap((r) => r.diagnostics).find((d) => d.code === 'SRC_LIMIT');
      expect(limit?.message, name).toMatch(/source\.limits\.max(FieldBytes|RecordBytes|Depth)/);
      expect(results[0]!.ok, name).toBe(false);
      expect(results[0]!.source.raw, name).not.toEqual('');
      expect(results.at(-1)!.key, name).toBe('2');
      expect(results.at(-1)!.diagnostics.filter((d) => d.code === 'SRC_LIMIT'), name).toEqual([]);
    }
  });

  it('limits the nesting of joined CSV tables and the UTF-8 size of CSV fields', async () => {
    const joined = '  format: csv\n  tables:\n    calls: { files: "*_calls.csv", key: id }\n    patients: { files: "*_patients.csv", parent: calls, on: { id: id } }';
    const inputs = [{ path: file('x_calls.csv', `id,note,${hostileColumns}\n1,a,,,\n`) }, { path: file('x_patients.csv', 'id,name\n1,b\n') }];
    const shallow = await run(`${joined}\n  limits: { maxDepth: 2 }`, inputs);
    expect(shallow.codes).toEqual([['SRC_LIMIT']]);
    expect(shallow.results[0]!.diagnostics[0]!.message).toContain('source.limits.maxDepth');
    const enough = await run(`${joined}\n  limits: { maxDepth: 3 }`, inputs);
    expect(enough.codes).toEqual([[]]);
    const wide = await run('  format: csv\n  tables:\n    calls: { files: "*.csv", key: id }\n  limits: { maxFieldBytes: 100 }', [{ path: file('w.csv', `id,note,${hostileColumns}\n1,${'é'.repeat(60)},,,\n2,${'é'.repeat(40)},,,\n`) }]);
    expect(wide.codes).toEqual([['SRC_LIMIT'], []]);
  });

  it('streams a JSON document in bounded memory: an oversized record, deep nesting or a runaway member name is cut as it is read', async () => {
    const json = (limits: string) => `  format: json\n  key: id\n  json: { record: /calls }\n  limits: { ${limits} }`;
    const huge = `{"id":"1","note":"${'h'.repeat(3_000_000)}"}`;
    const document = `{"calls":[${huge},{"id":"2"}]}`;
    const chunks = Array.from({ length: Math.ceil(document.length / 65_536) }, (_, k) => Buffer.from(document.slice(k * 65_536, (k + 1) * 65_536)));
    const big = await run(json('maxRecordBytes: 100000'), [{ name: 'big.json', stream: Readable.from(chunks) }]);
    expect(big.results.map((r) => r.key)).toEqual(['', '2']);
    expect(big.codes[0]).toEqual(['SRC_LIMIT']);
    expect(big.results[0]!.diagnostics[0]!.input).toMatchObject({ line: 1, column: 11, pointer: '/calls/0' });
    expect((big.results[0]!.source.raw as string).length).toBeLessThanOrEqual(64 * 1024);
    expect(big.codes[1]).toEqual([]);

    const deep = `{"calls":[{"id":"1","a":${'['.repeat(200_000)}${']'.repeat(200_000)}},{"id":"2","b":[[1]]}]}`;
    const nested = await run(json('maxDepth: 8'), [{ path: file('deep.json', deep) }]);
    expect(nested.results.map((r) => r.key)).toEqual(['', '2']);
    expect(nested.results[0]!.diagnostics[0]!.message).toContain('source.limits.maxDepth');
    expect(nested.codes[1]).toEqual([]);

    const name = `{"${'k'.repeat(300_000)}":1,"calls":[{"id":"1"}]}`;
    const runaway = await run(json('maxRecordBytes: 100000'), [{ name: 'name.json', stream: Readable.from([Buffer.from(name.slice(0, 150_000)), Buffer.from(name.slice(150_000))]) }]);
    expect(runaway.results).toHaveLength(1);
    expect(runaway.results[0]!.diagnostics[0]!.message).toMatch(/member name at line 1, column 2 .*source\.limits\.maxRecordBytes.*rest of the file is not read/);
  });

  it('refuses a file over maxFileBytes without reading it, and a stream once it passes the limit', async () => {
    const content = `${Array.from({ length: 50 }, (_, k) => `{"id":"${k}"}`).join('\n')}\n`;
    const { results } = await run(ndjson('maxFileBytes: 100'), [{ path: file('big.ndjson', content) }]);
    expect(results).toHaveLength(1);
    expect(results[0]!.diagnostics.map((d) => d.code)).toEqual(['SRC_LIMIT']);
    expect(results[0]!.diagnostics[0]!.message).toContain('source.limits.maxFileBytes');
    const streamed = await run(ndjson('maxFileBytes: 100'), [{ name: 'stdin', stream: Readable.from([Buffer.from(content.slice(0, 60)), Buffer.from(content.slice(60))]) }]);
    expect(streamed.results.at(-1)!.diagnostics.map((d) => d.code)).toEqual(['SRC_LIMIT']);
    const small = await run(ndjson('maxFileBytes: 100000'), [{ path: file('small.ndjson', content) }]);
    expect(small.results).toHaveLength(50);
  });

  it('drops an NDJSON line over maxRecordBytes as it streams (bounded memory) and reads the next line', async () => {
    const long = `{"id":"1","note":"${'w'.repeat(300_000)}"}`;
    const chunks = [long.slice(0, 100_000), long.slice(100_000, 250_000), `${long.slice(250_000)}\n{"id":"2"}\n`].map((part) => Buffer.from(part));
    const { results } = await run(ndjson('maxRecordBytes: 1000'), [{ name: 'stream.ndjson', stream: Readable.from(chunks) }]);
    expect(results.map((r) => r.key)).toEqual(['', '2']);
    expect(results[0]!.diagnostics.map((d) => d.code)).toEqual(['SRC_LIMIT']);
    expect(results[0]!.diagnostics[0]!.input).toMatchObject({ line: 1, row: 1 });
    expect((results[0]!.source.raw as string).length).toBeLessThanOrEqual(64 * 1024);
    expect(results[1]!.source.origin).toMatchObject({ line: 2 });
  });

  it('drops an XML record over maxRecordBytes as it streams (bounded memory) and reads the next record', async () => {
    const body = '<x>y</x>'.repeat(40_000);
    const documentText = `<Export>\n<Incident id="1">${body}</Incident>\n<Incident id="2"/>\n</Export>`;
    const chunks = Array.from({ length: 8 }, (_, k) => Buffer.from(documentText.slice((k * documentText.length) / 8, ((k + 1) * documentText.length) / 8)));
    const { results } = await run(`${xmlSource}\n  limits: { maxRecordBytes: 1000 }`, [{ name: 'stream.xml', stream: Readable.from(chunks) }]);
    expect(results.map((r) => r.key)).toEqual(['', '2']);
    expect(results[0]!.diagnostics.map((d) => d.code)).toEqual(['SRC_LIMIT']);
    expect(results[0]!.diagnostics[0]!.input).toMatchObject({ line: 2, xpath: '/Export/Incident[1]' });
    expect((results[0]!.source.raw as string).length).toBeLessThanOrEqual(64 * 1024);
    expect(results[1]!.source.origin).toMatchObject({ line: 3 });
  });

  it('rejects limits that are not positive integers in the mapping', async () => {
    const path = file('bad-limits.yaml', 'cadmap: 1\nid: bad\ntarget: cqi-case\nsource:\n  format: ndjson\n  limits: { maxDepth: 0, maxFieldBytes: big }\ndocument:\n  template: { a: "=id" }\n');
    const loaded = await loadMapping(path);
    expect(loaded.diagnostics.map((d) => d.code)).toContain('MAP_SCHEMA');
  });
});
