import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** What a mapping may name as a file: imported YAML libraries, CSV lookups and ConceptMap JSON. */
export type MappingFileKind = 'import' | 'lookup' | 'conceptMap' | 'jsonSchema' | 'xsd';

const extensions: Readonly<Record<MappingFileKind, readonly string[]>> = {
  import: ['.yaml', '.yml'],
  lookup: ['.csv'],
  conceptMap: ['.json'],
  jsonSchema: ['.json'],
  xsd: ['.xsd'],
};

const kindNames: Readonly<Record<MappingFileKind, string>> = {
  import: 'mapping library',
  lookup: 'CSV lookup',
  conceptMap: 'ConceptMap',
  jsonSchema: 'JSON Schema',
  xsd: 'XSD',
};

/** The largest file a mapping may name, in bytes. */
export const maxMappingFileBytes = 64 * 1024 * 1024;

/** `missing`: the file cannot be opened (it may simply not exist); otherwise it is refused. */
export type ConfinedPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly missing?: true; readonly reason: string; readonly hint: string };

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * Resolves a file named by a mapping (`imports`, `lookups.file`, `lookups.conceptMap`, `source.fields`) against the folder of the
 * file naming it and checks it stays under `root`, both as written and once symbolic links are resolved. Only
 * regular files with the expected extension and at most {@link maxMappingFileBytes} pass; nothing is read here.
 * `root` must already be a real path.
 */
export async function confineMappingFile(root: string, baseDir: string, named: string, kind: MappingFileKind): Promise<ConfinedPath> {
  const rootHint = `Files a mapping names must lie in the mapping root (${root}) or below it; to share files across mappings, make their common parent folder the root: put an empty ${rootMarker} file in it, or pass cadmap --mapping-root <dir> (loadMapping's root option).`;
  if (isAbsolute(named)) {
    return { ok: false, reason: 'is an absolute path', hint: `Write the path relative to the mapping file. ${rootHint}` };
  }
  const wanted = extensions[kind];
  if (!wanted.some((extension) => named.toLowerCase().endsWith(extension))) {
    return { ok: false, reason: `does not end in ${wanted.join(' or ')}`, hint: `A ${kindNames[kind]} file must be named *${wanted[0]!}.` };
  }
  const path = resolve(baseDir, named);
  if (!inside(root, path)) {
    return { ok: false, reason: 'lies outside the mapping root', hint: rootHint };
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return { ok: false, missing: true, reason: `cannot be opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`, hint: 'Check the path; it is relative to the file that names it.' };
  }
  if (!inside(root, real)) {
    return { ok: false, reason: 'is a link to a file outside the mapping root', hint: rootHint };
  }
  const info = await stat(real).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    return { ok: false, reason: 'is not a regular file', hint: 'Name a file, not a folder, device or pipe.' };
  }
  if (info.size > maxMappingFileBytes) {
    return { ok: false, reason: `is larger than ${maxMappingFileBytes / 1024 / 1024} MiB`, hint: 'Split the file, or check that the right file is named.' };
  }
  return { ok: true, path: real };
}

/** The file whose presence makes a folder the mapping root of every mapping below it. */
export const rootMarker = '.cadmap-root';

/**
 * The mapping root of a mapping whose real folder is `mappingDir`: the nearest folder at or above it holding a
 * {@link rootMarker} file, else the mapping's own folder.
 */
export async function markedRoot(mappingDir: string): Promise<string> {
  for (let dir = mappingDir; ; dir = dirname(dir)) {
    if ((await stat(join(dir, rootMarker)).catch(() => undefined))?.isFile() === true) {
      return dir;
    }
    if (dirname(dir) === dir) {
      return mappingDir;
    }
  }
}

/** The real path of a mapping root folder, or undefined when it does not exist. */
export async function realRoot(root: string): Promise<string | undefined> {
  try {
    return await realpath(root);
  } catch {
    return undefined;
  }
}
