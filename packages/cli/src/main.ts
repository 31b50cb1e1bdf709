import { readFileSync } from 'node:fs';
import { Redactor } from '@cadmap/core/diagnostics';
import { exitCodes, MappingInvalid, UsageError, type CliIo } from './io.js';
import { createLogger, extractGlobalFlags, globalOptionsHelp, logSettings, rawStream, redactingStream, type Logger } from './log.js';

type Command = (io: CliIo, argv: readonly string[]) => Promise<number>;

interface LoadedCommand {
  readonly run: Command;
  readonly help: string;
}

/**
 * The commands. Each module is imported only when its command runs, so `cadmap check` does not pay for the
 * mapping engine, the adapters or SQLite at start-up.
 */
const commands: Record<string, { readonly summary: string; readonly load: () => Promise<LoadedCommand> }> = {
  map: { summary: 'map CAD export files to FHIR bundles', load: async () => import('./commands/map.js').then((m) => ({ run: m.mapCommand, help: m.mapHelp })) },
  check: { summary: 'check FHIR JSON against R4, UK Core and the ADS profiles, offline', load: async () => import('./commands/check.js').then((m) => ({ run: m.checkCommand, help: m.checkHelp })) },
  lint: { summary: 'check a mapping without data', load: async () => import('./commands/lint.js').then((m) => ({ run: m.lintCommand, help: m.lintHelp })) },
  test: { summary: 'run the golden cases of a mapping', load: async () => import('./commands/test.js').then((m) => ({ run: m.testCommand, help: m.testHelp })) },
  demo: { summary: 'map and check the bundled sample exports of every vendor (the README main job)', load: async () => import('./commands/demo.js').then((m) => ({ run: m.demoCommand, help: m.demoHelp })) },
  explain: { summary: 'show which rule and cell produced each element of one record', load: async () => import('./commands/explain.js').then((m) => ({ run: m.explainCommand, help: m.explainHelp })) },
  submit: { summary: 'map, check and submit bundles to the Ambulance Data Submission API (DPS)', load: async () => import('./commands/submit.js').then((m) => ({ run: m.submitCommand, help: m.submitHelp })) },
  status: { summary: "what the submission ledger holds: records by state, or one record's history", load: async () => import('./commands/status.js').then((m) => ({ run: m.statusCommand, help: m.statusHelp })) },
  resubmit: { summary: 'send again the records the ledger holds as failed', load: async () => import('./commands/resubmit.js').then((m) => ({ run: m.resubmitCommand, help: m.resubmitHelp })) },
  report: { summary: 'write a static HTML report: items filled, errors by rule and column, submission states', load: async () => import('./commands/report.js').then((m) => ({ run: m.reportCommand, help: m.reportHelp })) },
  sandbox: { summary: 'run a local DPS over HTTPS and write a config to point cadmap at it', load: async () => import('./commands/sandbox.js').then((m) => ({ run: m.sandboxCommand, help: m.sandboxHelp })) },
  cqi: { summary: 'NHS Pathways CQI cases: map, check, submit (mutual TLS, durable queue), local sandbox', load: async () => import('./commands/cqi.js').then((m) => ({ run: m.cqiCommand, help: m.cqiHelp })) },
  mesh: { summary: 'NHS MESH: poll DPS error notifications and reconcile them to source rows; send, track, handshake', load: async () => import('./commands/mesh.js').then((m) => ({ run: m.meshCommand, help: m.meshHelp })) },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'cadmap: CAD exports to NHS England Ambulance Data Set (FHIR R4) bundles',
    '',
    'Usage: cadmap <command> [options]',
    '',
    ...Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    globalOptionsHelp,
    '',
    "Run 'cadmap <command> --help' for a command's options.",
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the CLI with the given arguments; returns the exit code. Never calls process.exit. Sets up the run's logger
 * from the global flags and CADMAP_LOG, and redacts everything written to standard output and error (known secrets,
 * tokens, keys, NHS numbers) in this one place; payloads go out unredacted through `rawStream`.
 */
export async function main(io: CliIo, argv: readonly string[]): Promise<number> {
  let flags: ReturnType<typeof extractGlobalFlags>;
  let settings: ReturnType<typeof logSettings>;
  try {
    flags = extractGlobalFlags(argv);
    settings = logSettings(io.env, flags);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cadmap: ${error.message}\n\n${usage()}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
  const redactor = new Redactor();
  const stderr = rawStream(io.stderr);
  const log = createLogger({ level: settings.level, format: settings.format, redactor, write: (line) => void stderr.write(line) });
  const run: CliIo = {
    ...io,
    stdout: redactingStream(io.stdout, redactor.redact),
    stderr: redactingStream(io.stderr, redactor.redact),
    log,
    ...(flags.mappingRoot !== undefined ? { mappingRoot: flags.mappingRoot } : {}),
  };
  for (const problem of settings.problems) {
    log.warn('cli', problem);
  }
  const started = performance.now();
  let code: number;
  try {
    code = await dispatch(run, flags.argv, log);
  } catch (error) {
    run.stderr.write(`cadmap: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\nPlease report this with the command you ran.\n`);
    code = 70;
  }
  log.debug('cli', 'done', { exitCode: code, ms: Math.round(performance.now() - started) });
  return code;
}

async function dispatch(io: CliIo, argv: readonly string[], log: Logger): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return exitCodes.ok;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`Unknown command '${name}'.\n\n${usage()}\n`);
    return exitCodes.usage;
  }
  log.debug('cli', `cadmap ${name}`, { version: version(), logLevel: log.level, node: process.version });
  const loaded = await command.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${loaded.help}\n`);
    return exitCodes.ok;
  }
  try {
    return await loaded.run(io, rest);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cadmap ${name}: ${error.message}\n\n${loaded.help}\n`);
      return exitCodes.usage;
    }
    if (error instanceof MappingInvalid) {
      io.stderr.write(`cadmap ${name}: ${error.message} Nothing was mapped.\n`);
      return exitCodes.usage;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr.write(`cadmap ${name}: ${error.message}\n\n${loaded.help}\n`);
      return exitCodes.usage;
    }
    if (error instanceof TypeError && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`cadmap ${name}: ${error.message}\n\n${loaded.help}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}
