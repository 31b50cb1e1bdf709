import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { createTestCa, type PemPair, type TestCa } from '../tls/certificates.js';

/** One mailbox of the sandbox. */
export interface MeshSandboxMailbox {
  /** Upper-case mailbox id, e.g. `X26ABC1`. */
  readonly id: string;
  readonly password: string;
  /** ODS code, for endpoint lookup. */
  readonly ods?: string;
  readonly name?: string;
  /** Workflow ids this mailbox may send and receive (code `17` otherwise); absent: any. */
  readonly workflows?: readonly string[];
}

/** Options of {@link startMeshSandbox}. */
export interface MeshSandboxOptions {
  readonly mailboxes: readonly MeshSandboxMailbox[];
  /** The environment shared secret (default `TestKey`). */
  readonly sharedKey?: string;
  /** Listen port; 0 (default) picks a free one. Always 127.0.0.1. */
  readonly port?: number;
  /** A CA to issue the server certificate from and to trust client certificates from (default: a fresh one). */
  readonly ca?: TestCa;
  /** Base time in epoch ms (default `Date.now`); {@link MeshSandbox.advanceClock} adds to it. */
  readonly now?: () => number;
  /** Largest request body in bytes (default 100 MB, as MESH). */
  readonly maxRequestBytes?: number;
  /** How long a delivered message waits before it expires (default 5 days). */
  readonly expiryMs?: number;
}

/** What a sandbox message looks like to tests. */
export interface MeshSandboxMessage {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly workflowId: string;
  readonly messageType: 'DATA' | 'REPORT';
  readonly status: 'uploading' | 'accepted' | 'acknowledged' | 'expired';
  readonly totalChunks: number;
  readonly chunksReceived: number;
  readonly localId?: string;
  readonly fileName?: string;
  readonly linkedMessageId?: string;
  readonly uploadedAt: number;
  readonly deliveredAt?: number;
}

/** A message put straight into a mailbox (as another system would send it). */
export interface MeshDelivery {
  readonly from: string;
  readonly to: string;
  readonly workflowId: string;
  readonly body: Buffer | string;
  readonly localId?: string;
  readonly subject?: string;
  readonly fileName?: string;
  readonly contentType?: string;
}

/**
 * A scripted failure answered instead of the real handling, or with `lostAfterAccept` a request handled in full
 * whose answer is then lost (the connection is closed instead): the way a client learns of nothing although MESH
 * acted on its request.
 */
export interface MeshFault {
  readonly status?: number;
  readonly lostAfterAccept?: boolean;
  /** Which requests it hits (default: any). */
  readonly when?: (request: { readonly method: string; readonly path: string }) => boolean;
  /** How many matching requests fail (default 1). */
  readonly times?: number;
  /** Raw body, e.g. an XML/SOAP page for 5xx (default a JSON body). */
  readonly body?: string;
}

/** One request the sandbox saw and what it answered. */
export interface MeshSandboxRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Why it was refused, when it was. */
  readonly reason?: string;
  readonly authorization?: string;
}

/** A running local MESH. */
export interface MeshSandbox {
  /** Base URL, e.g. `https://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** CA certificate (PEM) that issued the server and client certificates. */
  readonly ca: string;
  readonly sharedKey: string;
  /** Issues a client certificate the sandbox accepts. */
  issueClientCertificate(commonName?: string): Promise<PemPair>;
  /** The sandbox clock (epoch ms). */
  now(): number;
  /** Moves the clock on and expires what is due (sending non-delivery REPORTs). */
  advanceClock(ms: number): void;
  /** Puts a complete message into a mailbox without HTTP; returns its id. */
  deliver(message: MeshDelivery): string;
  /** Queues a failure for matching requests. */
  injectFault(fault: MeshFault): void;
  messages(): readonly MeshSandboxMessage[];
  requests(): readonly MeshSandboxRequest[];
  close(): Promise<void>;
}

interface Chunk {
  readonly data: Buffer;
  readonly gzip: boolean;
}

interface Message {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly workflowId: string;
  readonly messageType: 'DATA' | 'REPORT';
  readonly totalChunks: number;
  readonly chunks: Chunk[];
  readonly headers: Record<string, string>;
  readonly uploadedAt: number;
  status: MeshSandboxMessage['status'];
  deliveredAt?: number;
  acknowledgedAt?: number;
  statusCode?: string;
  statusEvent?: string;
  statusDescription?: string;
  statusSuccess?: string;
  statusTimestamp?: string;
  linkedMessageId?: string;
}

const hourMs = 3_600_000;
const passThrough = ['mex-localid', 'mex-subject', 'mex-filename', 'mex-content-checksum', 'mex-content-compressed', 'mex-content-encrypted', 'mex-content-type', 'mex-partnerid', 'content-type'] as const;

const stamp = (ms: number, length: number): string => new Date(ms).toISOString().replace(/[-:T.Z]/g, '').slice(0, length);

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const validation = (status: number, loc: readonly string[], msg: string, type = 'value_error'): Refusal => new Refusal(status, { detail: [{ loc, msg, type }] }, msg);
const businessError = (code: string, msg: string, messageId?: string): Refusal =>
  new Refusal(417, { ...(messageId !== undefined ? { message_id: messageId } : {}), internal_id: randomBytes(8).toString('hex'), detail: [{ event: 'SEND', code, msg }] }, `${code}: ${msg}`);

const headerOf = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) {
      return undefined;
    }
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** `workflow_filter` of mesh.md §6: `X`, `!X`, `X*`, `!X*`, `*X*`, `!*X*`. */
function workflowMatches(filter: string, workflowId: string): boolean {
  const negate = filter.startsWith('!');
  const body = negate ? filter.slice(1) : filter;
  let match: boolean;
  if (body.length > 1 && body.startsWith('*') && body.endsWith('*')) {
    match = workflowId.includes(body.slice(1, -1));
  } else if (body.endsWith('*')) {
    match = workflowId.startsWith(body.slice(0, -1));
  } else {
    match = workflowId === body;
  }
  return negate ? !match : match;
}

/**
 * Starts a strict local MESH (API v2) over mutual TLS on 127.0.0.1: NHSMESH tokens checked (HMAC, single use, ±2 h,
 * mailbox = path), workflow permissions, chunk order and 423, 410 after acknowledgement or expiry, 5-day expiry with
 * non-delivery REPORTs, the 100 MB request limit and the v2 error bodies of mesh.md §9.
 */
export async function startMeshSandbox(options: MeshSandboxOptions): Promise<MeshSandbox> {
  const baseNow = options.now ?? Date.now;
  let offset = 0;
  const now = (): number => baseNow() + offset;
  const sharedKey = options.sharedKey ?? 'TestKey';
  const maxRequestBytes = options.maxRequestBytes ?? 100 * 1024 * 1024;
  const expiryMs = options.expiryMs ?? 5 * 24 * hourMs;
  const ca = options.ca ?? (await createTestCa('cadmap MESH sandbox CA'));
  const serverPair = await ca.issueServer({ hosts: ['127.0.0.1', 'localhost'] });
  const mailboxes = new Map(options.mailboxes.map((mailbox) => [mailbox.id, mailbox]));
  const messages = new Map<string, Message>();
  const inboxes = new Map<string, string[]>();
  const usedTokens = new Map<string, number>();
  const faults: { fault: MeshFault; left: number }[] = [];
  const log: MeshSandboxRequest[] = [];
  let sequence = 0;

  const newId = (): string => `${stamp(now(), 17)}${String(++sequence).padStart(6, '0')}_${randomBytes(3).toString('hex').toUpperCase()}`;

  const put = (message: Message): void => {
    messages.set(message.id, message);
    message.status = 'accepted';
    message.deliveredAt = now();
    message.statusCode = message.statusCode ?? '00';
    message.statusEvent = message.statusEvent ?? 'TRANSFER';
    message.statusDescription = message.statusDescription ?? 'Transferred to recipient mailbox';
    message.statusSuccess = message.statusSuccess ?? 'SUCCESS';
    message.statusTimestamp = stamp(now(), 14);
    const inbox = inboxes.get(message.to) ?? [];
    inbox.push(message.id);
    inboxes.set(message.to, inbox);
  };

  const sweep = (): void => {
    for (const message of [...messages.values()]) {
      if (message.status === 'accepted' && message.deliveredAt !== undefined && now() - message.deliveredAt >= expiryMs) {
        message.status = 'expired';
        if (message.messageType === 'DATA') {
          const report: Message = {
            id: newId(),
            from: message.from,
            to: message.from,
            workflowId: message.workflowId,
            messageType: 'REPORT',
            totalChunks: 1,
            chunks: [{ data: Buffer.alloc(0), gzip: false }],
            headers: {
              ...(message.headers['mex-localid'] !== undefined ? { 'mex-localid': message.headers['mex-localid'] } : {}),
              ...(message.headers['mex-subject'] !== undefined ? { 'mex-subject': message.headers['mex-subject'] } : {}),
            },
            uploadedAt: now(),
            status: 'uploading',
            statusCode: '14',
            statusEvent: 'TRANSFER',
            statusDescription: 'Message not collected by recipient after 5 days',
            statusSuccess: 'ERROR',
            linkedMessageId: message.id,
          };
          put(report);
        }
      }
    }
  };

  const authenticate = (req: IncomingMessage, pathMailbox: string | undefined): string => {
    const header = headerOf(req, 'authorization');
    const match = /^NHSMESH ([^:]+):([^:]+):(\d+):(\d{12}):([0-9a-f]{64})$/.exec(header ?? '');
    if (!match) {
      throw validation(403, ['header', 'authorization'], 'missing or malformed NHSMESH Authorization header', 'auth_error');
    }
    const [, mailboxId = '', nonce = '', count = '', timestamp = '', hash = ''] = match;
    if (pathMailbox !== undefined && mailboxId !== pathMailbox) {
      throw validation(403, ['header', 'authorization'], `mailbox '${mailboxId}' in the token does not match '${pathMailbox}' in the path`, 'auth_error');
    }
    const mailbox = mailboxes.get(mailboxId);
    if (!mailbox) {
      throw validation(403, ['header', 'authorization'], `unknown mailbox '${mailboxId}'`, 'auth_error');
    }
    const at = Date.UTC(Number(timestamp.slice(0, 4)), Number(timestamp.slice(4, 6)) - 1, Number(timestamp.slice(6, 8)), Number(timestamp.slice(8, 10)), Number(timestamp.slice(10, 12)));
    if (Number.isNaN(at) || Math.abs(at - now()) > 2 * hourMs) {
      throw validation(403, ['header', 'authorization'], `token timestamp ${timestamp} is more than 2 hours from the server clock ${stamp(now(), 12)} (UTC)`, 'auth_error');
    }
    const expected = createHmac('sha256', sharedKey).update(`${mailboxId}:${nonce}:${count}:${mailbox.password}:${timestamp}`).digest();
    if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) {
      throw validation(403, ['header', 'authorization'], 'token hash does not verify (password, shared key or the order of the HMAC parts)', 'auth_error');
    }
    const token = `${mailboxId}:${nonce}:${count}`;
    if (usedTokens.has(token)) {
      throw validation(403, ['header', 'authorization'], 'token already used: build a new one (new nonce or nonce count + 1) for every request', 'auth_error');
    }
    usedTokens.set(token, at);
    if (usedTokens.size > 100_000) {
      usedTokens.forEach((seen, key) => seen < now() - 3 * hourMs && usedTokens.delete(key));
    }
    return mailboxId;
  };

  const permitted = (mailbox: MeshSandboxMailbox | undefined, workflowId: string): boolean => mailbox?.workflows === undefined || mailbox.workflows.includes(workflowId);

  const messageHeaders = (message: Message): Record<string, string> => ({
    'mex-messageid': message.id,
    'mex-from': message.from,
    'mex-to': message.to,
    'mex-workflowid': message.workflowId,
    'mex-messagetype': message.messageType,
    'mex-addresstype': 'ALL',
    'mex-version': '1.0',
    ...Object.fromEntries(Object.entries(message.headers).filter(([name]) => name !== 'content-type')),
    'content-type': message.headers['content-type'] ?? 'application/octet-stream',
    ...(message.linkedMessageId !== undefined ? { 'mex-linkedmsgid': message.linkedMessageId } : {}),
    ...(message.statusCode !== undefined ? { 'mex-statuscode': message.statusCode } : {}),
    ...(message.statusEvent !== undefined ? { 'mex-statusevent': message.statusEvent } : {}),
    ...(message.statusDescription !== undefined ? { 'mex-statusdescription': message.statusDescription } : {}),
    ...(message.statusSuccess !== undefined ? { 'mex-statussuccess': message.statusSuccess } : {}),
    ...(message.statusTimestamp !== undefined ? { 'mex-statustimestamp': message.statusTimestamp } : {}),
  });

  const inboxMessage = (mailboxId: string, id: string): Message => {
    const message = messages.get(id);
    if (!message || message.to !== mailboxId || message.status === 'uploading') {
      throw validation(404, ['path', 'message_id'], `message '${id}' not found in mailbox ${mailboxId}`, 'not_found');
    }
    if (message.status !== 'accepted') {
      throw validation(410, ['path', 'message_id'], `message '${id}' is gone (${message.status})`, 'gone');
    }
    return message;
  };

  const sendChunk = (req: IncomingMessage, res: ServerResponse, message: Message, index: number, headOnly: boolean): number => {
    const chunk = message.chunks[index - 1];
    if (!chunk) {
      throw validation(404, ['path', 'chunk_number'], `chunk ${index} of message '${message.id}' does not exist (it has ${message.totalChunks})`, 'not_found');
    }
    const acceptsGzip = /\bgzip\b/.test(headerOf(req, 'accept-encoding') ?? '');
    const body = chunk.gzip && !acceptsGzip ? gunzipSync(chunk.data) : chunk.data;
    const status = index < message.totalChunks ? 206 : 200;
    res.writeHead(status, {
      ...messageHeaders(message),
      ...(message.totalChunks > 1 ? { 'mex-chunk-range': `${index}:${message.totalChunks}` } : {}),
      ...(chunk.gzip && acceptsGzip ? { 'content-encoding': 'gzip' } : {}),
      'content-length': String(body.length),
      etag: `"${message.id}-${index}"`,
    });
    res.end(headOnly ? undefined : body);
    return status;
  };

  const chunkRange = (req: IncomingMessage): { index: number; total: number } | undefined => {
    const value = headerOf(req, 'mex-chunk-range');
    if (value === undefined) {
      return undefined;
    }
    const match = /^(\d+):(\d+)$/.exec(value.trim());
    const index = Number(match?.[1]);
    const total = Number(match?.[2]);
    if (!match || index < 1 || total < 1 || index > total) {
      throw validation(400, ['header', 'mex-chunk-range'], `Mex-Chunk-Range '${value}' is not 'k:n' with 1 ≤ k ≤ n`);
    }
    return { index, total };
  };

  const receiveChunk = async (req: IncomingMessage): Promise<Chunk> => {
    const encoding = headerOf(req, 'content-encoding');
    if (encoding !== undefined && encoding !== 'gzip') {
      throw validation(400, ['header', 'content-encoding'], `Content-Encoding '${encoding}' is not supported; only gzip`);
    }
    const body = await readBody(req, maxRequestBytes);
    if (body === undefined) {
      throw validation(413, ['body'], `request body over ${maxRequestBytes} bytes: split the message into chunks`, 'too_large');
    }
    if (encoding === 'gzip' && (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b)) {
      throw validation(400, ['body'], 'Content-Encoding is gzip but the body is not gzip data');
    }
    return { data: body, gzip: encoding === 'gzip' };
  };

  const outbox = async (req: IncomingMessage, res: ServerResponse, sender: string): Promise<number> => {
    const to = headerOf(req, 'mex-to');
    const workflowId = headerOf(req, 'mex-workflowid');
    if (to === undefined || to === '') {
      throw validation(400, ['header', 'mex-to'], 'field required');
    }
    if (workflowId === undefined || workflowId === '') {
      throw validation(400, ['header', 'mex-workflowid'], 'field required');
    }
    for (const [name, max] of [['mex-to', 100], ['mex-workflowid', 300], ['mex-localid', 300], ['mex-subject', 500], ['mex-filename', 300], ['mex-content-checksum', 100], ['mex-chunk-range', 20]] as const) {
      const value = headerOf(req, name);
      if (value !== undefined && value.length > max) {
        throw validation(400, ['header', name], `ensure this value has at most ${max} characters`);
      }
    }
    const from = headerOf(req, 'mex-from');
    if (from !== undefined && from !== sender) {
      throw businessError('07', `Mex-From '${from}' does not match the authenticated mailbox ${sender}`);
    }
    const recipient = mailboxes.get(to);
    if (!recipient) {
      throw businessError('12', `unregistered to address '${to}'`);
    }
    if (!permitted(mailboxes.get(sender), workflowId) || !permitted(recipient, workflowId)) {
      throw businessError('17', `workflow '${workflowId}' is not registered for ${permitted(mailboxes.get(sender), workflowId) ? `recipient ${to}` : `sender ${sender}`}`);
    }
    const range = chunkRange(req);
    if (range && range.index !== 1) {
      throw validation(400, ['header', 'mex-chunk-range'], `the first POST must carry Mex-Chunk-Range 1:n, not ${range.index}:${range.total}`);
    }
    const chunk = await receiveChunk(req);
    const headers: Record<string, string> = {};
    for (const name of passThrough) {
      const value = headerOf(req, name);
      if (value !== undefined) {
        headers[name] = value;
      }
    }
    const message: Message = { id: newId(), from: sender, to, workflowId, messageType: 'DATA', totalChunks: range?.total ?? 1, chunks: [chunk], headers, uploadedAt: now(), status: 'uploading' };
    messages.set(message.id, message);
    if (message.totalChunks === 1) {
      put(message);
    }
    json(res, 202, { message_id: message.id });
    return 202;
  };

  const outboxChunk = async (req: IncomingMessage, res: ServerResponse, sender: string, id: string, index: number): Promise<number> => {
    const message = messages.get(id);
    if (!message || message.from !== sender) {
      throw validation(404, ['path', 'message_id'], `message '${id}' not found in the outbox of ${sender}`, 'not_found');
    }
    if (message.status !== 'uploading') {
      throw validation(423, ['path', 'chunk_number'], `message '${id}' is already complete (${message.totalChunks} chunks)`, 'locked');
    }
    const range = chunkRange(req);
    if (!range || range.index !== index || range.total !== message.totalChunks) {
      throw validation(400, ['header', 'mex-chunk-range'], `Mex-Chunk-Range must be ${index}:${message.totalChunks} for chunk ${index}`);
    }
    if (index !== message.chunks.length + 1) {
      throw validation(400, ['path', 'chunk_number'], `chunk ${index} out of order: chunk ${message.chunks.length + 1} of ${message.totalChunks} is expected next`);
    }
    const chunk = await receiveChunk(req);
    if (chunk.gzip !== message.chunks[0]?.gzip) {
      throw validation(400, ['header', 'content-encoding'], 'Content-Encoding must be the same on every chunk');
    }
    message.chunks.push(chunk);
    if (message.chunks.length === message.totalChunks) {
      put(message);
    }
    json(res, 202, { message_id: message.id });
    return 202;
  };

  const tracking = (message: Message): Record<string, unknown> => {
    const recipient = mailboxes.get(message.to);
    const status = message.status === 'acknowledged' ? 'acknowledged' : message.status === 'expired' ? 'undeliverable' : message.status === 'uploading' ? 'uploading' : 'accepted';
    return {
      message_id: message.id,
      local_id: message.headers['mex-localid'] ?? null,
      workflow_id: message.workflowId,
      filename: message.headers['mex-filename'] ?? `${message.id}.dat`,
      expiry_time: message.deliveredAt === undefined ? null : new Date(message.deliveredAt + expiryMs).toISOString(),
      upload_timestamp: new Date(message.uploadedAt).toISOString(),
      recipient: message.to,
      recipient_name: recipient?.name ?? null,
      recipient_ods_code: recipient?.ods ?? null,
      recipient_org_code: recipient?.ods ?? null,
      recipient_org_name: recipient?.name ?? null,
      status_success: status !== 'undeliverable',
      status,
      status_event: status === 'undeliverable' ? 'TRANSFER' : status.toUpperCase(),
      status_timestamp: message.acknowledgedAt === undefined ? stamp(message.deliveredAt ?? message.uploadedAt, 14) : stamp(message.acknowledgedAt, 14),
      status_description: status === 'undeliverable' ? 'Message not collected by recipient after 5 days' : status,
      status_code: status === 'undeliverable' ? '14' : '00',
    };
  };

  const route = async (req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<number> => {
    const parts = url.pathname.split('/').filter((part) => part !== '').map((part) => decodeURIComponent(part));
    if (parts[0] !== 'messageexchange') {
      throw validation(404, ['path'], `no route for ${url.pathname}`, 'not_found');
    }
    if (parts[1] === '_ping' && method === 'GET') {
      json(res, 200, { status: 'pass', service: 'cadmap MESH sandbox' });
      return 200;
    }
    if ((parts[1] === 'endpointlookup' && parts.length === 4) || (parts[1] === 'workflowsearch' && parts.length === 3)) {
      authenticate(req, undefined);
      const [ods, workflow] = parts[1] === 'endpointlookup' ? [parts[2], parts[3]] : [undefined, parts[2]];
      const results = [...mailboxes.values()].filter((mailbox) => (ods === undefined || mailbox.ods === ods) && workflow !== undefined && permitted(mailbox, workflow)).map((mailbox) => ({ mailbox_id: mailbox.id, mailbox_name: mailbox.name ?? mailbox.id }));
      json(res, 200, { results });
      return 200;
    }
    const mailboxId = parts[1] ?? '';
    const mailbox = authenticate(req, mailboxId);
    const rest = parts.slice(2);
    if (rest.length === 0 && method === 'POST') {
      for (const name of ['mex-clientversion', 'mex-osname', 'mex-osversion']) {
        if (headerOf(req, name) === undefined) {
          throw validation(400, ['header', name], 'field required');
        }
      }
      req.resume();
      json(res, 200);
      return 200;
    }
    if (rest[0] === 'inbox' && rest.length === 1 && method === 'GET') {
      return listInbox(res, mailbox, url);
    }
    if (rest[0] === 'inbox' && rest.length === 2 && (method === 'GET' || method === 'HEAD')) {
      return sendChunk(req, res, inboxMessage(mailbox, rest[1] ?? ''), 1, method === 'HEAD');
    }
    if (rest[0] === 'inbox' && rest.length === 3 && method === 'GET') {
      const index = Number(rest[2]);
      if (!Number.isInteger(index) || index < 1) {
        throw validation(400, ['path', 'chunk_number'], `chunk number '${rest[2] ?? ''}' is not a positive integer`);
      }
      return sendChunk(req, res, inboxMessage(mailbox, rest[1] ?? ''), index, false);
    }
    if (rest[0] === 'inbox' && rest.length === 4 && rest[2] === 'status' && rest[3] === 'acknowledged' && method === 'PUT') {
      const message = inboxMessage(mailbox, rest[1] ?? '');
      message.status = 'acknowledged';
      message.acknowledgedAt = now();
      message.chunks.length = 0;
      req.resume();
      json(res, 200);
      return 200;
    }
    if (rest[0] === 'outbox' && rest.length === 1 && method === 'POST') {
      return outbox(req, res, mailbox);
    }
    if (rest[0] === 'outbox' && rest[1] === 'tracking' && rest.length === 3 && method === 'GET') {
      // v1 tracking by local id (deprecated, still served): the latest message this mailbox sent with it
      const localId = rest[2] ?? '';
      const message = [...messages.values()].filter((candidate) => candidate.from === mailbox && candidate.messageType === 'DATA' && candidate.headers['mex-localid'] === localId).at(-1);
      if (!message) {
        throw validation(404, ['path', 'local_id'], `no message with local id '${localId}' was sent by ${mailbox}`, 'not_found');
      }
      json(res, 200, tracking(message));
      return 200;
    }
    if (rest[0] === 'outbox' && rest[1] === 'tracking' && rest.length === 2 && method === 'GET') {
      const id = url.searchParams.get('messageID') ?? '';
      const message = messages.get(id);
      if (!message || message.from !== mailbox || message.messageType !== 'DATA') {
        throw validation(404, ['query', 'messageID'], `message '${id}' was not sent by ${mailbox}`, 'not_found');
      }
      json(res, 200, tracking(message));
      return 200;
    }
    if (rest[0] === 'outbox' && rest.length === 3 && method === 'POST') {
      const index = Number(rest[2]);
      if (!Number.isInteger(index) || index < 2) {
        throw validation(400, ['path', 'chunk_number'], `chunk number '${rest[2] ?? ''}' must be an integer ≥ 2`);
      }
      return outboxChunk(req, res, mailbox, rest[1] ?? '', index);
    }
    throw validation(404, ['path'], `no route for ${method} ${url.pathname}`, 'not_found');
  };

  const listInbox = (res: ServerResponse, mailbox: string, url: URL): number => {
    const maxText = url.searchParams.get('max_results');
    const max = maxText === null ? 500 : Number(maxText);
    if (!Number.isInteger(max) || max < 10 || max > 5000) {
      throw validation(400, ['query', 'max_results'], 'max_results must be an integer from 10 to 5000');
    }
    const continueFrom = url.searchParams.get('continue_from');
    if (continueFrom !== null && (continueFrom.length < 24 || continueFrom.length > 1000)) {
      throw validation(400, ['query', 'continue_from'], 'continue_from must be 24 to 1000 characters');
    }
    const filter = url.searchParams.get('workflow_filter');
    if (filter !== null && (filter.length < 2 || filter.length > 255)) {
      throw validation(400, ['query', 'workflow_filter'], 'workflow_filter must be 2 to 255 characters');
    }
    const waiting = (inboxes.get(mailbox) ?? []).map((id) => messages.get(id)).filter((message): message is Message => message?.status === 'accepted' && (filter === null || workflowMatches(filter, message.workflowId)));
    let start = 0;
    if (continueFrom !== null) {
      const after = Buffer.from(continueFrom, 'base64url').toString('utf8').replace(/^continue-after:/, '');
      const inbox = inboxes.get(mailbox) ?? [];
      const position = inbox.indexOf(after);
      start = waiting.findIndex((message) => inbox.indexOf(message.id) > position);
      start = start < 0 ? waiting.length : start;
    }
    const page = waiting.slice(start, start + max);
    const last = page.at(-1);
    const more = start + max < waiting.length && last !== undefined;
    const query = (extra: Record<string, string>): string => new URLSearchParams({ max_results: String(max), ...(filter !== null ? { workflow_filter: filter } : {}), ...extra }).toString();
    json(res, 200, {
      messages: page.map((message) => message.id),
      links: {
        self: `/messageexchange/${mailbox}/inbox?${query(continueFrom !== null ? { continue_from: continueFrom } : {})}`,
        ...(more ? { next: `/messageexchange/${mailbox}/inbox?${query({ continue_from: Buffer.from(`continue-after:${last.id}`).toString('base64url') })}` } : {}),
      },
      approx_inbox_count: waiting.length,
    });
    return 200;
  };

  const https: Server = createServer({ cert: serverPair.cert, key: serverPair.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', keepAliveTimeout: 10_000 });
  https.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'https://sandbox');
    const authorization = headerOf(req, 'authorization');
    res.setHeader('date', new Date(now()).toUTCString());
    const record = (status: number, reason?: string): void => {
      log.push({ at: now(), method, path: url.pathname, status, ...(reason !== undefined ? { reason } : {}), ...(authorization !== undefined ? { authorization } : {}) });
    };
    const handle = async (): Promise<void> => {
      if (!(req.socket as TLSSocket).authorized) {
        throw validation(403, ['tls'], 'no client certificate', 'tls');
      }
      sweep();
      const index = faults.findIndex(({ fault }) => fault.when === undefined || fault.when({ method, path: url.pathname }));
      const scripted = faults[index];
      if (scripted) {
        scripted.left--;
        if (scripted.left <= 0) {
          faults.splice(index, 1);
        }
        if (scripted.fault.lostAfterAccept === true) {
          // handle the request in full, then lose the answer
          res.writeHead = () => res;
          res.end = () => {
            req.socket.destroy();
            return res;
          };
          const status = await route(req, res, method, url);
          req.socket.destroy();
          record(status, 'answer lost after handling');
          return;
        }
        const status = scripted.fault.status ?? 500;
        req.resume();
        const body = scripted.fault.body ?? JSON.stringify({ detail: [{ msg: `injected ${status}` }] });
        res.writeHead(status, { 'content-type': scripted.fault.body === undefined ? 'application/json' : 'text/xml', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        record(status, 'injected fault');
        return;
      }
      record(await route(req, res, method, url));
    };
    handle().catch((error: unknown) => {
      if (error instanceof Refusal) {
        req.resume();
        if (!res.headersSent) {
          json(res, error.status, error.body);
        }
        record(error.status, error.reason);
        return;
      }
      record(500, String(error));
      if (!res.headersSent) {
        json(res, 500, { detail: [{ msg: 'internal error' }] });
      } else {
        res.destroy();
      }
    });
  });
  https.listen(options.port ?? 0, '127.0.0.1');
  await once(https, 'listening');
  const port = (https.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: ca.cert,
    sharedKey,
    issueClientCertificate: (commonName = 'SERVER001.X26.api.mesh-client.nhs.uk') => ca.issueClient(commonName),
    now,
    advanceClock: (ms) => {
      offset += ms;
      sweep();
    },
    deliver: (delivery) => {
      const body = typeof delivery.body === 'string' ? Buffer.from(delivery.body, 'utf8') : delivery.body;
      const headers: Record<string, string> = {
        ...(delivery.localId !== undefined ? { 'mex-localid': delivery.localId } : {}),
        ...(delivery.subject !== undefined ? { 'mex-subject': delivery.subject } : {}),
        ...(delivery.fileName !== undefined ? { 'mex-filename': delivery.fileName } : {}),
        ...(delivery.contentType !== undefined ? { 'content-type': delivery.contentType } : {}),
      };
      const message: Message = { id: newId(), from: delivery.from, to: delivery.to, workflowId: delivery.workflowId, messageType: 'DATA', totalChunks: 1, chunks: [{ data: body, gzip: false }], headers, uploadedAt: now(), status: 'uploading' };
      put(message);
      return message.id;
    },
    injectFault: (fault) => faults.push({ fault, left: fault.times ?? 1 }),
    messages: () =>
      [...messages.values()].map((message) => ({
        id: message.id,
        from: message.from,
        to: message.to,
        workflowId: message.workflowId,
        messageType: message.messageType,
        status: message.status,
        totalChunks: message.totalChunks,
        chunksReceived: message.status === 'acknowledged' ? message.totalChunks : message.chunks.length,
        ...(message.headers['mex-localid'] !== undefined ? { localId: message.headers['mex-localid'] } : {}),
        ...(message.headers['mex-filename'] !== undefined ? { fileName: message.headers['mex-filename'] } : {}),
        ...(message.linkedMessageId !== undefined ? { linkedMessageId: message.linkedMessageId } : {}),
        uploadedAt: message.uploadedAt,
        ...(message.deliveredAt !== undefined ? { deliveredAt: message.deliveredAt } : {}),
      })),
    requests: () => [...log],
    close: async () => {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
