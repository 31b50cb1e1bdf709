import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writePrivateFile } from '../output.js';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as stringifyYaml } from 'yaml';
import { CqiClient, CqiSender, SqliteCqiQueue, cqiEncoder, decodePathwaysXml, type CqiCaseOutcome, type CqiEnvironment } from '@cadmap/adapter-cqi';
import { inputName, loadMapping, validateCqiCase, type Diagnostic, type InputSpan } from '@cadmap/core';
import { startCqiSandbox, type CqiAvailability } from '@cadmap/sandbox';
import { cqiEventLogger } from '../adapter-log.js';
import { makeRenderer, mappingLoadOptions, parseInputs, parseSettingsText, useColor } from '../common.js';
import { exitCodes, untilSignal, UsageError, type CliIo } from '../io.js';
import { loggerOf, rawStream } from '../log.js';
import { mapCommand } from './map.js';

export const cqiHelp = `cadmap cqi <map | check | submit | sandbox> [options]

NHS Pathways CQI cases (canonical model cqi-case/1.0.0).

  cadmap cqi map --mapping <mapping.yaml> <inputs…> [-o cases.ndjson]
      run a 'target: cqi-case' mapping; cases go out as NDJSON (same options as 'cadmap map')
  cadmap cqi check <case files…> [--json]
      validate case files (.json: one case or an array; .ndjson: one a line; .xml: Pathways case XML)
  cadmap cqi submit [<case files…>] [--config cadmap.config.yaml] [--environment uat|live] [--format json|xml]
                    [--queue <file>]
      queue the cases durably (SQLite), then send everything queued to the CQI API over mutual TLS.
      Without files it retries what is queued. Cases the service cannot take now (closed, down) stay queued.
  cadmap cqi sandbox [--dir .cadmap-cqi-sandbox] [--port <n>] [--closed 503|refused]
      run a local CQI API (HTTPS, client certificates from a fresh test CA) until Ctrl-C, and write a ready config

Configuration (the 'cqi:' section of cadmap.config.yaml, or --config; paths relative to the file):
  cqi:
    environment: uat                 # uat or live
    baseUrls: { uat: https://…, live: https://… }
    format: json                     # or xml (Pathways case shape)
    certificateFile: client.pem      # client certificate (PEM)
    keyFile: client.key              # its private key (PEM)
    caFile: ca.pem                   # CA of the service certificate (default: public roots)
    credentials: { header: X-Example-Credentials, scheme: Basic }   # optional; the value is a secret (env only)
    queue: cqi-queue.sqlite
Environment (overrides the file): CADMAP_CQI_ENVIRONMENT, CADMAP_CQI_CERT_FILE, CADMAP_CQI_KEY_FILE,
  CADMAP_CQI_CA_FILE, CADMAP_CQI_QUEUE; secrets: CADMAP_CQI_CREDENTIALS (header value),
  CADMAP_CQI_KEY_PASSPHRASE. Secrets are never printed.
Exit codes: 0 done, 1 invalid or rejected cases, 2 usage or configuration, 3 cases left queued (service unavailable).`;

export interface CqiCommandDependencies {
  /** Resolves when `cqi sandbox` should stop (default: SIGINT/SIGTERM). */
  readonly untilStopped?: () => Promise<void>;
}

export async function cqiCommand(io: CliIo, argv: readonly string[], dependencies: CqiCommandDependencies = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    throw new UsageError('Name a subcommand: map, check, submit or sandbox.');
  }
  switch (sub) {
    case 'map':
      return cqiMap(io, rest);
    case 'check':
      return cqiCheck(io, rest);
    case 'submit':
      return cqiSubmit(io, rest);
    case 'sandbox':
      return cqiSandbox(io, rest, dependencies);
    default:
      throw new UsageError(`Unknown subcommand '${sub}'.`);
  }
}

async function cqiMap(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], allowPositionals: true, strict: false, options: { mapping: { type: 'string', short: 'm' } } });
  if (typeof values.mapping === 'string') {
    const { mapping } = await loadMapping(resolve(io.cwd, values.mapping), mappingLoadOptions(io));
    if (mapping && mapping.target !== 'cqi-case') {
      throw new UsageError(`${values.mapping} builds ${mapping.target}, not CQI cases: set 'target: cqi-case' and a 'document:' template, or use 'cadmap map'.`);
    }
  }
  return mapCommand(io, argv);
}

/** One case read from a file, with where it came from. */
interface CaseItem {
  readonly origin: InputSpan;
  readonly value?: unknown;
  readonly valid: boolean;
  readonly diagnostics: readonly Diagnostic[];
}

function located(diagnostics: readonly Diagnostic[], origin: InputSpan): Diagnostic[] {
  return diagnostics.map((d) => (d.input ? d : { ...d, input: origin }));
}

function checkValue(value: unknown, origin: InputSpan): CaseItem {
  const caseId = (value as { case?: { caseId?: unknown } } | null)?.case?.caseId;
  const where: InputSpan = typeof caseId === 'string' ? { ...origin, recordKey: caseId } : origin;
  const result = validateCqiCase(value);
  return { origin: where, value, valid: result.valid, diagnostics: located(result.diagnostics, where) };
}

/** Reads case files: .xml (Pathways case), .ndjson/.jsonl (one case a line), anything else JSON (a case or an array). */
export function readCaseFiles(files: readonly string[]): CaseItem[] {
  const items: CaseItem[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    } catch (error) {
      items.push({ origin: { file }, valid: false, diagnostics: [{ code: 'SRC_FILE_UNREADABLE', severity: 'error', message: `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, input: { file } }] });
      continue;
    }
    const extension = extname(file).toLowerCase();
    if (extension === '.xml') {
      const decoded = cqiEncoder('xml').decode(text, file);
      items.push({ origin: { file, line: 1 }, ...(decoded.case ? { value: decoded.case } : {}), valid: decoded.valid, diagnostics: located(decoded.diagnostics, { file, line: 1, ...(decoded.case ? { recordKey: decoded.case.case.caseId } : {}) }) });
      continue;
    }
    if (extension === '.ndjson' || extension === '.jsonl') {
      text.split(/\r?\n/).forEach((line, index) => {
        if (line.trim() === '') {
          return;
        }
        const origin: InputSpan = { file, line: index + 1, row: index + 1 };
        try {
          items.push(checkValue(JSON.parse(line), origin));
        } catch (error) {
          items.push({ origin, valid: false, diagnostics: [{ code: 'CQI_WIRE_SYNTAX', severity: 'error', message: `Line ${index + 1} of ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}.`, input: origin }] });
        }
      });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      items.push({ origin: { file }, valid: false, diagnostics: [{ code: 'CQI_WIRE_SYNTAX', severity: 'error', message: `${file} is not JSON: ${error instanceof Error ? error.message : String(error)}.`, hint: 'Give a case as JSON (.json), NDJSON (.ndjson) or Pathways case XML (.xml).', input: { file } }] });
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => items.push(checkValue(item, { file, pointer: `/${index}` })));
    } else {
      items.push(checkValue(value, { file, pointer: '' }));
    }
  }
  return items;
}

function caseFiles(io: CliIo, positionals: readonly string[]): string[] {
  return parseInputs(positionals, io.cwd).map(inputName);
}

function cqiCheck(io: CliIo, argv: readonly string[]): number {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } } });
  if (positionals.length === 0) {
    throw new UsageError('Give one or more case files (.json, .ndjson or .xml) or directories.');
  }
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const items = readCaseFiles(caseFiles(io, positionals));
  const diagnostics = items.flatMap((item) => item.diagnostics);
  const invalid = items.filter((item) => !item.valid).length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ cases: items.length, valid: items.length - invalid, invalid, diagnostics }, null, 2)}\n`);
  } else {
    if (diagnostics.length > 0) {
      io.stderr.write(`${makeRenderer(io, undefined, color).render(diagnostics)}\n`);
    }
    io.stderr.write(`${items.length} case${items.length === 1 ? '' : 's'}: ${items.length - invalid} valid, ${invalid} with errors, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
  }
  return invalid > 0 ? exitCodes.dataErrors : exitCodes.ok;
}

/** The `cqi:` section of the config file. */
interface CqiConfigFile {
  environment?: string;
  baseUrls?: Partial<Record<CqiEnvironment, string>>;
  format?: string;
  certificateFile?: string;
  keyFile?: string;
  caFile?: string;
  credentials?: { header?: string; scheme?: string };
  queue?: string;
  timeoutMs?: number;
}

const configNames = ['cadmap.config.yaml', 'cadmap.config.yml', 'cadmap.config.json'];

function readCqiConfig(io: CliIo, path: string | undefined): { file?: string; cqi: CqiConfigFile } {
  const file = path !== undefined ? resolve(io.cwd, path) : configNames.map((name) => resolve(io.cwd, name)).find((candidate) => existsSync(candidate));
  if (file === undefined) {
    return { cqi: {} };
  }
  let data: unknown;
  try {
    data = parseSettingsText(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`Cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))}.`);
  }
  const cqi = (data as { cqi?: unknown } | null)?.cqi;
  if (cqi === undefined) {
    return { file, cqi: {} };
  }
  if (cqi === null || typeof cqi !== 'object' || Array.isArray(cqi)) {
    throw new UsageError(`${file}: 'cqi:' must be a mapping of settings.`);
  }
  const known = ['environment', 'baseUrls', 'format', 'certificateFile', 'keyFile', 'caFile', 'credentials', 'queue', 'timeoutMs'];
  const unknown = Object.keys(cqi).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new UsageError(`${file}: unknown cqi setting${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}. Known: ${known.join(', ')}.`);
  }
  return { file, cqi };
}

function readPem(path: string, what: string, source: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the ${what} ${path} (from ${source}): ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
}

async function cqiSubmit(io: CliIo, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { config: { type: 'string' }, environment: { type: 'string' }, format: { type: 'string' }, queue: { type: 'string' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
  });
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const log = loggerOf(io);
  log.secret(io.env.CADMAP_CQI_CREDENTIALS);
  log.secret(io.env.CADMAP_CQI_KEY_PASSPHRASE);
  const render = (diagnostics: readonly Diagnostic[]): void => {
    if (diagnostics.length > 0) {
      io.stderr.write(`${makeRenderer(io, undefined, color).render(diagnostics)}\n`);
    }
  };
  const { file: configFile, cqi } = readCqiConfig(io, values.config);
  const base = configFile !== undefined ? dirname(configFile) : io.cwd;
  const fromFile = (path: string | undefined): string | undefined => (path !== undefined ? resolve(base, path) : undefined);
  const fromEnv = (name: string): string | undefined => {
    const value = io.env[name];
    return value !== undefined && value !== '' ? resolve(io.cwd, value) : undefined;
  };

  const environment = values.environment ?? io.env.CADMAP_CQI_ENVIRONMENT ?? cqi.environment ?? 'uat';
  if (environment !== 'uat' && environment !== 'live') {
    throw new UsageError(`The CQI environment is uat or live, not '${environment}'.`);
  }
  const format = values.format ?? cqi.format ?? 'json';
  if (format !== 'json' && format !== 'xml') {
    throw new UsageError(`--format is json or xml, not '${format}'.`);
  }
  const certFile = fromEnv('CADMAP_CQI_CERT_FILE') ?? fromFile(cqi.certificateFile);
  const keyFile = fromEnv('CADMAP_CQI_KEY_FILE') ?? fromFile(cqi.keyFile);
  const caFile = fromEnv('CADMAP_CQI_CA_FILE') ?? fromFile(cqi.caFile);
  if (certFile === undefined || keyFile === undefined) {
    throw new UsageError('Mutual TLS needs a client certificate and key: set cqi.certificateFile and cqi.keyFile in the config file, or CADMAP_CQI_CERT_FILE and CADMAP_CQI_KEY_FILE.');
  }
  const credentialValue = io.env.CADMAP_CQI_CREDENTIALS;
  if (cqi.credentials?.header !== undefined && (credentialValue === undefined || credentialValue === '')) {
    throw new UsageError(`The config names a credentials header (${cqi.credentials.header}); give its value in CADMAP_CQI_CREDENTIALS.`);
  }
  if (cqi.credentials?.header === undefined && credentialValue !== undefined && credentialValue !== '') {
    throw new UsageError('CADMAP_CQI_CREDENTIALS is set but the config names no credentials header (cqi.credentials.header).');
  }
  const queuePath = values.queue !== undefined ? resolve(io.cwd, values.queue) : (fromEnv('CADMAP_CQI_QUEUE') ?? fromFile(cqi.queue) ?? resolve(io.cwd, 'cqi-queue.sqlite'));
  const source = configFile !== undefined ? relative(io.cwd, configFile) || configFile : 'the environment';
  const passphrase = io.env.CADMAP_CQI_KEY_PASSPHRASE;
  const key = readPem(keyFile, 'client key', source);
  log.secret(key);
  const onEvent = cqiEventLogger(log);
  const { client, diagnostics: configProblems } = CqiClient.create({
    environment,
    baseUrls: cqi.baseUrls ?? {},
    onEvent,
    tls: {
      cert: readPem(certFile, 'client certificate', source),
      key,
      ...(caFile !== undefined ? { ca: readPem(caFile, 'CA certificate', source) } : {}),
      ...(passphrase !== undefined && passphrase !== '' ? { passphrase } : {}),
    },
    ...(cqi.credentials?.header !== undefined && credentialValue !== undefined ? { credentials: { header: cqi.credentials.header, ...(cqi.credentials.scheme !== undefined ? { scheme: cqi.credentials.scheme } : {}), value: credentialValue } } : {}),
    ...(cqi.timeoutMs !== undefined ? { timeoutMs: cqi.timeoutMs } : {}),
  });
  if (!client) {
    render(configProblems);
    return exitCodes.usage;
  }
  const items = readCaseFiles(caseFiles(io, positionals));
  const queue = new SqliteCqiQueue(queuePath);
  try {
    const sender = new CqiSender({ client, queue, encoder: cqiEncoder(format), onEvent });
    log.info('cqi', `queue ${queuePath}: ${queue.count()} case(s) pending`);
    io.stderr.write(`CQI ${environment} ${client.baseUrl} (${format}); queue ${relative(io.cwd, queuePath) || queuePath}\n`);
    let invalid = 0;
    for (const item of items) {
      if (!item.valid || item.value === undefined) {
        invalid++;
        render(item.diagnostics);
        continue;
      }
      const queued = sender.enqueue(item.value);
      render(located(queued.diagnostics, item.origin));
      if (queued.status === 'invalid') {
        invalid++;
      }
    }
    const report = await sender.flush({ ignoreBackoff: true });
    let rejected = 0;
    for (const outcome of report.outcomes) {
      io.stdout.write(`${symbol(outcome)} ${outcome.caseId}: ${outcome.status}\n`);
      if (outcome.status === 'rejected') {
        rejected++;
        render(outcome.diagnostics);
      }
    }
    if (report.stoppedBy) {
      render(report.stoppedBy);
    }
    const delivered = report.outcomes.filter((o) => o.status === 'delivered').length;
    io.stderr.write(`${items.length} case${items.length === 1 ? '' : 's'} read (${invalid} invalid, not queued); ${delivered} delivered, ${rejected} rejected, ${report.pending} still queued\n`);
    if (report.pending > 0) {
      io.stderr.write(`Queued cases are kept in ${queuePath}; run 'cadmap cqi submit' again (e.g. from a timer) to retry them.\n`);
    }
    if (report.stoppedBy?.some((d) => d.code === 'CQI_TLS' || d.code === 'CQI_AUTH')) {
      return exitCodes.usage;
    }
    return invalid > 0 || rejected > 0 ? exitCodes.dataErrors : report.pending > 0 ? exitCodes.transport : exitCodes.ok;
  } finally {
    queue.close();
    await client.close();
  }
}

function symbol(outcome: CqiCaseOutcome): string {
  switch (outcome.status) {
    case 'delivered':
      return '✓';
    case 'queued':
      return '…';
    case 'rejected':
    case 'invalid':
      return '✗';
  }
}

async function cqiSandbox(io: CliIo, argv: readonly string[], dependencies: CqiCommandDependencies): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { dir: { type: 'string' }, port: { type: 'string' }, closed: { type: 'string' } } });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('--port takes a port number.');
  }
  const availability: CqiAvailability = values.closed === undefined ? 'open' : values.closed === '503' ? 'closed-503' : values.closed === 'refused' ? 'closed-refused' : (() => {
    throw new UsageError("--closed is 503 or refused.");
  })();
  const dir = resolve(io.cwd, values.dir ?? '.cadmap-cqi-sandbox');
  const credential = 'c2FuZGJveDpzYW5kYm94';
  const sandbox = await startCqiSandbox({ port, availability, decodeXml: decodePathwaysXml, credentials: { header: 'X-CQI-Credentials', value: `Basic ${credential}` } });
  try {
    const client = await sandbox.issueClient('cadmap-cqi-sandbox-client');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ca.pem'), sandbox.ca.cert);
    writeFileSync(join(dir, 'client.pem'), client.cert);
    writePrivateFile(join(dir, 'client.key'), client.key);
    const config = { cqi: { environment: 'uat', baseUrls: { uat: sandbox.url }, format: 'json', certificateFile: 'client.pem', keyFile: 'client.key', caFile: 'ca.pem', credentials: { header: 'X-CQI-Credentials', scheme: 'Basic' }, queue: 'cqi-queue.sqlite' } };
    writeFileSync(join(dir, 'cadmap.config.yaml'), `# Written by 'cadmap cqi sandbox' for the local sandbox only.\n${stringifyYaml(config)}`);
    const shown = relative(io.cwd, dir) || '.';
    // Shows the sandbox's own test credential on purpose: written past the redaction.
    rawStream(io.stderr).write(
      [
        `CQI sandbox on ${sandbox.url} (${availability}); client certificates from its test CA only.`,
        `Config, CA and client certificate: ${shown}/`,
        'Try:',
        `  export CADMAP_CQI_CREDENTIALS=${credential}   # the sandbox's (non-secret) test credential`,
        `  cadmap cqi submit --config ${shown}/cadmap.config.yaml cases.ndjson`,
        'Stop with Ctrl-C.',
        '',
      ].join('\n'),
    );
    await (dependencies.untilStopped ?? untilSignal)();
    io.stderr.write(`Stopping: ${sandbox.accepted.length} case${sandbox.accepted.length === 1 ? '' : 's'} accepted.\n`);
  } finally {
    await sandbox.close();
  }
  return exitCodes.ok;
}

