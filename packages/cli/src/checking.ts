import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createChecker, type Checker } from '@cadmap/conformance';
import { UsageError, type CliIo } from './io.js';

/** Command-line options shared by `cadmap check` and `cadmap map --check`. */
export const checkerOptions = {
  package: { type: 'string', multiple: true },
  profile: { type: 'string', multiple: true },
  alias: { type: 'string', multiple: true },
  'allow-unresolved': { type: 'boolean' },
  'allow-unresolved-url': { type: 'string', multiple: true },
  'unknown-extensions': { type: 'string' },
  'extension-domain': { type: 'string', multiple: true },
} as const;

export const checkerHelp = `  --package <p>         a FHIR package to check against (repeatable): a package folder, a flat folder of
                        resources, a .tgz, or name#version from ~/.fhir/packages. Default: ./profiles plus
                        the packages in CADMAP_PACKAGES (separated by ':')
  --profile <url>       also check every top-level resource against this profile (repeatable)
  --alias <from>=<to>   treat canonical URL <from> as <to> (for ADS URLs still unconfirmed; repeatable)
  --allow-unresolved    report packages that fail to load, profiles that cannot be resolved and snapshots
                        that cannot be generated as warnings; without it they are errors (the check fails closed)
  --allow-unresolved-url <url>
                        the same for one profile canonical or package (repeatable)
  --unknown-extensions <s>
                        severity of extensions no package defines: error (default, as the HL7 validator),
                        warning or information
  --extension-domain <prefix>
                        accept extensions whose URL starts with <prefix> without a definition (repeatable)`;

export interface CheckerFlags {
  readonly package?: readonly string[] | undefined;
  readonly profile?: readonly string[] | undefined;
  readonly alias?: readonly string[] | undefined;
  readonly 'allow-unresolved'?: boolean | undefined;
  readonly 'allow-unresolved-url'?: readonly string[] | undefined;
  readonly 'unknown-extensions'?: string | undefined;
  readonly 'extension-domain'?: readonly string[] | undefined;
}

/** Builds the checker from flags and environment; the R4 core cache lives in the user's cache folder. */
export function checkerFromFlags(io: CliIo, flags: CheckerFlags): { checker: Checker; packages: string[]; profiles: string[] } {
  const packages = [...(flags.package ?? [])].map((p) => (p.includes('#') ? p : resolve(io.cwd, p)));
  if (packages.length === 0) {
    const local = resolve(io.cwd, 'profiles');
    if (existsSync(local)) {
      packages.push(local);
    }
    for (const entry of (io.env.CADMAP_PACKAGES ?? '').split(':').filter((x) => x !== '')) {
      packages.push(entry.includes('#') ? entry : resolve(io.cwd, entry));
    }
  }
  const canonicalAliases: Record<string, string> = {};
  for (const alias of flags.alias ?? []) {
    const at = alias.indexOf('=');
    if (at <= 0) {
      throw new UsageError(`--alias takes <from>=<to>, got '${alias}'.`);
    }
    canonicalAliases[alias.slice(0, at)] = alias.slice(at + 1);
  }
  const unknownExtensions = flags['unknown-extensions'];
  if (unknownExtensions !== undefined && unknownExtensions !== 'error' && unknownExtensions !== 'warning' && unknownExtensions !== 'information') {
    throw new UsageError(`--unknown-extensions is error, warning or information, not '${unknownExtensions}'.`);
  }
  const allowList = (flags['allow-unresolved-url'] ?? []).map((u) => (/^[a-z][a-z0-9+.-]*:/i.test(u) || u.includes('#') ? u : resolve(io.cwd, u)));
  const cacheRoot = io.env.XDG_CACHE_HOME ?? join(io.env.HOME ?? homedir(), '.cache');
  const checker = createChecker({
    packages,
    canonicalAliases,
    ...(flags['allow-unresolved'] === true ? { allowUnresolved: true } : allowList.length > 0 ? { allowUnresolved: allowList } : {}),
    ...(unknownExtensions !== undefined ? { unknownExtensions } : {}),
    ...(flags['extension-domain'] ? { extensionDomains: flags['extension-domain'] } : {}),
    coreCacheDir: join(cacheRoot, 'cadmap', 'conformance-r4'),
    ...(io.env.FHIR_PACKAGE_CACHE !== undefined ? { fhirCacheDir: io.env.FHIR_PACKAGE_CACHE } : {}),
  });
  return { checker, packages, profiles: [...(flags.profile ?? [])] };
}

