import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { dpsEnvironments, isDpsEnvironmentName, type DpsClientOptions, type DpsEndpoint, type RateLimit } from '@cadmap/adapter-dps';
import { parseSettingsText } from '../common.js';
import { UsageError } from '../io.js';

/** The `dps` section of a cadmap config file (YAML or JSON). Paths are relative to the config file. */
export interface DpsConfigFile {
  environment?: string;
  baseUrl?: string;
  /** `none` for open access (the NHS sandbox). */
  tokenUrl?: string;
  apiKey?: string;
  kid?: string;
  privateKeyFile?: string;
  caFile?: string;
  concurrency?: number;
  rateLimit?: RateLimit | false;
  timeoutMs?: number;
  maxAttempts?: number;
}

/** Resolved DPS settings: client options plus what is safe to show. */
export interface DpsSettings {
  readonly options: DpsClientOptions;
  readonly concurrency: number;
  /** Human-readable, secret-free description of where things come from. */
  readonly description: readonly string[];
}

export const defaultConfigNames = ['cadmap.config.yaml', 'cadmap.config.yml', 'cadmap.config.json'];

const fileKeys = new Set(['environment', 'baseUrl', 'tokenUrl', 'apiKey', 'kid', 'privateKeyFile', 'caFile', 'concurrency', 'rateLimit', 'timeoutMs', 'maxAttempts']);

/** Reads the `dps` section of a config file; `undefined` path means the default file in cwd, if any. */
export function readConfigFile(cwd: string, path: string | undefined): { file?: string; dps: DpsConfigFile } {
  const file = path !== undefined ? resolve(cwd, path) : defaultConfigNames.map((name) => resolve(cwd, name)).find((candidate) => existsSync(candidate));
  if (file === undefined) {
    return { dps: {} };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseSettingsText(text);
  } catch (error) {
    throw new UsageError(`The config file ${file} does not parse: ${(error as Error).message.split('\n')[0]}`);
  }
  const dps = (data as { dps?: unknown } | null)?.dps;
  if (dps === undefined) {
    return { file, dps: {} };
  }
  if (typeof dps !== 'object' || dps === null || Array.isArray(dps)) {
    throw new UsageError(`In ${file}, 'dps' must be a mapping of settings.`);
  }
  const unknown = Object.keys(dps).filter((key) => !fileKeys.has(key));
  if (unknown.length > 0) {
    const hint = unknown.some((key) => /private.?key$/i.test(key)) ? ' Keep the key in a file (privateKeyFile) or in CADMAP_DPS_PRIVATE_KEY, never in the config.' : '';
    throw new UsageError(`In ${file}, unknown dps setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${[...fileKeys].join(', ')}.${hint}`);
  }
  const base = dirname(file);
  const resolved = { ...(dps as DpsConfigFile) };
  if (resolved.privateKeyFile !== undefined) {
    resolved.privateKeyFile = resolve(base, resolved.privateKeyFile);
  }
  if (resolved.caFile !== undefined) {
    resolved.caFile = resolve(base, resolved.caFile);
  }
  return { file, dps: resolved };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
}

const positiveInteger = (value: unknown, name: string): number | undefined => {
  if (value === undefined) {
    return undefined;
  }
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
    throw new UsageError(`${name} must be a whole number of at least 1 (got ${JSON.stringify(value)}).`);
  }
  return number;
};

const mask = (secret: string): string => (secret.length <= 6 ? '***' : `${secret.slice(0, 3)}…${secret.slice(-2)}`);

/**
 * Merges the config file with the environment (the environment wins) into client options.
 * `requireCredentials: false` (dry runs) accepts a missing environment and key.
 */
export function resolveDpsSettings(env: Readonly<Record<string, string | undefined>>, fromFile: { file?: string; dps: DpsConfigFile }, requireCredentials = true): DpsSettings | undefined {
  const dps = fromFile.dps;
  const pick = (name: string, value: string | undefined): string | undefined => {
    const fromEnv = env[name];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : value;
  };
  const environment = pick('CADMAP_DPS_ENV', dps.environment);
  let endpoint: { baseUrl?: string; tokenUrl?: string | null } = {};
  if (environment !== undefined) {
    if (!isDpsEnvironmentName(environment)) {
      throw new UsageError(`Unknown DPS environment '${environment}'; use sandbox, integration or production, or set a baseUrl and tokenUrl.`);
    }
    endpoint = { ...dpsEnvironments[environment] };
  }
  const baseUrl = pick('CADMAP_DPS_BASE_URL', dps.baseUrl);
  const tokenUrl = pick('CADMAP_DPS_TOKEN_URL', dps.tokenUrl);
  if (baseUrl !== undefined) {
    endpoint.baseUrl = baseUrl;
    if (tokenUrl === undefined && environment === undefined) {
      throw new UsageError("A custom DPS base URL needs a token URL too (CADMAP_DPS_TOKEN_URL or dps.tokenUrl; 'none' for open access).");
    }
  }
  if (tokenUrl !== undefined) {
    endpoint.tokenUrl = tokenUrl === 'none' ? null : tokenUrl;
  }
  if (endpoint.baseUrl === undefined) {
    if (requireCredentials) {
      throw new UsageError('No DPS environment configured: set CADMAP_DPS_ENV (integration, production, sandbox) or CADMAP_DPS_BASE_URL, or pass --config <cadmap.config.yaml>.');
    }
    return undefined;
  }
  const resolvedEndpoint: DpsEndpoint = { baseUrl: endpoint.baseUrl, tokenUrl: endpoint.tokenUrl ?? null };

  const apiKey = pick('CADMAP_DPS_API_KEY', dps.apiKey);
  const kid = pick('CADMAP_DPS_KID', dps.kid);
  const inlineKey = env.CADMAP_DPS_PRIVATE_KEY;
  const keyFile = env.CADMAP_DPS_PRIVATE_KEY_FILE !== undefined && env.CADMAP_DPS_PRIVATE_KEY_FILE !== '' ? resolve(env.CADMAP_DPS_PRIVATE_KEY_FILE) : dps.privateKeyFile;
  let privateKey: string | undefined;
  let keySource = 'none';
  if (inlineKey !== undefined && inlineKey !== '') {
    privateKey = inlineKey.replace(/\\n/g, '\n');
    keySource = 'CADMAP_DPS_PRIVATE_KEY';
  } else if (keyFile !== undefined) {
    privateKey = readText(keyFile, 'private key file');
    keySource = keyFile;
  }
  const caFile = env.CADMAP_DPS_CA_FILE !== undefined && env.CADMAP_DPS_CA_FILE !== '' ? resolve(env.CADMAP_DPS_CA_FILE) : dps.caFile;
  const ca = caFile !== undefined ? readText(caFile, 'CA file') : undefined;

  const needsAuth = resolvedEndpoint.tokenUrl !== null;
  if (needsAuth && requireCredentials) {
    const missing = [apiKey === undefined && 'CADMAP_DPS_API_KEY (dps.apiKey)', kid === undefined && 'CADMAP_DPS_KID (dps.kid)', privateKey === undefined && 'CADMAP_DPS_PRIVATE_KEY_FILE or CADMAP_DPS_PRIVATE_KEY (dps.privateKeyFile)'].filter((m): m is string => m !== false);
    if (missing.length > 0) {
      throw new UsageError(`DPS credentials missing: ${missing.join(', ')}.`);
    }
  }
  const concurrency = positiveInteger(pick('CADMAP_DPS_CONCURRENCY', dps.concurrency === undefined ? undefined : String(dps.concurrency)), 'concurrency') ?? 4;
  const timeoutMs = positiveInteger(dps.timeoutMs, 'dps.timeoutMs');
  const maxAttempts = positiveInteger(dps.maxAttempts, 'dps.maxAttempts');
  const options: DpsClientOptions = {
    environment: resolvedEndpoint,
    ...(needsAuth && apiKey !== undefined && kid !== undefined && privateKey !== undefined ? { credentials: { apiKey, kid, privateKey } } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(dps.rateLimit !== undefined ? { rateLimit: dps.rateLimit } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  };
  const description = [
    `DPS: ${resolvedEndpoint.baseUrl}${environment !== undefined ? ` (${environment})` : ''}`,
    `token: ${resolvedEndpoint.tokenUrl ?? 'none (open access)'}`,
    ...(needsAuth ? [`API key ${apiKey !== undefined ? mask(apiKey) : 'unset'}, kid ${kid ?? 'unset'}, private key from ${keySource}`] : []),
    ...(caFile !== undefined ? [`trusting CA ${caFile}`] : []),
    ...(fromFile.file !== undefined ? [`config: ${fromFile.file}`] : []),
  ];
  return { options, concurrency, description };
}
