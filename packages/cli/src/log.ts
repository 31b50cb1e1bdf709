import { escapeControls, Redactor } from '@cadmap/core/diagnostics';
import { UsageError, type CliIo } from './io.js';

/** Log levels, least verbose first. `warn` is the default. */
export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof logLevels)[number];

/** `text`: one readable line per entry; `json`: one JSON object per line. */
export const logFormats = ['text', 'json'] as const;
export type LogFormat = (typeof logFormats)[number];

export type LogValue = string | number | boolean | null | undefined | readonly string[];
/** Structured context of a log entry; `undefined` values are left out. */
export type LogFields = Readonly<Record<string, LogValue>>;

/**
 * Structured log lines on standard error: timestamp, level, component, message and fields. Every line passes the
 * redactor, which also knows the secrets the commands loaded ({@link Logger.secret}).
 */
export interface Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, component: string, message: string, fields?: LogFields): void;
  error(component: string, message: string, fields?: LogFields): void;
  warn(component: string, message: string, fields?: LogFields): void;
  info(component: string, message: string, fields?: LogFields): void;
  debug(component: string, message: string, fields?: LogFields): void;
  /** Registers a secret value (password, key, token) to scrub from every line printed from now on. */
  readonly secret: (value: string | undefined) => void;
  /** Scrubs text meant for people (errors, reports, ledger rows): known secrets, tokens, keys, NHS numbers. */
  readonly redact: (text: string) => string;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format?: LogFormat;
  /** Where finished lines go (standard error). */
  readonly write: (line: string) => void;
  readonly redactor?: Redactor;
  readonly now?: () => Date;
}

const rank = (level: LogLevel): number => logLevels.indexOf(level);

const plain = /^[^\s"=\\]+$/;
function fieldText(value: Exclude<LogValue, undefined>): string {
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return plain.test(text) ? text : JSON.stringify(text);
}

/** One line per entry; control characters in messages are escaped so a line cannot forge another. */
const oneLine = (text: string): string => text.replace(/[^\P{Cc}\t]/gu, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));

export function createLogger(options: LoggerOptions): Logger {
  const redactor = options.redactor ?? new Redactor();
  const format = options.format ?? 'text';
  const now = options.now ?? (() => new Date());
  const threshold = rank(options.level);
  const log = (level: LogLevel, component: string, message: string, fields: LogFields = {}): void => {
    if (rank(level) > threshold) {
      return;
    }
    const defined = Object.entries(fields).filter((entry): entry is [string, Exclude<LogValue, undefined>] => entry[1] !== undefined);
    const time = now().toISOString();
    const line =
      format === 'json'
        ? JSON.stringify({ time, level, component, message, ...Object.fromEntries(defined) })
        : `${time} ${level.toUpperCase().padEnd(5)} ${component}: ${oneLine(message)}${defined.map(([key, value]) => ` ${key}=${oneLine(fieldText(value))}`).join('')}`;
    options.write(`${redactor.redact(line)}\n`);
  };
  return {
    level: options.level,
    format,
    enabled: (level) => rank(level) <= threshold,
    log,
    error: (component, message, fields) => log('error', component, message, fields),
    warn: (component, message, fields) => log('warn', component, message, fields),
    info: (component, message, fields) => log('info', component, message, fields),
    debug: (component, message, fields) => log('debug', component, message, fields),
    secret: (value) => redactor.addSecret(value),
    redact: redactor.redact,
  };
}

export const isLogLevel = (value: string): value is LogLevel => (logLevels as readonly string[]).includes(value);
export const isLogFormat = (value: string): value is LogFormat => (logFormats as readonly string[]).includes(value);

/** The global logging flags, taken out of the arguments wherever they stand (before `--`). */
export interface GlobalFlags {
  readonly argv: readonly string[];
  /** How many times `--verbose` was given. */
  readonly verbose: number;
  readonly level?: string;
  readonly format?: string;
  /** `--mapping-root`: the folder the files a mapping names must lie in. */
  readonly mappingRoot?: string;
}

export const globalOptionsHelp = `Global options (before or after the command):
  --verbose                 more log lines on standard error: once for info, twice for debug
  --log-level <level>       error | warn (default) | info | debug; or set CADMAP_LOG
  --log-format <format>     text (default) | json (one object a line); or set CADMAP_LOG_FORMAT
  --mapping-root <dir>      the folder the files a mapping names (imports, lookups) must lie in; default: the
                            nearest folder above it with a .cadmap-root file, else the mapping's own folder;
                            or set CADMAP_MAPPING_ROOT
Log lines and messages never show secrets; NHS numbers show their last three digits only.`;

export function extractGlobalFlags(argv: readonly string[]): GlobalFlags {
  const rest: string[] = [];
  let verbose = 0;
  let level: string | undefined;
  let format: string | undefined;
  let mappingRoot: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--verbose') {
      verbose++;
      continue;
    }
    const option = /^--(log-level|log-format|mapping-root)(?:=(.*))?$/.exec(arg);
    if (!option) {
      rest.push(arg);
      continue;
    }
    const value = option[2] ?? argv[++i];
    if (value === undefined || value === '') {
      throw new UsageError(`--${option[1]} needs a value.`);
    }
    if (option[1] === 'log-level') {
      level = value;
    } else if (option[1] === 'log-format') {
      format = value;
    } else {
      mappingRoot = value;
    }
  }
  return { argv: rest, verbose, ...(level !== undefined ? { level } : {}), ...(format !== undefined ? { format } : {}), ...(mappingRoot !== undefined ? { mappingRoot } : {}) };
}

/** The level and format from the flags (which win) and CADMAP_LOG / CADMAP_LOG_FORMAT; `problems` are bad env values. */
export function logSettings(env: CliIo['env'], flags: Omit<GlobalFlags, 'argv'> = { verbose: 0 }): { level: LogLevel; format: LogFormat; problems: string[] } {
  const problems: string[] = [];
  if (flags.level !== undefined && !isLogLevel(flags.level)) {
    throw new UsageError(`--log-level is one of ${logLevels.join(', ')}, not '${flags.level}'.`);
  }
  if (flags.format !== undefined && !isLogFormat(flags.format)) {
    throw new UsageError(`--log-format is text or json, not '${flags.format}'.`);
  }
  const fromEnv = env.CADMAP_LOG?.trim().toLowerCase();
  let envLevel: LogLevel | undefined;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isLogLevel(fromEnv)) {
      envLevel = fromEnv;
    } else {
      problems.push(`CADMAP_LOG=${fromEnv} is not a log level (${logLevels.join(', ')}); using warn.`);
    }
  }
  const formatFromEnv = env.CADMAP_LOG_FORMAT?.trim().toLowerCase();
  let envFormat: LogFormat | undefined;
  if (formatFromEnv !== undefined && formatFromEnv !== '') {
    if (isLogFormat(formatFromEnv)) {
      envFormat = formatFromEnv;
    } else {
      problems.push(`CADMAP_LOG_FORMAT=${formatFromEnv} is not text or json; using text.`);
    }
  }
  const byVerbose: LogLevel | undefined = flags.verbose >= 2 ? 'debug' : flags.verbose === 1 ? 'info' : undefined;
  const candidates = [envLevel, byVerbose].filter((level): level is LogLevel => level !== undefined);
  const level = flags.level ?? candidates.sort((a, b) => rank(b) - rank(a))[0] ?? 'warn';
  return { level, format: flags.format ?? envFormat ?? 'text', problems };
}

type Stream = CliIo['stderr'];
const rawOf = new WeakMap<Stream, Stream>();

/** The CLI's own terminal sequences (colours, clearing the progress line); any other control character is data. */
// eslint-disable-next-line no-control-regex -- control characters are what the pattern is for
const ownOrControl = /\r\u001b\[2K|\u001b\[[0-9]{1,2}m|[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** `text` with control characters escaped (`\u001B`, `\r`) but for the CLI's own colours and progress line. */
export function terminalSafe(text: string): string {
  return text.replace(ownOrControl, (match) => (match.length > 1 ? match : escapeControls(match)));
}

/**
 * A stream whose every write is redacted first and has control characters from data escaped (so CAD data cannot
 * clear the screen, write the clipboard with OSC 52 or overwrite a line with a lone CR); {@link rawStream} gives
 * back the original.
 */
export function redactingStream(stream: Stream, redact: (text: string) => string): Stream {
  const wrapped: Stream = {
    write: (text: string) => stream.write(terminalSafe(redact(text))),
    ...(stream.isTTY !== undefined ? { isTTY: stream.isTTY } : {}),
  };
  rawOf.set(wrapped, rawStream(stream));
  return wrapped;
}

/**
 * The stream under any redaction: only for payloads (bundles on standard output) and for sandbox set-up text that
 * must show the sandbox's own test credentials.
 */
export function rawStream(stream: Stream): Stream {
  return rawOf.get(stream) ?? stream;
}

const fallback = new WeakMap<CliIo, Logger>();

/** The logger of this run (set up by `main`), or one made from CADMAP_LOG when a command runs on its own. */
export function loggerOf(io: CliIo): Logger {
  if (io.log) {
    return io.log;
  }
  let logger = fallback.get(io);
  if (!logger) {
    const { level, format } = logSettings(io.env);
    const stderr = rawStream(io.stderr);
    logger = createLogger({ level, format, write: (line) => void stderr.write(line) });
    fallback.set(io, logger);
  }
  return logger;
}
