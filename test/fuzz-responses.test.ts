import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, defaultCqiExceptionCodes, dpsNotificationPayload, tokenErrors, type TestCa } from '@cadmap/sandbox';
import { CqiClient, parseExceptionCodes, parseExceptions, type PostOutcome } from '../packages/adapter-cqi/src/index.js';
import { maxRetryAfterMs } from '../packages/adapter-cqi/src/transport/client.js';
import { createDpsClient, dpsCodes, retryAfterMs, type SubmissionResult } from '../packages/adapter-dps/src/index.js';
import { classifyNetworkError, jsonObject } from '../packages/adapter-dps/src/http.js';
import { createMeshClient, MeshError, meshCodes, MeshStore, pollInbox, readNotification, safeFileName, safeSegment, type MeshClient } from '../packages/adapter-mesh/src/index.js';
import { isDiagnosticCode } from '../packages/core/src/index.js';
import { applyEdits, fuzzRunner, longRunBudgetMs, longRunCases, textEdit, type TextEdit } from './support/fuzzing.js';
import { endlessCap, startScriptedServer, type Fault, type Reply, type ScriptedServer, type SeenRequest } from './support/scripted-server.js';

/**
 * Fuzzing of what the national services answer: a scripted HTTPS server on 127.0.0.1 answers every call of the DPS,
 * MESH and CQI adapters with responses mutated from the documented shapes or generated from scratch (any status,
 * lying or garbage headers, hostile Mex-* values, truncated / deep / huge / non-UTF-8 bodies, `__proto__` keys) and
 * with connection faults (close, reset, stall, endless body). Every call must resolve to a result or a coded
 * diagnostic: no uncaught exception, no unhandled rejection, no hang (each case is time-boxed and the adapters get
 * short timeouts), no endless read, nothing written outside the MESH store, Object.prototype untouched. The parsers
 * that are pure functions are fuzzed directly at a higher count.
 *
 * The CI size fits about 20 s; `npm run fuzz` sets FUZZ_RUNS, the number of cases spread over the properties.
 */
const networkProperties = 5;
const pureProperties = 3;
/** Cases per network property (the long run gives them most of FUZZ_RUNS), and per pure-function property. */
const networkRuns = longRunCases !== undefined ? Math.ceil((longRunCases * 0.5) / networkProperties) : 400;
const pureRuns = longRunCases !== undefined ? Math.ceil((longRunCases * 0.5) / pureProperties) : 3000;
/** Wall-clock budget per property: the CI run stops early rather than overrun; a long run gets hours. */
const networkBudgetMs = longRunCases !== undefined ? longRunBudgetMs : 2_500;
const pureBudgetMs = longRunCases !== undefined ? longRunBudgetMs : 900;
/** One case that takes longer than this has hung (adapter timeouts are 250 ms; a case makes a few requests). */
const caseTimeoutMs = 20_000;
const testTimeoutMs = networkBudgetMs + 120_000;
/** The adapters' per-request timeout in these tests: short, so stalls cost little. */
const adapterTimeoutMs = 250;
/** Requests one case may make before the server answers with a reply that ends the flow. */
const requestCap = 40;

const runFuzz = fuzzRunner('fuzz-responses');
/** Runs an async property under its budget and counts the cases it ran. */
const fuzz = <T>(name: string, kind: 'network' | 'pure', arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> =>
  runFuzz(name, arbitrary, check, kind === 'network' ? { runs: networkRuns, budgetMs: networkBudgetMs, caseTimeoutMs } : { runs: pureRuns, budgetMs: pureBudgetMs, caseTimeoutMs });

// ---------------------------------------------------------------------------------------------------------------
// invariants checked after every case

const stray: unknown[] = [];
const onStray = (error: unknown): void => {
  stray.push(error);
};
const prototypeShape = (): string => [Object.prototype, Array.prototype, Function.prototype].map((p) => Reflect.ownKeys(p).map(String).sort().join(',')).join('|');
let prototypesBefore = '';

beforeAll(() => {
  prototypesBefore = prototypeShape();
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
});
afterAll(() => {
  process.off('unhandledRejection', onStray);
  process.off('uncaughtException', onStray);
});

/** No stray exception or rejection, and no prototype reached by a `__proto__` or `constructor` key. */
async function expectCleanProcess(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (stray.length > 0) {
    const found = stray.splice(0);
    expect.fail(`uncaught exception or unhandled rejection: ${found.map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e))).join('\n')}`);
  }
  const probe: Record<string, unknown> = {};
  expect(probe['polluted']).toBeUndefined();
  expect(prototypeShape()).toBe(prototypesBefore);
}

// ---------------------------------------------------------------------------------------------------------------
// responses: seeds from the documented shapes, and their mutations

/** A documented (or sandbox) answer of one endpoint. */
interface Seed {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string | Buffer;
}
const json = (status: number, body: unknown, headers: readonly (readonly [string, string])[] = []): Seed => ({ status, headers: [['content-type', 'application/json'], ...headers], body: JSON.stringify(body) });
const text = (status: number, body: string, contentType = 'text/plain'): Seed => ({ status, headers: body === '' ? [] : [['content-type', contentType]], body });

/** Values that stand in for something only known when the case runs. */
interface Placeholders {
  readonly root: string;
  readonly evil: string;
}
const substitute = (value: string, places: Placeholders): string =>
  value.replaceAll('{ROOT}', places.root).replaceAll('{EVIL}', places.evil).replaceAll('{EVIL_HOST}', places.evil.replace(/^https:\/\//, '')).replaceAll('{PID}', String(process.pid));

/** Names a hostile server might put where a file name, id, path or URL is expected. */
const hostileNames = [
  '../../cadmap-fuzz-escape', '../../../../../../tmp/cadmap-fuzz-escape-{PID}', '/tmp/cadmap-fuzz-escape-{PID}', '{ROOT}/escape.dat', '{ROOT}/a/escape.dat', '..', '.', '', ' ',
  '..\\..\\escape', 'C:\\Windows\\escape', '\\\\server\\share\\escape', 'a/../../escape', './.hidden', '~/.ssh/id_rsa', '%2e%2e%2fescape', 'file:///etc/passwd',
  '{EVIL}/steal', '//{EVIL_HOST}/steal', 'https://{EVIL_HOST}/messageexchange/X26ABC1/inbox', 'http://[', 'javascript:alert(1)', 'http://127.0.0.1:1/x',
  '__proto__', 'constructor', 'prototype', 'toString', 'x\u0000y', 'x\u0001y', '\u007f', 'é', '\uD800', '\u2028', 'x'.repeat(300), 'x'.repeat(5000),
];
const retryAfterValues = ['0', '1', '2', '120', '3600', '86400', '99999999999999999999', '1'.repeat(400), '-1', '1e400', '1.5', 'NaN', 'Infinity', ' 5 ', 'Wed, 21 Oct 2015 07:28:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT', 'Mon, 01 Jan 1900 00:00:00 GMT', 'soon', '', '0x10', '5, 6'];
const contentTypes = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/html', 'text/plain', 'application/xml', 'application/octet-stream', 'application/vnd.mesh.v2+json', 'multipart/form-data; boundary=x', 'application/gzip', ''];
const mexNames = ['mex-filename', 'mex-localid', 'mex-messageid', 'mex-messagetype', 'mex-chunk-range', 'mex-linkedmsgid', 'mex-statuscode', 'mex-statusdescription', 'mex-statussuccess', 'mex-subject', 'mex-workflowid', 'mex-from', 'mex-to', 'mex-content-type', 'mex-content-checksum'];
const chunkRanges = ['1:1', '1:2', '2:2', '1:3', '2:1', '0:0', '1:0', '1:99999999999999999999', '-1:3', '1:', ':1', 'a:b', '1:2:3', ' 1 : 2 '];

const headerName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('content-type', 'retry-after', 'content-encoding', 'location', 'date', 'set-cookie', 'www-authenticate', ...mexNames) },
  { weight: 1, arbitrary: fc.constantFrom('content-length', 'transfer-encoding', 'connection', 'trailer', 'upgrade', 'bad name', 'a:b', '', 'ä', 'x\ry', '__proto__', 'constructor') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/) },
);
const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...hostileNames, ...retryAfterValues, ...contentTypes, ...chunkRanges, 'gzip', 'br', 'deflate', 'identity', 'gzip, gzip', 'REPORT', 'DATA', 'report', 'ERROR', 'SUCCESS', '14', '00') },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 8_000, 17_000, 70_000).map((n) => 'v'.repeat(n)) },
);

type HeaderEdit = { readonly op: 'add' | 'set' | 'delete'; readonly name: string; readonly value: string };
const headerEdit: fc.Arbitrary<HeaderEdit> = fc.record({ op: fc.constantFrom('add', 'set', 'delete'), name: headerName, value: headerValue });

type StatusSpec = { readonly kind: 'code'; readonly code: number } | { readonly kind: 'raw'; readonly text: string };
const oddStatuses = [100, 101, 102, 103, 199, 200, 201, 202, 203, 204, 205, 206, 207, 226, 299, 300, 301, 302, 303, 304, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 425, 426, 428, 429, 431, 451, 499, 500, 501, 502, 503, 504, 505, 507, 511, 599];
const status: fc.Arbitrary<StatusSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...oddStatuses).map((code) => ({ kind: 'code' as const, code })) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 599 }).map((code) => ({ kind: 'code' as const, code })) },
  { weight: 1, arbitrary: fc.constantFrom('0', '99', '600', '999', '1000', '-1', '20', '2000', 'abc', '', '0200', '2.0').map((raw) => ({ kind: 'raw' as const, text: raw })) },
);

/** Tokens spliced into response bodies: JSON syntax, keys the adapters read, prototype keys, odd characters. */
const bodyTokens = [
  '"', '{', '}', '[', ']', ':', ',', 'null', 'true', '1e999', '-0', '\\u0000', '\\ud800', '\u2028', '\uFEFF', '\0', '\r\n', '\n', '"\\',
  '"__proto__":{"polluted":"yes"},', '"constructor":{"prototype":{"polluted":"yes"}},', '{"__proto__":{"polluted":"yes"}}',
  '"message":"dup",', '"access_token":"dup",', '"expires_in":"1e308",', '"messages":["../../x"],', '"links":{"next":"{EVIL}/steal"},', '"exceptions":[{"code":"X"}],', '"detail":[{"code":"17"}],',
  '</html>', '<?xml version="1.0"?><soap:Envelope/>', 'x'.repeat(300), '{ROOT}', '../',
];

const edit = textEdit(fc.oneof(fc.constantFrom(...bodyTokens), fc.string({ maxLength: 12 })));

/** Values a JSON member may be replaced with: wrong types, extremes, hostile strings, nested junk. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, -1e308, 3599.5, '', ' ', 'NaN', 'Infinity', '-1', '1e400', [], {}, [[[]]], ['a', 1, null], { code: 1 }, { next: '{EVIL}/steal' }) },
  { weight: 3, arbitrary: fc.constantFrom(...hostileNames) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
type JsonOp = { readonly at: number; readonly action: 'replace' | 'delete' | 'proto' | 'constructor'; readonly value: unknown };
const jsonOp: fc.Arbitrary<JsonOp> = fc.record({ at: fc.nat(), action: fc.constantFrom('replace', 'replace', 'delete', 'proto', 'constructor'), value: hostileJson });

/** Applies structural edits to a parsed JSON value (a fresh copy), addressing members by index in document order. */
function applyJsonOps(source: unknown, ops: readonly JsonOp[]): unknown {
  let root: unknown = structuredClone(source);
  for (const op of ops) {
    const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) {
        node.forEach((child, index) => {
          slots.push({ parent: node, key: index });
          walk(child);
        });
      } else if (node !== null && typeof node === 'object') {
        for (const [key, child] of Object.entries(node)) {
          slots.push({ parent: node as Record<string, unknown>, key });
          walk(child);
        }
      }
    };
    walk(root);
    const slot = slots[op.at % Math.max(1, slots.length)];
    const value = structuredClone(op.value);
    const container = slot !== undefined && !Array.isArray(slot.parent) ? slot.parent : root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Record<string, unknown>) : undefined;
    switch (op.action) {
      case 'replace':
        if (slot === undefined) {
          root = value;
        } else if (Array.isArray(slot.parent)) {
          slot.parent[slot.key as number] = value;
        } else {
          slot.parent[slot.key] = value;
        }
        break;
      case 'delete':
        if (slot !== undefined && Array.isArray(slot.parent)) {
          slot.parent.splice(slot.key as number, 1);
        } else if (slot !== undefined) {
          delete (slot.parent as Record<string, unknown>)[slot.key as string];
        }
        break;
      case 'proto':
        if (container !== undefined) {
          Object.defineProperty(container, '__proto__', { value: { polluted: 'yes', value }, enumerable: true, writable: true, configurable: true });
        }
        break;
      case 'constructor':
        if (container !== undefined) {
          container['constructor'] = { prototype: { polluted: 'yes' } };
        }
        break;
    }
  }
  return root;
}

type BodySpec =
  | { readonly kind: 'seed' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'json'; readonly ops: readonly JsonOp[] }
  | { readonly kind: 'text'; readonly edits: readonly TextEdit[]; readonly splices: readonly { readonly at: number; readonly bytes: Uint8Array }[] }
  | { readonly kind: 'scratch'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'deep'; readonly depth: number; readonly open: string }
  | { readonly kind: 'huge'; readonly size: number; readonly unit: string };

const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 30, arbitrary: fc.constant({ kind: 'seed' as const }) },
  { weight: 20, arbitrary: fc.array(jsonOp, { minLength: 1, maxLength: 4 }).map((ops) => ({ kind: 'json' as const, ops })) },
  { weight: 12, arbitrary: fc.record({ edits: fc.array(edit, { minLength: 1, maxLength: 6 }), splices: fc.array(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }), { maxLength: 2 }) }).map((r) => ({ kind: 'text' as const, ...r })) },
  { weight: 6, arbitrary: fc.oneof(fc.json({ depthSize: 'small' }), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })).map((value) => ({ kind: 'scratch' as const, text: value })) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
  { weight: 4, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 2, arbitrary: fc.record({ depth: fc.constantFrom(100, 5_000, 100_000), open: fc.constantFrom('[', '{"a":', '{"messages":', '{"detail":[', '{"exceptions":') }).map((r) => ({ kind: 'deep' as const, ...r })) },
  { weight: 1, arbitrary: fc.record({ size: fc.constantFrom(100_000, 1_200_000, 2_500_000), unit: fc.constantFrom('a', '"x",', '{"code":"CQI011"},', 'é', '\uFFFD') }).map((r) => ({ kind: 'huge' as const, ...r })) },
);

function renderBody(spec: BodySpec, seedBody: string | Buffer, places: Placeholders): Buffer {
  const seedText = typeof seedBody === 'string' ? substitute(seedBody, places) : undefined;
  const seedBytes = typeof seedBody === 'string' ? Buffer.from(seedText ?? '') : seedBody;
  switch (spec.kind) {
    case 'seed':
      return seedBytes;
    case 'empty':
      return Buffer.alloc(0);
    case 'json': {
      let value: unknown;
      try {
        value = JSON.parse(seedBytes.toString('utf8'));
      } catch {
        value = { body: seedBytes.toString('latin1') };
      }
      return Buffer.from(substitute(JSON.stringify(applyJsonOps(value, spec.ops)) ?? 'null', places));
    }
    case 'text': {
      let bytes = Buffer.from(substitute(applyEdits(seedBytes.toString('latin1'), spec.edits), places), 'latin1');
      for (const { at, bytes: extra } of spec.splices) {
        const k = at % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, k), extra, bytes.subarray(k)]);
      }
      return bytes;
    }
    case 'scratch':
      return Buffer.from(substitute(spec.text, places));
    case 'bytes':
      return Buffer.from(spec.bytes);
    case 'deep': {
      const close = spec.open === '[' ? ']' : spec.open.endsWith('[') ? ']}' : '}';
      return Buffer.from(`${spec.open.repeat(spec.depth)}1${close.repeat(spec.depth)}`);
    }
    case 'huge':
      return Buffer.from(`[${spec.unit.repeat(Math.ceil(spec.size / spec.unit.length))}"end"]`);
  }
}

type Framing = 'length' | 'short-length' | 'long-length' | 'double-length' | 'chunked' | 'bad-chunked' | 'close-delimited';
const framing: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 85, arbitrary: fc.constant('length' as const) },
  { weight: 5, arbitrary: fc.constant('chunked' as const) },
  { weight: 4, arbitrary: fc.constant('close-delimited' as const) },
  { weight: 2, arbitrary: fc.constantFrom('short-length' as const, 'long-length' as const) },
  { weight: 1, arbitrary: fc.constantFrom('bad-chunked' as const, 'double-length' as const) },
);
const fault: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 920, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 30, arbitrary: fc.nat().map((at) => ({ kind: 'close' as const, at })) },
  { weight: 30, arbitrary: fc.nat().map((at) => ({ kind: 'reset' as const, at })) },
  { weight: 4, arbitrary: fc.nat().map((at) => ({ kind: 'stall' as const, at })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'stall' as const, at: 0 }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'endless' as const }) },
);

/** One scripted answer, as data: which seed, and how it is bent. */
interface ReplySpec {
  readonly seed: number;
  readonly status: StatusSpec | null;
  readonly version: string;
  readonly reason: string | null;
  readonly headerEdits: readonly HeaderEdit[];
  readonly body: BodySpec;
  readonly framing: Framing;
  readonly gzip: 'no' | 'yes' | 'lie';
  readonly informational: boolean;
  readonly keepAlive: boolean;
  readonly fault: Fault;
}
const replySpec: fc.Arbitrary<ReplySpec> = fc.record({
  seed: fc.nat(),
  status: fc.option(status, { freq: 3, nil: null }),
  version: fc.oneof({ weight: 30, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2', 'HTTP/1.2', 'HTTP/0.9', 'ICY', 'http/1.1', '') }),
  reason: fc.option(fc.oneof(fc.constantFrom('', 'OK', 'Weird Reason', 'é'), fc.string({ maxLength: 12 })), { freq: 6, nil: null }),
  headerEdits: fc.oneof(fc.constant([]), fc.array(headerEdit, { minLength: 1, maxLength: 4 })),
  body: bodySpec,
  framing,
  gzip: fc.oneof({ weight: 20, arbitrary: fc.constant('no' as const) }, { weight: 2, arbitrary: fc.constant('yes' as const) }, { weight: 1, arbitrary: fc.constant('lie' as const) }),
  informational: fc.boolean().map((b) => b && Math.random() < 0.1),
  keepAlive: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  fault,
});

const framingHeaders = new Set(['content-length', 'transfer-encoding', 'connection']);

/** The bytes of a scripted answer. */
function render(spec: ReplySpec, seeds: readonly Seed[], places: Placeholders, endlessAllowed: boolean): Reply {
  const seedReply = seeds[spec.seed % seeds.length]!;
  let body = renderBody(spec.body, seedReply.body, places);
  let headers: [string, string][] = seedReply.headers.map(([name, value]) => [name, substitute(value, places)]);
  for (const { op, name, value } of spec.headerEdits) {
    const lower = name.toLowerCase();
    if (op !== 'add') {
      headers = headers.filter(([existing]) => existing.toLowerCase() !== lower);
    }
    if (op !== 'delete') {
      headers.push([name, substitute(value, places)]);
    }
  }
  if (spec.gzip !== 'no') {
    headers.push(['content-encoding', 'gzip']);
    body = spec.gzip === 'yes' ? gzipSync(body) : body;
  }
  const fault = spec.fault.kind === 'endless' && !endlessAllowed ? ({ kind: 'none' } as const) : spec.fault;
  const code = spec.status === null ? seedReply.status : spec.status.kind === 'code' ? spec.status.code : Number.NaN;
  const statusText = spec.status === null ? String(seedReply.status) : spec.status.kind === 'code' ? String(spec.status.code) : spec.status.text;
  const framingEdited = spec.headerEdits.some((e) => framingHeaders.has(e.name.toLowerCase()));
  const exact = spec.framing === 'length' || spec.framing === 'chunked';
  const keepAlive = spec.keepAlive && exact && !framingEdited && fault.kind === 'none' && spec.version === 'HTTP/1.1' && code >= 200 && code <= 599 && code !== 204 && code !== 304 && !spec.informational;
  let wire = body;
  const framing = fault.kind === 'endless' ? 'close-delimited' : spec.framing;
  switch (framing) {
    case 'length':
      headers.push(['content-length', String(body.length)]);
      break;
    case 'short-length':
      headers.push(['content-length', String(Math.max(0, body.length - 1 - (spec.seed % 7)))]);
      break;
    case 'long-length':
      headers.push(['content-length', String(body.length + 1 + (spec.seed % 7))]);
      break;
    case 'double-length':
      headers.push(['content-length', String(body.length)], ['content-length', String(body.length + 1)]);
      break;
    case 'chunked': {
      headers.push(['transfer-encoding', 'chunked']);
      const half = Math.floor(body.length / 2);
      const pieces = [body.subarray(0, half), body.subarray(half)].filter((piece) => piece.length > 0);
      wire = Buffer.concat([...pieces.flatMap((piece) => [Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
      break;
    }
    case 'bad-chunked':
      headers.push(['transfer-encoding', 'chunked']);
      wire = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n')]);
      break;
    case 'close-delimited':
      break;
  }
  if (!keepAlive) {
    headers.push(['connection', 'close']);
  }
  const head = `${spec.informational ? 'HTTP/1.1 103 Early Hints\r\nlink: </hint>\r\n\r\n' : ''}${spec.version} ${statusText} ${spec.reason ?? 'Reason'}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head, 'latin1'), wire]), keepAlive, fault };
}

/** An answer sent as it is (the benign end of a flow once a case has used up its scripted replies). */
const faithful = (seedReply: Seed, places: Placeholders): Reply => render({ seed: 0, status: null, version: 'HTTP/1.1', reason: 'OK', headerEdits: [], body: { kind: 'seed' }, framing: 'length', gzip: 'no', informational: false, keepAlive: true, fault: { kind: 'none' } }, [seedReply], places, false);

/** Endpoints of one property: how to recognise a request, its documented answers, and the answer once the script is used up. */
interface Route {
  readonly seeds: readonly Seed[];
  readonly benign: Seed;
  /** An endless body is a fault only where the adapter buffers the body (not for message downloads). */
  readonly endless?: boolean;
}

/** Replies for each route, consumed in order; once a route's list is used up it answers benign. */
type Replies<R extends string> = Readonly<Record<R, readonly ReplySpec[]>>;
const repliesFor = <R extends string>(routes: readonly R[], max: number): fc.Arbitrary<Replies<R>> =>
  fc.record(Object.fromEntries(routes.map((route) => [route, fc.array(replySpec, { maxLength: max })])) as Record<R, fc.Arbitrary<ReplySpec[]>>);

/**
 * Installs the script of one case on the server: requests are routed, each route answers its scripted replies in
 * order and then benign ones; past `requestCap` requests, `stop` ends the flow (the adapter did not hang: it was
 * still working).
 */
function scriptCase<R extends string>(server: ScriptedServer, routes: Readonly<Record<R, Route>>, routeOf: (request: SeenRequest) => R, replies: Replies<R>, stop: Seed, places: Placeholders): void {
  const used = new Map<R, number>();
  server.reset((request, index) => {
    if (index >= requestCap) {
      return faithful(stop, places);
    }
    const route = routeOf(request);
    const position = used.get(route) ?? 0;
    used.set(route, position + 1);
    const spec = replies[route][position];
    const { seeds, benign, endless = true } = routes[route];
    return spec === undefined ? faithful(benign, places) : render(spec, seeds, places, endless);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// the servers

let ca: TestCa;
let server: ScriptedServer;
/** A second server that a hostile `links.next` or Location may point at: it must never be called. */
let evil: ScriptedServer;
let agent: Agent;
let root: string;
let places: Placeholders;
/** The evil server's script: it records the request, then hangs up. */
const refuseEverything = (): Reply => ({ bytes: Buffer.alloc(0), keepAlive: false, fault: { kind: 'close', at: 0 } });
const instantClock = { now: () => Date.now(), sleep: () => Promise.resolve() };

beforeAll(async () => {
  ca = await createTestCa('fuzz CA');
  const pair = await ca.issueServer();
  server = await startScriptedServer(pair);
  evil = await startScriptedServer(pair);
  evil.reset(refuseEverything);
  agent = new Agent({ connect: { ca: ca.cert, rejectUnauthorized: true } });
  root = mkdtempSync(join(tmpdir(), 'cadmap-fuzz-responses-'));
  places = { root, evil: evil.url };
});
afterAll(async () => {
  await agent?.destroy();
  await server?.close();
  await evil?.close();
  if (root !== undefined) {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Runs one case against the server and checks the invariants, whatever the case did. */
async function networkCase(run: () => Promise<void>): Promise<void> {
  evil.reset(refuseEverything);
  try {
    await run();
  } finally {
    server.settle();
  }
  expect(evil.requests.map((r) => `${r.method} ${r.path}`), 'requests sent to another origin').toEqual([]);
  expect(server.endlessReachedCap, `an endless body was read to the server's cap of ${endlessCap} bytes`).toBe(false);
  await expectCleanProcess();
}

// ---------------------------------------------------------------------------------------------------------------
// DPS

const dpsKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const bundle = { key: 'call-1', bundle: { resourceType: 'Bundle', id: 'bundle-1', type: 'collection', entry: [] } };
type DpsRoute = 'token' | 'submit';
const dpsRoutes: Record<DpsRoute, Route> = {
  token: {
    benign: json(200, { access_token: 'benign-token', expires_in: '3599', token_type: 'Bearer', issued_at: '1700000000000' }),
    seeds: [
      json(200, { access_token: 'eyJhbGciOi.x.y', expires_in: '3599', token_type: 'Bearer', issued_at: '1700000000000' }),
      json(200, { access_token: 'tok', expires_in: 3599 }),
      json(400, { error: 'invalid_request', error_description: tokenErrors.kidMissing, message_id: 'm1' }),
      json(401, { error: 'invalid_request', error_description: tokenErrors.kidNoMatch, message_id: 'm2' }),
      json(401, { error: 'invalid_client', error_description: tokenErrors.invalidClient }),
      json(401, { error: 'unauthorized_client', error_description: tokenErrors.unauthorizedClient }),
      json(403, { error: 'public_key error', error_description: tokenErrors.publicKey }),
      json(400, { error: 'invalid_request', error_description: tokenErrors.expired }),
      json(429, { error: 'rate limit exceeded' }, [['retry-after', '1']]),
      text(500, ''),
      text(503, '<html><body>Service Unavailable</body></html>', 'text/html'),
    ],
  },
  submit: {
    benign: json(200, { message: 'benign-receipt' }),
    seeds: [
      json(200, { message: '6eeec54e-3d39-4bc4-a1d9-57615d258fpq' }),
      json(200, { id: '0e5c6a0e-6f6e-4b8e-9d3a-0a4b3c2d1e0f' }),
      json(400, { error: 'Request body is not a FHIR Bundle with an id or a call identifier' }),
      json(401, { error: 'invalid/missing access token' }),
      json(403, { error: 'invalid access token' }),
      json(404, { error: 'Server Not Found' }),
      json(405, { error: 'Request method must be POST, not GET' }),
      json(413, { error: 'Payload too large' }),
      json(429, { error: 'rate limit exceeded' }, [['retry-after', '2']]),
      text(500, ''),
      text(502, '<html>Bad Gateway</html>', 'text/html'),
      text(504, ''),
    ],
  },
};

function expectDpsResult(result: SubmissionResult): void {
  expect(['accepted', 'rejected', 'unavailable', 'not-sent', 'unknown']).toContain(result.status);
  for (const d of [...result.diagnostics, ...(result.failure ? [result.failure] : [])]) {
    if (!Object.hasOwn(dpsCodes, d.code) || typeof d.message !== 'string' || d.message === '') {
      expect.fail(`uncoded DPS diagnostic: ${JSON.stringify(d)}`);
    }
  }
  expect(result.status !== 'accepted').toBe(result.failure !== undefined);
  if (result.receipt !== undefined) {
    expect(typeof result.receipt).toBe('string');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// MESH

const mailbox = 'X26ABC1';
const box = `/messageexchange/${mailbox}`;
const messageIds = ['20200601122152994285_D59900', '20200601122152994285_D59901'];
const mexHeaders = (id: string, extra: readonly (readonly [string, string])[] = []): (readonly [string, string])[] => [
  ['mex-messagetype', 'DATA'], ['mex-messageid', id], ['mex-from', 'Y27DEF2'], ['mex-to', mailbox], ['mex-workflowid', 'DPS_ERRORS'], ['mex-localid', 'batch-1'],
  ['mex-filename', `dps-errors-${id}.json`], ['mex-statuscode', '00'], ['mex-statusevent', 'TRANSFER'], ['mex-statusdescription', 'Transferred to recipient mailbox'], ['mex-statussuccess', 'SUCCESS'], ['mex-statustimestamp', '20240101120000'],
  ['etag', '"abc"'], ...extra,
];
const notification = dpsNotificationPayload('json', { receipt: 'r-1', callKey: 'urn:cad|call-1', bundleId: 'bundle-1', bundle: bundle.bundle });
const meshError400 = json(400, { detail: [{ loc: ['header', 'mex-to'], msg: 'field required', type: 'value_error.missing' }] });
const meshSoap = text(500, '<?xml version="1.0"?><soap:Envelope><soap:Body><soap:Fault>boom</soap:Fault></soap:Body></soap:Envelope>', 'text/xml');

type MeshSendRoute = 'handshake' | 'outbox' | 'chunk' | 'tracking';
const meshSendRoutes: Record<MeshSendRoute, Route> = {
  handshake: { benign: text(200, ''), seeds: [text(200, ''), json(200, {}), text(403, ''), meshError400, meshSoap, text(503, '')] },
  outbox: {
    benign: json(202, { message_id: 'benign-id' }),
    seeds: [
      json(202, { message_id: messageIds[0] }),
      json(202, { messageID: messageIds[1] }),
      meshError400,
      text(403, ''),
      json(417, { message_id: 'x', internal_id: 'y', detail: [{ event: 'SEND', code: '12', msg: 'Unregistered to address' }] }),
      json(417, { messageID: 'x', errorEvent: 'SEND', errorCode: '17', errorDescription: 'Workflow ID not registered for mailbox' }),
      json(413, { detail: [{ msg: 'too large' }] }),
      meshSoap,
    ],
  },
  chunk: { benign: text(202, ''), seeds: [text(202, ''), json(404, { detail: [{ msg: 'not found' }] }), text(423, ''), text(425, ''), text(429, ''), meshSoap] },
  tracking: {
    benign: json(200, { message_id: 'benign-id', status: 'accepted' }),
    seeds: [
      json(200, { message_id: messageIds[0], local_id: 'batch-1', workflow_id: 'DPS_ERRORS', recipient: 'Y27DEF2', status: 'Acknowledged', status_success: true, status_code: '00', status_event: 'TRANSFER', status_description: 'ok', expiry_time: '20240106120000' }),
      json(404, { detail: [{ msg: 'not found' }] }),
    ],
  },
};
const routeOfMeshSend = (request: SeenRequest): MeshSendRoute =>
  request.path.includes('/outbox/tracking') ? 'tracking' : /\/outbox\/[^/]+\/\d+$/.test(request.path) ? 'chunk' : request.path.endsWith('/outbox') ? 'outbox' : 'handshake';

type MeshPollRoute = 'list' | 'download' | 'ack';
const meshPollRoutes: Record<MeshPollRoute, Route> = {
  list: {
    benign: json(200, { messages: [messageIds[0]], links: { self: `${box}/inbox` }, approx_inbox_count: 1 }),
    seeds: [
      json(200, { messages: messageIds, links: { self: `${box}/inbox` }, approx_inbox_count: 2 }),
      json(200, { messages: [messageIds[0]], links: { self: `${box}/inbox`, next: `${box}/inbox?continue_from=${'c'.repeat(24)}` }, approx_inbox_count: 2 }),
      json(200, { messages: ['../../cadmap-fuzz-escape', '{ROOT}/escape.dat', '..', '__proto__'], links: { self: `${box}/inbox` } }),
      json(200, { messages: [], links: { self: `${box}/inbox`, next: '{EVIL}/messageexchange/X26ABC1/inbox' } }),
      text(403, ''),
      meshSoap,
    ],
  },
  download: {
    benign: { status: 200, headers: mexHeaders('benign-id'), body: 'benign' },
    endless: false,
    seeds: [
      { status: 200, headers: mexHeaders(messageIds[0]!, [['content-type', notification.contentType]]), body: notification.body },
      { status: 200, headers: mexHeaders(messageIds[0]!, [['content-encoding', 'gzip']]), body: gzipSync(notification.body) },
      { status: 206, headers: mexHeaders(messageIds[1]!, [['mex-chunk-range', '1:2']]), body: 'first half,' },
      { status: 200, headers: mexHeaders(messageIds[1]!, [['mex-chunk-range', '2:2']]), body: 'second half' },
      { status: 200, headers: mexHeaders(messageIds[0]!, [['mex-filename', '../../cadmap-fuzz-escape'], ['mex-localid', '/tmp/cadmap-fuzz-escape-{PID}'], ['mex-messageid', '{ROOT}/escape.dat']]), body: 'hostile names' },
      { status: 200, headers: [['mex-messagetype', 'REPORT'], ['mex-messageid', 'report-1'], ['mex-linkedmsgid', messageIds[0]!], ['mex-localid', 'batch-1'], ['mex-statuscode', '14'], ['mex-statusdescription', 'Message not collected by recipient after 5 days'], ['mex-statussuccess', 'ERROR']], body: '' },
      json(404, { detail: [{ msg: 'not found' }] }),
      text(410, ''),
    ],
  },
  ack: { benign: text(200, ''), seeds: [text(200, ''), json(200, {}), text(404, ''), text(410, ''), text(403, ''), meshSoap] },
};
const routeOfMeshPoll = (request: SeenRequest): MeshPollRoute =>
  request.path.endsWith('/status/acknowledged') ? 'ack' : /\/inbox\/[^?]+/.test(request.path) ? 'download' : 'list';

function meshClient(): MeshClient {
  const { client, diagnostics } = createMeshClient({
    environment: server.url,
    mailboxId: mailbox,
    password: 'mailbox-password',
    sharedKey: 'shared-key',
    dispatcher: agent,
    maxAttempts: 2,
    backoffMs: 0,
    timeoutMs: adapterTimeoutMs,
    clock: instantClock,
  });
  expect(diagnostics).toEqual([]);
  return client!;
}

/** A MESH call either resolves or fails with a coded MeshError. */
async function meshSettles(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof MeshError)) {
      expect.fail(`a MESH call threw something other than a MeshError: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    expectMeshCoded(error.diagnostic);
  }
}
function expectMeshCoded(d: { code: string; message: string }): void {
  if (!Object.hasOwn(meshCodes, d.code) || typeof d.message !== 'string' || d.message === '') {
    expect.fail(`uncoded MESH diagnostic: ${JSON.stringify(d)}`);
  }
}

/** Every path under `directory`, relative to it. */
function tree(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' });
}

// ---------------------------------------------------------------------------------------------------------------
// CQI

type CqiRoute = 'case' | 'codes';
const cqiRoutes: Record<CqiRoute, Route> = {
  case: {
    benign: json(200, { accepted: true, caseId: 'case-1' }),
    seeds: [
      json(200, { accepted: true, caseId: 'case-1' }),
      json(201, { accepted: true }),
      json(400, { accepted: false, exceptions: [{ code: 'CQI011', message: 'The triage ends before it starts.', path: 'Case.case.triageEnd' }, { code: 'CQI013', message: 'no final disposition' }] }),
      json(400, ['CQI010', 'CQI999']),
      json(401, { accepted: false, exceptions: [{ code: 'CQI401', message: 'Header X-CQI-Credentials missing or not recognised.' }] }),
      json(415, { accepted: false, exceptions: [{ code: 'CQI002', message: 'Content-Type text/plain is not accepted.' }] }),
      json(503, { accepted: false, exceptions: [{ code: 'CQI503', message: 'Service closed.' }] }, [['retry-after', '3600']]),
      text(500, ''),
    ],
  },
  codes: {
    benign: json(200, { exceptionCodes: defaultCqiExceptionCodes }),
    seeds: [json(200, { exceptionCodes: defaultCqiExceptionCodes }), json(200, defaultCqiExceptionCodes), json(200, { codes: [{ id: 7, text: 'seven' }] }), text(404, ''), meshSoap],
  },
};
const routeOfCqi = (request: SeenRequest): CqiRoute => (request.method === 'GET' ? 'codes' : 'case');
const cqiOutcomeKinds = ['accepted', 'rejected', 'refused', 'unavailable', 'unknown'];

function expectCqiOutcome(outcome: PostOutcome): void {
  expect(cqiOutcomeKinds).toContain(outcome.kind);
  if (outcome.kind === 'accepted') {
    expect(typeof outcome.body).toBe('string');
    return;
  }
  expect(outcome.diagnostics.length).toBeGreaterThan(0);
  for (const d of outcome.diagnostics) {
    if (!isDiagnosticCode(d.code) || !d.code.startsWith('CQI_') || d.message === '') {
      expect.fail(`uncoded CQI diagnostic: ${JSON.stringify(d)}`);
    }
  }
  if (outcome.kind === 'unavailable' && outcome.retryAfterMs !== undefined) {
    expect(outcome.retryAfterMs > 0 && outcome.retryAfterMs <= maxRetryAfterMs).toBe(true);
  }
  if (outcome.kind === 'rejected') {
    for (const e of outcome.exceptions) {
      expect(typeof e.code).toBe('string');
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the properties

describe('fuzzing what the national services answer', () => {
  it('DPS: token exchange and submission receipt', async () => {
    await fuzz('dps', 'network', repliesFor<DpsRoute>(['token', 'submit'], 3), async (replies) => {
      scriptCase(server, dpsRoutes, (request) => (request.path.includes('/oauth2/token') ? 'token' : 'submit'), replies, json(400, { error: 'stop' }), places);
      await networkCase(async () => {
        const { client, diagnostics } = createDpsClient({
          environment: { baseUrl: `${server.url}/ambulance-data-submission`, tokenUrl: `${server.url}/oauth2/token` },
          credentials: { apiKey: 'api-key', kid: 'kid-1', privateKey: dpsKey },
          dispatcher: agent,
          rateLimit: false,
          maxAttempts: 2,
          backoff: { baseMs: 1, maxMs: 1 },
          maxRetryAfterMs: 1,
          timeoutMs: adapterTimeoutMs,
          clock: instantClock,
        });
        expect(diagnostics).toEqual([]);
        expectDpsResult(await client!.submit(bundle));
        await client!.close();
      });
    });
  }, testTimeoutMs);

  it('DPS: submission receipt, open access (no token)', async () => {
    await fuzz('dps open access', 'network', repliesFor<DpsRoute>(['token', 'submit'], 4), async (replies) => {
      scriptCase(server, dpsRoutes, () => 'submit', replies, json(400, { error: 'stop' }), places);
      await networkCase(async () => {
        const { client } = createDpsClient({
          environment: { baseUrl: `${server.url}/ambulance-data-submission`, tokenUrl: null },
          dispatcher: agent,
          rateLimit: false,
          maxAttempts: 3,
          backoff: { baseMs: 1, maxMs: 1 },
          maxRetryAfterMs: 1,
          timeoutMs: adapterTimeoutMs,
          clock: instantClock,
        });
        expectDpsResult(await client!.submit(bundle));
        await client!.close();
      });
    });
  }, testTimeoutMs);

  it('MESH: handshake, send (and a later chunk) and tracking', async () => {
    await fuzz('mesh send', 'network', repliesFor<MeshSendRoute>(['handshake', 'outbox', 'chunk', 'tracking'], 2), async (replies) => {
      scriptCase(server, meshSendRoutes, routeOfMeshSend, replies, text(403, ''), places);
      await networkCase(async () => {
        const client = meshClient();
        await meshSettles(() => client.handshake());
        await meshSettles(() => client.send({ to: 'Y27DEF2', workflowId: 'DPS_ERRORS', body: Buffer.from('{"resourceType":"Bundle"}'), localId: 'batch-1', fileName: 'bundle.json' }));
        await meshSettles(() => client.sendChunk(messageIds[0]!, 2, 3, gzipSync('second')));
        await meshSettles(async () => {
          const tracking = await client.track(messageIds[0]!);
          expect(typeof tracking.messageId).toBe('string');
        });
        await client.close();
      });
    });
  }, testTimeoutMs);

  it('MESH: inbox listing, download into the store and acknowledgement (nothing written outside the store)', async () => {
    const store = join(root, 'a', 'b', 'store');
    const outsideTargets = [resolve(process.cwd(), '../../cadmap-fuzz-escape'), `/tmp/cadmap-fuzz-escape-${process.pid}`, resolve(store, '../../cadmap-fuzz-escape')];
    await fuzz('mesh poll', 'network', repliesFor<MeshPollRoute>(['list', 'download', 'ack'], 3), async (replies) => {
      scriptCase(server, meshPollRoutes, routeOfMeshPoll, replies, text(403, ''), places);
      await networkCase(async () => {
        const client = meshClient();
        await meshSettles(async () => {
          const result = await pollInbox(client, new MeshStore(store));
          for (const d of result.diagnostics) {
            expectMeshCoded(d);
          }
          for (const stored of result.stored) {
            expect(relative(store, stored.bodyPath).startsWith('..')).toBe(false);
            expect(stored.suggestedFileName === undefined || /^[A-Za-z0-9][\w.-]*$/.test(stored.suggestedFileName)).toBe(true);
          }
        });
        await client.close();
      });
      const outside = tree(root).filter((path) => !`${join(root, path)}/`.startsWith(`${store}/`) && !`${store}/`.startsWith(`${join(root, path)}/`));
      expect(outside, 'files written outside the MESH store').toEqual([]);
      for (const target of outsideTargets) {
        expect(existsSync(target), target).toBe(false);
      }
      rmSync(store, { recursive: true, force: true });
    });
  }, testTimeoutMs);

  it('CQI: case POST (and the exception codes it fetches to explain a refusal)', async () => {
    const { client, diagnostics } = CqiClient.create({
      environment: 'uat',
      baseUrls: { uat: server.url },
      tls: { ...(await ca.issueClient('fuzz-supplier')), ca: ca.cert },
      credentials: { header: 'X-CQI-Credentials', scheme: 'Basic', value: 'c2VjcmV0' },
      timeoutMs: adapterTimeoutMs,
      exceptionCodesTtlMs: 0,
    });
    expect(diagnostics).toEqual([]);
    try {
      await fuzz('cqi', 'network', repliesFor<CqiRoute>(['case', 'codes'], 2), async (replies) => {
        scriptCase(server, cqiRoutes, routeOfCqi, replies, json(400, ['STOP']), places);
        await networkCase(async () => {
          expectCqiOutcome(await client!.postCase('{"schemaVersion":"cqi-case/1.0.0"}', 'application/json'));
        });
      });
    } finally {
      await client!.close();
    }
  }, testTimeoutMs);
});

describe('fuzzing the response parsers directly', () => {
  const mutatedBody = (seeds: readonly Seed[]): fc.Arbitrary<string> =>
    fc.record({ seed: fc.nat(), body: bodySpec }).map(({ seed: which, body }) => renderBody(body.kind === 'huge' ? { kind: 'seed' } : body, seeds[which % seeds.length]!.body, places).toString('utf8'));

  it('DPS: Retry-After, JSON bodies and network errors', async () => {
    const errorLike = fc.letrec<{ error: unknown }>((tie) => ({
      error: fc.oneof(
        { depthSize: 'small' },
        fc.record({ message: fc.string({ maxLength: 20 }), code: fc.option(fc.oneof(fc.constantFrom('ECONNRESET', 'ECONNREFUSED', 'UND_ERR_HEADERS_TIMEOUT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HPE_INVALID_CONSTANT', 'UND_ERR_ABORTED', 'AbortError', '__proto__'), fc.string({ maxLength: 12 })), { nil: undefined }), cause: fc.option(tie('error'), { nil: undefined }) }).map(({ message, code, cause }) => Object.assign(new Error(message, cause === undefined ? {} : { cause }), code === undefined ? {} : { code })),
        fc.anything({ maxDepth: 1 }),
      ),
    })).error;
    await fuzz('pure dps', 'pure', fc.record({ retryAfter: fc.oneof(fc.constantFrom(...retryAfterValues), fc.string({ maxLength: 30 })), body: mutatedBody([...dpsRoutes.token.seeds, ...dpsRoutes.submit.seeds]), error: errorLike, cyclic: fc.boolean() }), async ({ retryAfter, body, error, cyclic }) => {
      const wait = retryAfterMs(retryAfter, Date.now());
      expect(wait === undefined || wait >= 0).toBe(true);
      const parsed = jsonObject(body);
      expect(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)).toBe(true);
      if (cyclic && error instanceof Error) {
        (error as Error & { cause?: unknown }).cause = error;
      }
      const failure = classifyNetworkError(error);
      expect(['DPS_TIMEOUT', 'DPS_UNAVAILABLE', 'DPS_TLS', 'DPS_CANCELLED']).toContain(failure.code);
      expect(typeof failure.message).toBe('string');
      await expectCleanProcess();
    });
  }, testTimeoutMs);

  it('MESH: untrusted names made safe, and DPS error notifications read from hostile payloads', async () => {
    const payloads = (['json', 'csv', 'operation-outcome'] as const).map((format) => text(200, dpsNotificationPayload(format, { receipt: 'r-1', callKey: 'urn:cad|call-1', bundleId: 'bundle-1', bundle: bundle.bundle }).body));
    const config = { workflowIds: ['DPS_ERRORS'] };
    const name = fc.oneof(fc.constantFrom(...hostileNames), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.constantFrom('..', '.', '/', '\\', 'a', '\u0000', '%2e', 'C:'), { maxLength: 8 }).map((parts) => parts.join('')));
    const base = join(root, 'names');
    await fuzz('pure mesh', 'pure', fc.record({ name, payload: mutatedBody(payloads) }), async ({ name: untrusted, payload }) => {
      for (const safe of [safeSegment(untrusted), safeFileName(untrusted)]) {
        expect(safe).toMatch(/^[A-Za-z0-9][\w.-]*$/);
        expect(safe.length).toBeLessThanOrEqual(140);
        expect(relative(base, join(base, safe)).startsWith('..')).toBe(false);
      }
      const reading = readNotification(Buffer.from(payload), config, { messageId: 'm-1', path: 'messages/m-1.dat' });
      for (const d of reading.diagnostics) {
        expectMeshCoded(d);
      }
      for (const e of reading.parsed?.errors ?? []) {
        expect(typeof e.message).toBe('string');
      }
      await expectCleanProcess();
    });
  }, testTimeoutMs);

  it('CQI: rejection bodies and the exception code list', async () => {
    await fuzz('pure cqi', 'pure', fc.record({ rejection: mutatedBody(cqiRoutes.case.seeds), list: mutatedBody(cqiRoutes.codes.seeds) }), async ({ rejection, list }) => {
      for (const e of parseExceptions(rejection)) {
        expect(typeof e.code).toBe('string');
        expect(e.message === undefined || typeof e.message === 'string').toBe(true);
        expect(e.path === undefined || typeof e.path === 'string').toBe(true);
      }
      const codes = parseExceptionCodes(list);
      for (const [code, description] of codes ?? []) {
        expect(typeof code).toBe('string');
        expect(typeof description).toBe('string');
      }
      await expectCleanProcess();
    });
  }, testTimeoutMs);
});
