import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderDiagnostics } from '../diagnostics/render.js';
import { loadMapping } from './load.js';

const top = mkdtempSync(join(tmpdir(), 'cadmap-confine-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

const secret = 'S3CRET-shared-key-do-not-print';
writeFileSync(join(top, 'mesh.key'), `${secret}\n`);
writeFileSync(join(top, 'secret.csv'), `${secret},x\n`);
writeFileSync(join(top, 'secret.yaml'), `constants:\n  k: ${secret}\n`);
writeFileSync(join(top, 'secret.json'), `{"resourceType":"ConceptMap","note":"${secret}"}`);

let counter = 0;
/** A mapping folder under `top` with the given files; returns the mapping file's path. */
function folder(mappingHead: string, files: Record<string, string> = {}, parent = top): string {
  const dir = join(parent, `m${++counter}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const file = join(dir, 'mapping.yaml');
  writeFileSync(file, `cadmap: 1\nid: confine\n${mappingHead}\nsource:\n  format: ndjson\n  key: id\nresources:\n  - { id: c, resourceType: Communication, key: =id, template: { status: completed } }\n`);
  return file;
}

/** Everything a person or a log would see of the load: the diagnostics as data and as rendered text with code frames. */
async function seen(file: string, root?: string) {
  const loaded = await loadMapping(file, root === undefined ? {} : { root });
  const text = renderDiagnostics(loaded.diagnostics, { lineOf: (path, line) => String(execFileSync('sed', ['-n', `${line}p`, path])).replace(/\n$/, '') });
  return { loaded, all: `${JSON.stringify(loaded.diagnostics)}\n${text}` };
}

describe('files a mapping names stay under the mapping root', () => {
  it.each([
    ['an absolute import', 'imports: [/etc/passwd.yaml]', 'is an absolute path'],
    ['an absolute lookup file', 'lookups:\n  l: { file: /proc/self/environ }', 'is an absolute path'],
    ['an import climbing with ../', 'imports: [../secret.yaml]', 'lies outside the mapping root'],
    ['a lookup file climbing with ../', 'lookups:\n  l: { file: ../secret.csv }', 'lies outside the mapping root'],
    ['a ConceptMap climbing with ../', 'lookups:\n  l: { conceptMap: ../secret.json }', 'lies outside the mapping root'],
    ['a key file named as a lookup', 'lookups:\n  l: { file: ../mesh.key }', 'does not end in .csv'],
  ])('refuses %s by name, without reading or quoting it', async (_, head, reason) => {
    const { loaded, all } = await seen(folder(head));
    expect(loaded.mapping).toBeUndefined();
    const refusal = loaded.diagnostics.find((d) => d.code === 'MAP_FILE_REFUSED');
    expect(refusal?.message).toContain(reason);
    expect(refusal?.rule?.line).toBeGreaterThan(2);
    expect(all).not.toContain(secret);
    expect(all).not.toMatch(/root:x:0:0|PATH=/);
  });

  it('refuses a source.fields JSON Schema or XSD outside the root, and never quotes one that does not parse', async () => {
    for (const [fields, reason] of [
      ['{ jsonSchema: ../secret.json }', 'lies outside the mapping root'],
      ['{ xsd: /etc/passwd.xsd }', 'is an absolute path'],
    ] as const) {
      const file = folder('');
      writeFileSync(file, `cadmap: 1\nid: confine\nsource:\n  format: ndjson\n  key: id\n  fields: ${fields}\nresources:\n  - { id: c, resourceType: Communication, key: =id, template: { status: completed } }\n`);
      const { loaded, all } = await seen(file);
      expect(loaded.diagnostics.find((d) => d.code === 'MAP_FILE_REFUSED')?.message).toContain(reason);
      expect(all).not.toContain(secret);
    }
    const file = folder('', { 'fields.json': `{"title": ${secret}` });
    writeFileSync(file, `cadmap: 1\nid: confine\nsource:\n  format: ndjson\n  key: id\n  fields: { jsonSchema: fields.json }\nresources:\n  - { id: c, resourceType: Communication, key: =id, template: { status: completed } }\n`);
    const { loaded, all } = await seen(file);
    expect(loaded.diagnostics.map((d) => d.code)).toContain('MAP_FIELDS_FILE');
    expect(all).not.toContain(secret);
  });

  it('refuses a symbolic link inside the folder that leads outside it', async () => {
    const file = folder('lookups:\n  l: { file: lookups/codes.csv }');
    mkdirSync(join(file, '..', 'lookups'));
    symlinkSync(join(top, 'secret.csv'), join(file, '..', 'lookups', 'codes.csv'));
    const { loaded, all } = await seen(file);
    expect(loaded.diagnostics.find((d) => d.code === 'MAP_FILE_REFUSED')?.message).toContain('is a link to a file outside the mapping root');
    expect(all).not.toContain(secret);
  });

  it('refuses a pipe without waiting on it', async () => {
    const file = folder('lookups:\n  l: { file: pipe.csv }');
    execFileSync('mkfifo', [join(file, '..', 'pipe.csv')]);
    const { loaded } = await seen(file);
    expect(loaded.diagnostics.find((d) => d.code === 'MAP_FILE_REFUSED')?.message).toContain('is not a regular file');
  });

  it('reports a lookup file that fails to load by name, never quoting its content', async () => {
    const file = folder('lookups:\n  a: { file: a.csv }\n  b: { conceptMap: b.json }\n  c: { file: c.csv }', {
      'a.csv': `${secret},other\n1,2\n`,
      'b.json': `{"resourceType": ${secret}}`,
      'c.csv': `source,code\n"${secret}\n`,
    });
    const { loaded, all } = await seen(file);
    expect(loaded.diagnostics.filter((d) => d.code === 'MAP_LOOKUP_FILE').map((d) => d.message)).toEqual([
      expect.stringMatching(/a\.csv has no source column in its first row\.$/),
      expect.stringMatching(/b\.json is not valid JSON/),
      expect.stringMatching(/c\.csv is not valid CSV/),
    ]);
    expect(all).not.toContain(secret);
  });

  it('widens the root to the nearest folder holding a .cadmap-root file, or to the root given', async () => {
    const shared = join(top, 'shared');
    mkdirSync(join(shared, 'common'), { recursive: true });
    writeFileSync(join(shared, 'common', 'ads.yaml'), 'constants:\n  system: https://example.org\n');
    const file = folder('imports: [../common/ads.yaml]', {}, shared);
    expect((await loadMapping(file)).diagnostics.map((d) => d.code)).toEqual(['MAP_FILE_REFUSED']);
    expect((await loadMapping(file, { root: shared })).diagnostics).toEqual([]);
    writeFileSync(join(shared, '.cadmap-root'), '');
    const loaded = await loadMapping(file);
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.mapping?.constants['system']).toBe('https://example.org');
    expect((await seen(folder('imports: [../../secret.yaml]', {}, shared))).all).not.toContain(secret);
  });
});
