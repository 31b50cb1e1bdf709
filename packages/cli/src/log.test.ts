import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DpsEvent } from '@cadmap/adapter-dps';
import type { CqiEvent } from '@cadmap/adapter-cqi';
import type { MeshEvent } from '@cadmap/adapter-mesh';
import { afterAll, describe, expect, it } from 'vitest';
import { cqiEventLogger, dpsEventLogger, meshEventLogger } from './adapter-log.js';
import { UsageError, type CliIo } from './io.js';
import { createLogger, extractGlobalFlags, logSettings, loggerOf, rawStream, redactingStream, type LogLevel } from './log.js';
import { main } from './main.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cadmap-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function captureIo(env: Record<string, string | undefined> = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return { cwd: dir, env, stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, out: () => out, err: () => err };
}

const at = new Date('2026-03-01T10:00:00.000Z');
function bufferLogger(level: LogLevel, format: 'text' | 'json' = 'text'): ReturnType<typeof createLogger> & { lines(): string[] } {
  let text = '';
  const log = createLogger({ level, format, now: () => at, write: (line) => (text += line) });
  return Object.assign(log, { lines: () => text.split('\n').filter((line) => line !== '') });
}

describe('global logging flags', () => {
  it('are taken out wherever they stand, up to --', () => {
    expect(extractGlobalFlags(['--verbose', 'submit', '-m', 'm.yaml', '--log-level=debug', 'in.csv', '--verbose', '--log-format', 'json', '--', '--verbose'])).toEqual({
      argv: ['submit', '-m', 'm.yaml', 'in.csv', '--', '--verbose'],
      verbose: 2,
      level: 'debug',
      format: 'json',
    });
    expect(() => extractGlobalFlags(['map', '--log-level'])).toThrow(UsageError);
  });

  it('set the level: --log-level wins, else the more verbose of --verbose and CADMAP_LOG; warn by default', () => {
    expect(logSettings({})).toEqual({ level: 'warn', format: 'text', problems: [] });
    expect(logSettings({}, { verbose: 1 }).level).toBe('info');
    expect(logSettings({}, { verbose: 2 }).level).toBe('debug');
    expect(logSettings({ CADMAP_LOG: 'DEBUG', CADMAP_LOG_FORMAT: 'json' }, { verbose: 1 })).toEqual({ level: 'debug', format: 'json', problems: [] });
    expect(logSettings({ CADMAP_LOG: 'debug' }, { verbose: 0, level: 'error' }).level).toBe('error');
    expect(logSettings({ CADMAP_LOG: 'loud' }).problems).toEqual(['CADMAP_LOG=loud is not a log level (error, warn, info, debug); using warn.']);
    expect(() => logSettings({}, { verbose: 0, level: 'loud' })).toThrow(/--log-level is one of error, warn, info, debug/);
    expect(() => logSettings({}, { verbose: 0, format: 'xml' })).toThrow(/--log-format is text or json/);
  });
});

describe('logger', () => {
  it('writes structured text lines at or above its level', () => {
    const log = bufferLogger('info');
    log.debug('dps', 'not shown');
    log.info('dps', 'access token obtained', { status: 200, expiresIn: 3599, note: 'two words', missing: undefined, list: ['a', 'b'] });
    log.error('cli', 'broken');
    expect(log.lines()).toEqual(['2026-03-01T10:00:00.000Z INFO  dps: access token obtained status=200 expiresIn=3599 note="two words" list=a,b', '2026-03-01T10:00:00.000Z ERROR cli: broken']);
    expect(log.enabled('debug')).toBe(false);
    expect(log.enabled('warn')).toBe(true);
  });

  it('writes one JSON object per line in json format', () => {
    const log = bufferLogger('debug', 'json');
    log.debug('mesh', 'GET /messageexchange/X/inbox', { attempt: 1 });
    expect(log.lines().map((line) => JSON.parse(line) as unknown)).toEqual([{ time: '2026-03-01T10:00:00.000Z', level: 'debug', component: 'mesh', message: 'GET /messageexchange/X/inbox', attempt: 1 }]);
  });

  it('keeps each entry on one line, whatever the message holds', () => {
    const log = bufferLogger('debug');
    log.info('map', 'record A\n2026-03-01T10:00:00.000Z ERROR forged', { file: 'x\ny' });
    expect(log.lines()).toHaveLength(1);
    expect(log.lines()[0]).toContain('record A\\n2026');
  });

  it('scrubs registered secrets, tokens, keys and NHS numbers from every line', () => {
    for (const format of ['text', 'json'] as const) {
      const log = bufferLogger('debug', format);
      log.secret('mailbox-pa55word');
      log.info('mesh', 'login with mailbox-pa55word as NHSMESH X26:nonce:1:202601010000:abcdef0123', { header: 'Bearer abc.def.ghi123', patient: '943 476 5919', key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----' });
      const text = log.lines().join('\n');
      expect(text).not.toMatch(/mailbox-pa55word|abcdef0123|abc\.def|943 476 5919|9434765919|MIIB/);
      expect(text).toContain('*******919');
    }
  });
});

describe('redacting streams', () => {
  it('redact every write; the raw stream underneath carries payloads unchanged', () => {
    let written = '';
    const stream = { write: (text: string) => (written += text), isTTY: true };
    const wrapped = redactingStream(stream, createLogger({ level: 'warn', write: () => undefined }).redact);
    expect(wrapped.isTTY).toBe(true);
    wrapped.write('patient 9434765919\n');
    rawStream(wrapped).write('{"nhs":"9434765919"}\n');
    expect(written).toBe('patient *******919\n{"nhs":"9434765919"}\n');
    expect(rawStream(stream)).toBe(stream);
  });

  it('a command run on its own gets a logger from CADMAP_LOG', () => {
    const io = captureIo({ CADMAP_LOG: 'debug' });
    const log = loggerOf(io);
    expect(log.level).toBe('debug');
    expect(loggerOf(io)).toBe(log);
    log.debug('cli', 'hello');
    expect(io.err()).toMatch(/DEBUG cli: hello\n$/);
  });
});

describe('main', () => {
  it('logs at the level asked for, as JSON lines, and redacts what it prints', async () => {
    const io = captureIo();
    const code = await main(io, ['status', '--log-format', 'json', '--verbose', '--verbose', '--ledger', 'no-such-9434765919.sqlite']);
    expect(code).toBe(2);
    const lines = io.err().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: string; component: string; message: string });
    expect(lines[0]).toMatchObject({ level: 'debug', component: 'cli', message: 'cadmap status' });
    expect(lines.at(-1)).toMatchObject({ level: 'debug', component: 'cli', message: 'done' });
    expect(io.err()).toContain('no-such-*******919.sqlite');
    expect(io.err()).not.toContain('9434765919');
  });

  it('is quiet by default, warns about a bad CADMAP_LOG and refuses a bad --log-level', async () => {
    const quiet = captureIo();
    await main(quiet, ['status', '--ledger', 'none.sqlite']);
    expect(quiet.err()).not.toMatch(/ (DEBUG|INFO) /);
    const warned = captureIo({ CADMAP_LOG: 'chatty' });
    await main(warned, ['status', '--ledger', 'none.sqlite']);
    expect(warned.err()).toMatch(/WARN {2}cli: CADMAP_LOG=chatty is not a log level/);
    const refused = captureIo();
    expect(await main(refused, ['--log-level', 'chatty', 'status'])).toBe(2);
    expect(refused.err()).toMatch(/--log-level is one of/);
  });

  it('leaves bundles written to standard output intact while masking NHS numbers in messages', async () => {
    const io = captureIo();
    const code = await main(io, ['map', '--mapping', join(root, 'mappings/northwind-csv/mapping.yaml'), join(root, 'mappings/northwind-csv/sample'), '--log-level', 'debug', '--quiet']);
    expect(code).toBe(0);
    expect(io.out()).toContain('9998970415');
    expect(io.err()).toMatch(/DEBUG map: record 24000139: mapped file=\S+NWCAD_2024_calls\.csv row=1/);
    expect(io.err()).toMatch(/INFO {2}map: \S+NWCAD_2024_calls\.csv: 64 record\(s\) mapped=64/);
    expect(io.err()).not.toContain('9998970415');
  });
});

describe('adapter events as log lines', () => {
  it('show requests and answers at debug, retries and outcomes at info, never secrets', () => {
    const log = bufferLogger('debug');
    log.secret('sandbox-api-key-1');
    const dps = dpsEventLogger(log);
    const events: DpsEvent[] = [
      { type: 'token-request', url: 'https://dps.example/oauth2/token' },
      { type: 'token-response', url: 'https://dps.example/oauth2/token', status: 200, durationMs: 12, expiresInSeconds: 3599 },
      { type: 'request', service: 'dps', method: 'POST', url: 'https://dps.example/ads/$process-message', key: 'CALL1', attempt: 1, requestId: 'r1', correlationId: 'c1', bytes: 2048 },
      { type: 'response', service: 'dps', method: 'POST', url: 'https://dps.example/ads/$process-message', key: 'CALL1', attempt: 1, requestId: 'r1', status: 503, durationMs: 40, code: 'DPS_UNAVAILABLE' },
      { type: 'retry', service: 'dps', method: 'POST', url: 'https://dps.example/ads/$process-message', key: 'CALL1', attempt: 1, code: 'DPS_UNAVAILABLE', waitMs: 500, reason: 'backoff' },
      { type: 'result', key: 'CALL1', status: 'accepted', attempts: 2, receipt: 'rc1', possibleDuplicate: false },
    ];
    events.forEach(dps);
    const mesh: MeshEvent[] = [
      { type: 'request', service: 'mesh', method: 'GET', url: '/messageexchange/X26/inbox', attempt: 1 },
      { type: 'downloaded', messageId: 'M1', messageType: 'DATA', fileName: 'errors.json', chunks: 1, bytes: 10 },
      { type: 'acknowledged', messageId: 'M1' },
    ];
    mesh.forEach(meshEventLogger(log));
    const cqi: CqiEvent[] = [
      { type: 'queued', caseId: 'K1', queueId: 1, mediaType: 'application/json', bytes: 100 },
      { type: 'postponed', caseId: 'K1', queueId: 1, reason: 'unavailable', status: 503, attempts: 1, waitMs: 30_000, nextAttemptAt: at.getTime() },
    ];
    cqi.forEach(cqiEventLogger(log));
    const lines = log.lines().map((line) => line.slice(25));
    expect(lines).toEqual([
      'DEBUG dps: token request POST https://dps.example/oauth2/token',
      'INFO  dps: access token obtained status=200 ms=12 expiresIn=3599',
      'DEBUG dps: POST https://dps.example/ads/$process-message key=CALL1 attempt=1 requestId=r1 correlationId=c1 bytes=2048',
      'DEBUG dps: POST https://dps.example/ads/$process-message answered 503 key=CALL1 attempt=1 requestId=r1 ms=40 code=DPS_UNAVAILABLE',
      'INFO  dps: POST https://dps.example/ads/$process-message: retrying in 500 ms (backoff) key=CALL1 attempt=1 code=DPS_UNAVAILABLE',
      'DEBUG dps: bundle accepted key=CALL1 attempts=2 receipt=rc1',
      'DEBUG mesh: GET /messageexchange/X26/inbox attempt=1',
      'INFO  mesh: downloaded message M1 messageType=DATA fileName=errors.json chunks=1 bytes=10',
      'INFO  mesh: acknowledged message M1',
      'DEBUG cqi: queue: case K1 queued queueId=1 mediaType=application/json bytes=100',
      'INFO  cqi: queue: case K1 kept, service unavailable; next attempt in 30 s queueId=1 status=503 attempts=1 nextAttemptAt=2026-03-01T10:00:00.000Z',
    ]);
  });

  it('skip lines below the level', () => {
    const log = bufferLogger('info');
    dpsEventLogger(log)({ type: 'request', service: 'dps', method: 'POST', url: 'https://dps.example/x', key: 'K', attempt: 1, requestId: 'r', correlationId: 'c', bytes: 1 });
    expect(log.lines()).toEqual([]);
  });
});
