import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

/** One entry of `packages` in a lockfile of version 2 or 3, as far as the checks below read it. */
interface LockedPackage {
  name?: string;
  version?: string;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockedPackage>;
}

interface Manifest {
  name?: string;
  version?: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const declaredFields = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * Where a lockfile and the package.json files it was made from disagree, or where it leaves out a package that
 * some install would need (every platform's optional binaries included): one sentence per problem, empty when
 * `npm ci` on any platform would install exactly what the lockfile records.
 */
export function lockfileProblems(root: string): string[] {
  const lockPath = join(root, 'package-lock.json');
  if (!existsSync(lockPath)) {return ['package-lock.json is missing.'];}
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as Lockfile;
  if (lock.lockfileVersion === undefined || lock.lockfileVersion < 2 || lock.packages === undefined) {
    return [`package-lock.json has lockfileVersion ${String(lock.lockfileVersion)}; npm 7 or later writes 2 or 3, which this check reads.`];
  }
  const packages = lock.packages;
  const problems: string[] = [];

  const rootManifest = readManifest(join(root, 'package.json'));
  const manifests = new Map<string, Manifest>([['', rootManifest]]);
  for (const [location, entry] of Object.entries(packages)) {
    if (entry.link === true && entry.resolved !== undefined && !manifests.has(entry.resolved)) {
      const manifestPath = join(root, entry.resolved, 'package.json');
      if (existsSync(manifestPath)) {manifests.set(entry.resolved, readManifest(manifestPath));}
      else {problems.push(`${location} links to ${entry.resolved}, which has no package.json.`);}
    }
  }
  for (const [location, manifest] of manifests) {
    const label = location === '' ? 'package.json' : `${location}/package.json`;
    const locked = packages[location];
    if (locked === undefined) {
      problems.push(`${label} is not recorded in package-lock.json.`);
      continue;
    }
    if (location !== '' && locked.version !== manifest.version) {
      problems.push(`${label} has version ${String(manifest.version)} but package-lock.json records ${String(locked.version)}.`);
    }
    for (const field of declaredFields) {
      const declared = manifest[field] ?? {};
      const recorded = locked[field] ?? {};
      for (const name of new Set([...Object.keys(declared), ...Object.keys(recorded)])) {
        if (declared[name] !== recorded[name]) {
          problems.push(`${label} ${field} says ${name}@${declared[name] ?? '(absent)'} but package-lock.json records ${name}@${recorded[name] ?? '(absent)'}.`);
        }
      }
    }
  }

  for (const [location, entry] of Object.entries(packages)) {
    if (entry.link === true) {continue;}
    const wanted: [string, string, boolean][] = [];
    for (const [name, range] of Object.entries(entry.dependencies ?? {})) {wanted.push([name, range, false]);}
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {wanted.push([name, range, false]);}
    if (location === '' || manifests.has(location)) {
      for (const [name, range] of Object.entries(entry.devDependencies ?? {})) {wanted.push([name, range, false]);}
    }
    for (const [name, range] of Object.entries(entry.peerDependencies ?? {})) {
      wanted.push([name, range, entry.peerDependenciesMeta?.[name]?.optional === true]);
    }
    for (const [name, range, mayBeAbsent] of wanted) {
      const found = resolveFrom(packages, location, name);
      const where = location === '' ? 'the root package' : location;
      if (found === undefined) {
        if (!mayBeAbsent) {problems.push(`${where} needs ${name}@${range}, which package-lock.json does not record.`);}
        continue;
      }
      const version = found.version;
      const spec = range.startsWith('npm:') ? range.slice(range.lastIndexOf('@') + 1) : range;
      if (version !== undefined && semver.validRange(spec) !== null && !semver.satisfies(version, spec, { includePrerelease: true })) {
        problems.push(`${where} needs ${name}@${range} but package-lock.json records ${name}@${version} where it resolves.`);
      }
    }
  }
  return problems;
}

function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

/** Node's lookup: the nearest node_modules/<name> from `location` upwards; a workspace link gives its target. */
function resolveFrom(packages: Record<string, LockedPackage>, location: string, name: string): LockedPackage | undefined {
  let base = location;
  for (;;) {
    const candidate = packages[base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`];
    if (candidate !== undefined) {
      return candidate.link === true && candidate.resolved !== undefined ? packages[candidate.resolved] ?? candidate : candidate;
    }
    if (base === '') {return undefined;}
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}
