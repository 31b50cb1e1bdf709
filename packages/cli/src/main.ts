import { readFileSync } from 'node:fs';
import { checkCommand, checkHelp } from './commands/check.js';
import { cqiCommand, cqiHelp } from './commands/cqi.js';
import { demoCommand, demoHelp } from './commands/demo.js';
import { explainCommand, explainHelp } from './commands/explain.js';
import { lintCommand, lintHelp } from './commands/lint.js';
import { mapCommand, mapHelp } from './commands/map.js';
import { testCommand, testHelp } from './commands/test.js';
import { submitCommand, submitHelp } from './commands/submit.js';
import { sandboxCommand, sandboxHelp } from './commands/sandbox.js';
import { MappingInvalid } from './common.js';
import { exitCodes, UsageError, type CliIo } from './io.js';

type Command = (io: CliIo, argv: readonly string[]) => Promise<number>;

const commands: Record<string, { run: Command; help: string; summary: string }> = {
  map: { run: mapCommand, help: mapHelp, summary: 'map CAD export files to FHIR bundles' },
  check: { run: checkCommand, help: checkHelp, summary: 'check FHIR JSON against R4, UK Core and the ADS profiles, offline' },
  lint: { run: lintCommand, help: lintHelp, summary: 'check a mapping without data' },
  test: { run: testCommand, help: testHelp, summary: 'run the golden cases of a mapping' },
  demo: { run: demoCommand, help: demoHelp, summary: 'map the bundled sample exports of every vendor (the README main job)' },
  explain: { run: explainCommand, help: explainHelp, summary: 'show which rule and cell produced each element of one record' },
  submit: { run: submitCommand, help: submitHelp, summary: 'map, check and submit bundles to the Ambulance Data Submission API (DPS)' },
  sandbox: { run: sandboxCommand, help: sandboxHelp, summary: 'run a local DPS over HTTPS and write a config to point cadmap at it' },
  cqi: { run: cqiCommand, help: cqiHelp, summary: 'NHS Pathways CQI cases: map, check, submit (mutual TLS, durable queue), local sandbox' },
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
    "Run 'cadmap <command> --help' for a command's options.",
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI with the given arguments; returns the exit code. Never calls process.exit. */
export async function main(io: CliIo, argv: readonly string[]): Promise<number> {
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
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.help}\n`);
    return exitCodes.ok;
  }
  try {
    return await command.run(io, rest);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cadmap ${name}: ${error.message}\n\n${command.help}\n`);
      return exitCodes.usage;
    }
    if (error instanceof MappingInvalid) {
      io.stderr.write(`cadmap ${name}: ${error.message} Nothing was mapped.\n`);
      return exitCodes.usage;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr.write(`cadmap ${name}: ${error.message}\n\n${command.help}\n`);
      return exitCodes.usage;
    }
    if (error instanceof TypeError && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`cadmap ${name}: ${error.message}\n\n${command.help}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}
