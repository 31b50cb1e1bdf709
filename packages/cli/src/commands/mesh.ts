import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writePrivateFile } from '../output.js';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSettingsText } from '../common.js';
import {
  createMeshClient,
  MeshError,
  MeshStore,
  notificationFormats,
  pollInbox,
  readReceipts,
  readStoredNotifications,
  reconcile,
  reconciliationSummary,
  type MeshClient,
  type MeshClientOptions,
  type MeshDiagnostic,
  type NotificationConfig,
  type NotificationFormat,
  type StoredMessage,
} from '@cadmap/adapter-mesh';
import { openLedger } from '@cadmap/ledger';
import { startMeshSandbox } from '@cadmap/sandbox';
import { meshEventLogger } from '../adapter-log.js';
import { exitCodes, untilSignal, UsageError, type CliIo } from '../io.js';
import { loggerOf, type Logger } from '../log.js';
import { defaultConfigNames } from './dps-config.js';

export const meshHelp = `cadmap mesh <poll | send | track | handshake | sandbox> [options]

NHS MESH (API v2, mutual TLS): collect DPS error notifications and trace each error back to its source row.

  cadmap mesh handshake                      validate the mailbox (do this once a day)
  cadmap mesh poll [--receipts <file>] [--store <dir>] [--ledger <file>] [--reconcile-only] [--json]
      download every waiting message into the store (fsync + atomic rename), acknowledge it only once stored,
      link REPORTs to what was sent, read DPS error notifications and reconcile each error against the receipts
      'cadmap submit' wrote (default dps-receipts.ndjson): receipt, bundle, source file/row and mapping rule.
      --reconcile-only reads what is already stored, without contacting MESH. --ledger links every error to
      its record in the submission ledger 'cadmap submit' wrote (marking it rejected), for 'cadmap status/report'.
  cadmap mesh send <file> --to <mailbox> --workflow <id> [--local-id <id>] [--subject <text>] [--file-name <name>]
      send a file (chunked, gzip per chunk); recorded in <store>/sent.ndjson so REPORTs can be linked
  cadmap mesh track <message id>             the tracking status of a message this mailbox sent
  cadmap mesh sandbox [--dir .cadmap-mesh-sandbox] [--port <n>] [--samples]
      run a strict local MESH (mutual TLS, test CA) until Ctrl-C and write certificates, secrets and a config
      for it; --samples puts a DPS notification and an unknown payload in the inbox

Options: -c, --config <file> (default ./cadmap.config.yaml) · --json

Configuration (the 'mesh:' section; paths relative to the config file):
  mesh:
    environment: integration         # integration, production, deployment, or https://host:port
    mailbox: X26ABC1
    certFile: client.pem             # client certificate for this environment (PEM)
    keyFile: client.key              # its private key (PEM)
    caFile: mesh-ca.pem              # CA bundle that signed the MESH server certificate
    store: mesh-store                # where messages are stored before they are acknowledged
    receipts: dps-receipts.ndjson
    chunkSize: 20971520              # bytes per chunk when sending (≥ 5 MiB)
    maxMessageBytes: 104857600       # largest message a download may produce after gunzip (default 100 MiB)
    compress: true
    notifications:
      workflowIds: [YOUR_DPS_WORKFLOW_ID]   # from onboarding: not published, never assumed
      formats: [json, csv, operation-outcome]
      fields: { receipt: receiptId, bundleId: bundleId, callId: callId, message: message, location: location }
Environment (overrides the file): CADMAP_MESH_ENV, CADMAP_MESH_MAILBOX, CADMAP_MESH_CERT_FILE, CADMAP_MESH_KEY_FILE,
  CADMAP_MESH_CA_FILE, CADMAP_MESH_STORE, CADMAP_MESH_WORKFLOW_IDS (comma separated), CADMAP_MESH_FORMATS;
  secrets (env or files only, never in the config, never printed): CADMAP_MESH_PASSWORD / CADMAP_MESH_PASSWORD_FILE,
  CADMAP_MESH_SHARED_KEY / CADMAP_MESH_SHARED_KEY_FILE.
Exit codes: 0 done, 1 DPS errors or unrecognised notifications found, 2 usage or configuration, 3 MESH failures.`;

interface MeshFileConfig {
  environment?: string;
  mailbox?: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  store?: string;
  receipts?: string;
  chunkSize?: number;
  maxMessageBytes?: number;
  compress?: boolean;
  notifications?: Partial<NotificationConfig>;
}

const fileKeys = new Set(['environment', 'mailbox', 'certFile', 'keyFile', 'caFile', 'store', 'receipts', 'chunkSize', 'maxMessageBytes', 'compress', 'notifications']);

/** Everything `cadmap mesh` needs, resolved from the config file and the environment. */
export interface MeshSettings {
  readonly client: MeshClientOptions;
  readonly store: string;
  readonly receipts: string;
  readonly notifications: NotificationConfig;
  /** Secrets to scrub from anything printed (registered with the run's logger). */
  readonly secrets: readonly string[];
  readonly description: string;
}

function readMeshConfig(cwd: string, path: string | undefined): { file?: string; mesh: MeshFileConfig } {
  const file = path !== undefined ? resolve(cwd, path) : defaultConfigNames.map((name) => resolve(cwd, name)).find((candidate) => existsSync(candidate));
  if (file === undefined) {
    return { mesh: {} };
  }
  let data: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    data = file.endsWith('.json') ? JSON.parse(text) : parseSettingsText(text);
  } catch (error) {
    throw new UsageError(`Cannot read the config file ${file}: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  const mesh = (data as { mesh?: unknown } | null)?.mesh;
  if (mesh === undefined || mesh === null) {
    return { file, mesh: {} };
  }
  if (typeof mesh !== 'object' || Array.isArray(mesh)) {
    throw new UsageError(`In ${file}, 'mesh' must be a mapping of settings.`);
  }
  const unknown = Object.keys(mesh).filter((key) => !fileKeys.has(key));
  if (unknown.length > 0) {
    const secret = unknown.some((key) => /password|secret|shared/i.test(key)) ? ' Keep the password and shared key in CADMAP_MESH_PASSWORD(_FILE) and CADMAP_MESH_SHARED_KEY(_FILE), never in the config.' : '';
    throw new UsageError(`In ${file}, unknown mesh setting${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `'${key}'`).join(', ')}; known: ${[...fileKeys].join(', ')}.${secret}`);
  }
  const base = dirname(file);
  const resolved: MeshFileConfig = { ...(mesh as MeshFileConfig) };
  for (const key of ['certFile', 'keyFile', 'caFile', 'store', 'receipts'] as const) {
    const value = resolved[key];
    if (typeof value === 'string') {
      resolved[key] = resolve(base, value);
    }
  }
  return { file, mesh: resolved };
}

function secretFrom(env: CliIo['env'], name: string, cwd: string): string | undefined {
  const fileName = env[`${name}_FILE`];
  if (fileName !== undefined && fileName !== '') {
    try {
      return readFileSync(resolve(cwd, fileName), 'utf8').trim();
    } catch (error) {
      throw new UsageError(`Cannot read ${name}_FILE (${fileName}): ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
    }
  }
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function readPem(path: string | undefined, what: string, variable: string): string | undefined {
  if (path === undefined) {
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the MESH ${what} ${path} (${variable}): ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
}

/** Resolves the MESH settings: environment over config file; secrets only from the environment or files. */
export function resolveMeshSettings(io: CliIo, configPath: string | undefined, overrides: { store?: string; receipts?: string } = {}): MeshSettings {
  const { env, cwd } = io;
  const { mesh } = readMeshConfig(cwd, configPath);
  const pick = (name: string, fallback: string | undefined): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : fallback);
  const pathPick = (name: string, fallback: string | undefined): string | undefined => {
    const value = env[name];
    return value !== undefined && value !== '' ? resolve(cwd, value) : fallback;
  };
  const environment = pick('CADMAP_MESH_ENV', mesh.environment);
  const mailbox = pick('CADMAP_MESH_MAILBOX', mesh.mailbox);
  const password = secretFrom(env, 'CADMAP_MESH_PASSWORD', cwd);
  const sharedKey = secretFrom(env, 'CADMAP_MESH_SHARED_KEY', cwd);
  const certFile = pathPick('CADMAP_MESH_CERT_FILE', mesh.certFile);
  const keyFile = pathPick('CADMAP_MESH_KEY_FILE', mesh.keyFile);
  const caFile = pathPick('CADMAP_MESH_CA_FILE', mesh.caFile);
  const missing = [
    environment === undefined && 'CADMAP_MESH_ENV (mesh.environment)',
    mailbox === undefined && 'CADMAP_MESH_MAILBOX (mesh.mailbox)',
    password === undefined && 'CADMAP_MESH_PASSWORD or CADMAP_MESH_PASSWORD_FILE',
    sharedKey === undefined && 'CADMAP_MESH_SHARED_KEY or CADMAP_MESH_SHARED_KEY_FILE',
    certFile === undefined && 'CADMAP_MESH_CERT_FILE (mesh.certFile)',
    keyFile === undefined && 'CADMAP_MESH_KEY_FILE (mesh.keyFile)',
  ].filter((item): item is string => item !== false);
  if (missing.length > 0) {
    throw new UsageError(`MESH is not configured: set ${missing.join(', ')}. See 'cadmap mesh --help' and the adapter-mesh README.`);
  }
  const workflowIds = pick('CADMAP_MESH_WORKFLOW_IDS', undefined)?.split(',').map((id) => id.trim()).filter((id) => id !== '') ?? mesh.notifications?.workflowIds ?? [];
  const formats = (pick('CADMAP_MESH_FORMATS', undefined)?.split(',').map((format) => format.trim()) ?? mesh.notifications?.formats ?? notificationFormats) as NotificationFormat[];
  const badFormat = formats.find((format) => !notificationFormats.includes(format));
  if (badFormat !== undefined) {
    throw new UsageError(`Unknown notification format '${badFormat}'; known: ${notificationFormats.join(', ')}.`);
  }
  const cert = readPem(certFile, 'client certificate', 'CADMAP_MESH_CERT_FILE') ?? '';
  const key = readPem(keyFile, 'client key', 'CADMAP_MESH_KEY_FILE') ?? '';
  const ca = readPem(caFile, 'CA bundle', 'CADMAP_MESH_CA_FILE');
  const store = overrides.store !== undefined ? resolve(cwd, overrides.store) : (pathPick('CADMAP_MESH_STORE', mesh.store) ?? resolve(cwd, 'mesh-store'));
  const receipts = overrides.receipts !== undefined ? resolve(cwd, overrides.receipts) : (mesh.receipts ?? resolve(cwd, 'dps-receipts.ndjson'));
  const client: MeshClientOptions = {
    environment: environment ?? '',
    mailboxId: mailbox ?? '',
    password: password ?? '',
    sharedKey: sharedKey ?? '',
    tls: { cert, key, ...(ca !== undefined ? { ca } : {}) },
    ...(mesh.chunkSize !== undefined ? { chunkBytes: mesh.chunkSize } : {}),
    ...(mesh.maxMessageBytes !== undefined ? { maxMessageBytes: mesh.maxMessageBytes } : {}),
    ...(mesh.compress !== undefined ? { compress: mesh.compress } : {}),
  };
  return {
    client,
    store,
    receipts,
    notifications: { ...mesh.notifications, workflowIds, formats },
    secrets: [password ?? '', sharedKey ?? '', key].filter((secret) => secret.length >= 4),
    description: `MESH ${environment ?? ''} mailbox ${mailbox ?? ''} (certificate ${basename(certFile ?? '')}${caFile !== undefined ? `, CA ${basename(caFile)}` : ''}); store ${store}`,
  };
}

const describe = (diagnostic: MeshDiagnostic): string => `${diagnostic.code}: ${diagnostic.message}${diagnostic.hint !== undefined ? `\n  hint: ${diagnostic.hint}` : ''}`;

/** `cadmap mesh …` */
export interface MeshCommandDependencies {
  /** Resolves when `mesh sandbox` should stop (default: SIGINT/SIGTERM). */
  readonly untilStopped?: () => Promise<void>;
}

export async function meshCommand(io: CliIo, argv: readonly string[], dependencies: MeshCommandDependencies = {}): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      store: { type: 'string' },
      receipts: { type: 'string' },
      ledger: { type: 'string' },
      'reconcile-only': { type: 'boolean' },
      to: { type: 'string' },
      workflow: { type: 'string' },
      'local-id': { type: 'string' },
      subject: { type: 'string' },
      'file-name': { type: 'string' },
      dir: { type: 'string' },
      port: { type: 'string' },
      samples: { type: 'boolean' },
    },
  });
  if (sub === 'sandbox') {
    return meshSandbox(io, values, dependencies);
  }
  if (sub === undefined || !['poll', 'send', 'track', 'handshake'].includes(sub)) {
    throw new UsageError(sub === undefined ? 'Name a subcommand: poll, send, track, handshake or sandbox.' : `Unknown mesh subcommand '${sub}'.`);
  }
  const log = loggerOf(io);
  const settings = resolveMeshSettings(io, values.config, { ...(values.store !== undefined ? { store: values.store } : {}), ...(values.receipts !== undefined ? { receipts: values.receipts } : {}) });
  settings.secrets.forEach(log.secret);
  const say = (text: string): void => void io.stderr.write(`${log.redact(text)}\n`);
  const print = (text: string): void => void io.stdout.write(`${log.redact(text)}\n`);
  const store = new MeshStore(settings.store);
  const ledgerFile = values.ledger !== undefined ? resolve(io.cwd, values.ledger) : undefined;

  if (sub === 'poll' && values['reconcile-only'] === true) {
    return reconcileAndReport(log, settings, await store.list(), values.json === true, print, say, [], 0, ledgerFile);
  }
  const created = createMeshClient({ ...settings.client, onEvent: meshEventLogger(log) });
  if (!created.client) {
    say(created.diagnostics.map(describe).join('\n'));
    return exitCodes.usage;
  }
  const client: MeshClient = created.client;
  try {
    if (values.json !== true) {
      say(settings.description);
    }
    switch (sub) {
      case 'handshake':
        await client.handshake();
        print(values.json === true ? JSON.stringify({ handshake: 'ok', mailbox: client.mailboxId }) : `handshake ok: mailbox ${client.mailboxId} is valid`);
        return exitCodes.ok;
      case 'track': {
        const id = positionals[0];
        if (id === undefined) {
          throw new UsageError('Give the message id to track.');
        }
        const tracking = await client.track(id);
        print(values.json === true ? JSON.stringify(tracking.raw, null, 2) : `${tracking.messageId}: ${tracking.status ?? 'unknown'}${tracking.statusDescription !== undefined ? ` (${tracking.statusDescription})` : ''}${tracking.recipient !== undefined ? ` · to ${tracking.recipient}` : ''}${tracking.statusCode !== undefined ? ` · code ${tracking.statusCode}` : ''}`);
        return tracking.statusSuccess === false ? exitCodes.dataErrors : exitCodes.ok;
      }
      case 'send': {
        const file = positionals[0];
        if (file === undefined || values.to === undefined || values.workflow === undefined) {
          throw new UsageError('cadmap mesh send needs <file>, --to <mailbox> and --workflow <id>.');
        }
        const path = resolve(io.cwd, file);
        if (!existsSync(path)) {
          throw new UsageError(`No such file: ${path}`);
        }
        const result = await client.send({
          to: values.to,
          workflowId: values.workflow,
          body: { path },
          ...(values['local-id'] !== undefined ? { localId: values['local-id'] } : {}),
          ...(values.subject !== undefined ? { subject: values.subject } : {}),
          ...(values['file-name'] !== undefined ? { fileName: values['file-name'] } : {}),
        });
        await store.recordSent({ ...result, to: values.to, workflowId: values.workflow, ...(values['local-id'] !== undefined ? { localId: values['local-id'] } : {}), ...(values['file-name'] !== undefined ? { fileName: values['file-name'] } : {}), source: path, sentAt: new Date().toISOString() });
        print(values.json === true ? JSON.stringify(result) : `sent ${result.messageId}: ${result.bytes} bytes in ${result.chunks} chunk(s) to ${values.to}`);
        return exitCodes.ok;
      }
      default: {
        const sent = await store.sent();
        const poll = await pollInbox(client, store, {
          onStored: (message) => log.debug('mesh', `stored message ${message.messageId}`, { messageType: message.info.messageType, bytes: message.info.bytes }),
          findSent: (linked, localId) => sent.find((record) => linked !== undefined && record.messageId === linked) ?? sent.find((record) => localId !== undefined && record.localId === localId),
        });
        const failures = poll.failures.length;
        if (values.json !== true) {
          say(`stored and acknowledged: ${poll.stored.length} · reports: ${poll.reports.length} · left in the inbox: ${failures}`);
          for (const diagnostic of poll.diagnostics) {
            say(describe(diagnostic));
          }
        }
        const code = await reconcileAndReport(log, settings, poll.stored, values.json === true, print, say, poll.diagnostics, poll.reports.length, ledgerFile);
        return failures > 0 ? exitCodes.transport : code;
      }
    }
  } catch (error) {
    if (error instanceof MeshError) {
      say(describe(error.diagnostic));
      return error.code === 'MESH_CONFIGURATION' ? exitCodes.usage : exitCodes.transport;
    }
    throw error;
  } finally {
    await client.close();
  }
}

async function reconcileAndReport(
  log: Logger,
  settings: MeshSettings,
  stored: readonly StoredMessage[],
  json: boolean,
  print: (text: string) => void,
  say: (text: string) => void,
  pollDiagnostics: readonly MeshDiagnostic[],
  reports = 0,
  ledgerFile?: string,
): Promise<number> {
  if (settings.notifications.workflowIds.length === 0) {
    say('No DPS notification workflow ids configured (mesh.notifications.workflowIds / CADMAP_MESH_WORKFLOW_IDS): messages were stored but not read as DPS notifications.');
    if (json) {
      print(JSON.stringify({ stored: stored.map((m) => m.messageId), reports, matched: [], unmatched: [], unrecognised: [], diagnostics: pollDiagnostics }, null, 2));
    }
    return exitCodes.ok;
  }
  const read = await readStoredNotifications(stored, settings.notifications);
  const { receipts, diagnostics: receiptProblems } = read.notifications.length > 0 ? await readReceipts(settings.receipts) : { receipts: [], diagnostics: [] };
  const result = reconcile(read.notifications, receipts);
  log.info('reconcile', `${read.notifications.length} DPS notification(s), ${receipts.length} receipt(s)`, { matched: result.matched.length, unmatched: result.unmatched.length, unrecognised: read.unrecognised.length });
  const diagnostics = [...pollDiagnostics, ...read.diagnostics, ...receiptProblems, ...result.diagnostics];
  const linked = ledgerFile === undefined ? undefined : linkToLedger(log, ledgerFile, read.notifications);
  if (json) {
    print(JSON.stringify({ stored: stored.map((m) => m.messageId), reports, notifications: read.notifications.length, matched: result.matched, unmatched: result.unmatched, unrecognised: read.unrecognised, diagnostics, ...(linked ? { ledger: linked } : {}) }, null, 2));
  } else {
    if (linked) {
      say(`ledger ${linked.file}: ${linked.linked} DPS error(s) linked to their records, ${linked.unlinked} not found in the ledger`);
    }
    for (const diagnostic of [...read.diagnostics, ...receiptProblems]) {
      say(describe(diagnostic));
    }
    print(`notifications: ${read.notifications.length} · unrecognised (stored raw): ${read.unrecognised.length}`);
    print(reconciliationSummary(result));
  }
  return result.matched.length + result.unmatched.length + read.unrecognised.length > 0 ? exitCodes.dataErrors : exitCodes.ok;
}

/** Links every notified error to its record in the ledger (idempotent: a notification read twice links once). */
function linkToLedger(log: Logger, file: string, notifications: Awaited<ReturnType<typeof readStoredNotifications>>['notifications']): { file: string; linked: number; unlinked: number } {
  const ledger = openLedger(file);
  let linked = 0;
  let unlinked = 0;
  try {
    const receivedAt = Date.now();
    for (const notification of notifications) {
      for (const error of notification.parsed.errors) {
        const entry = ledger.linkMeshError({
          notificationId: notification.messageId,
          index: error.index,
          message: log.redact(error.message),
          receivedAt,
          ...(error.code !== undefined ? { code: error.code } : {}),
          ...(error.location !== undefined ? { location: error.location } : {}),
          ...(error.receipt !== undefined ? { receipt: error.receipt } : {}),
          ...(error.bundleId !== undefined ? { bundleId: error.bundleId } : {}),
          ...(error.callId !== undefined ? { callId: error.callId } : {}),
        });
        log.debug('ledger', entry.recordId !== undefined ? `DPS error linked to record ${entry.recordId}: rejected` : 'DPS error matches no record', { notification: notification.messageId, index: error.index, matchedBy: entry.matchedBy, code: error.code });
        if (entry.recordId !== undefined) {
          linked++;
        } else {
          unlinked++;
        }
      }
    }
  } finally {
    ledger.close();
  }
  return { file, linked, unlinked };
}

const sandboxWorkflow = 'DPS_ERR_SANDBOX';

async function meshSandbox(io: CliIo, values: { dir?: string | undefined; port?: string | undefined; samples?: boolean | undefined }, dependencies: MeshCommandDependencies): Promise<number> {
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError('--port takes a port number (0 picks a free one).');
  }
  const dir = resolve(io.cwd, values.dir ?? '.cadmap-mesh-sandbox');
  const trust = { id: 'TRUST01', password: randomBytes(12).toString('hex'), ods: 'RX9', name: 'Sandbox trust', workflows: [sandboxWorkflow, 'ADS_FILE'] };
  const dps = { id: 'DPSSBX1', password: randomBytes(12).toString('hex'), ods: 'X26', name: 'Sandbox DPS', workflows: [sandboxWorkflow, 'ADS_FILE'] };
  const sharedKey = randomBytes(16).toString('hex');
  const sandbox = await startMeshSandbox({ mailboxes: [trust, dps], sharedKey, port });
  try {
    const client = await sandbox.issueClientCertificate(`SERVER001.${trust.ods}.api.mesh-client.nhs.uk`);
    mkdirSync(dir, { recursive: true });
    const secret = (name: string, content: string): void => writePrivateFile(join(dir, name), content);
    writeFileSync(join(dir, 'ca.pem'), sandbox.ca);
    writeFileSync(join(dir, 'client.pem'), client.cert);
    secret('client.key', client.key);
    secret('mailbox-password', `${trust.password}\n`);
    secret('shared-key', `${sharedKey}\n`);
    writeFileSync(
      join(dir, 'cadmap.config.yaml'),
      [
        "# Written by 'cadmap mesh sandbox' for the local sandbox only.",
        'mesh:',
        `  environment: ${sandbox.url}`,
        `  mailbox: ${trust.id}`,
        '  certFile: client.pem',
        '  keyFile: client.key',
        '  caFile: ca.pem',
        '  store: mesh-store',
        '  notifications:',
        `    workflowIds: [${sandboxWorkflow}]`,
        '',
      ].join('\n'),
    );
    if (values.samples === true) {
      sandbox.deliver({ from: dps.id, to: trust.id, workflowId: sandboxWorkflow, contentType: 'application/json', fileName: 'dps-errors-sample.json', body: JSON.stringify({ errors: [{ receiptId: 'sample-receipt', bundleId: 'sample-bundle', code: 'BUSINESS_RULE', message: 'sample error: not in your receipts', location: 'Bundle.entry[0].resource' }] }) });
      sandbox.deliver({ from: dps.id, to: trust.id, workflowId: sandboxWorkflow, fileName: '../sample.bin', body: 'DPSERR|v9|a format cadmap does not know' });
    }
    const rel = (name: string): string => join(values.dir ?? '.cadmap-mesh-sandbox', name);
    io.stdout.write(
      [
        `MESH sandbox ready on ${sandbox.url} (mutual TLS; mailboxes ${trust.id} = you, ${dps.id} = DPS; workflow ${sandboxWorkflow})`,
        `Wrote ${rel('cadmap.config.yaml')}, ${rel('client.pem')}, ${rel('client.key')}, ${rel('ca.pem')}, ${rel('mailbox-password')}, ${rel('shared-key')}.`,
        'In another shell:',
        `  export CADMAP_MESH_PASSWORD_FILE=${rel('mailbox-password')} CADMAP_MESH_SHARED_KEY_FILE=${rel('shared-key')}`,
        `  cadmap mesh handshake -c ${rel('cadmap.config.yaml')}`,
        `  cadmap mesh poll -c ${rel('cadmap.config.yaml')}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await (dependencies.untilStopped ?? untilSignal)();
    const messages = sandbox.messages();
    io.stdout.write(`MESH sandbox stopped: ${messages.length} messages, ${messages.filter((m) => m.status === 'acknowledged').length} acknowledged.\n`);
    return exitCodes.ok;
  } finally {
    await sandbox.close();
  }
}
