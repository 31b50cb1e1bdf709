import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { createTestCa, type PemPair, type TestCa } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshClient, type MeshClient } from './client.js';
import { MeshError } from './codes.js';
import { MeshStore, pollInbox } from './store.js';
import { readStoredNotifications } from './stored-notifications.js';
import { rejectionOf } from '../../../test/support/errors.js';
import { writeEndlessly } from '../../../test/support/endless.js';

/** A MESH stand-in whose answers each test scripts; it records the paths it was asked for. */
interface Stand {
  readonly url: string;
  readonly paths: string[];
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function startStand(pair: PemPair): Promise<Stand> {
  const stand: Stand = {
    url: '',
    paths: [],
    handle: (_req, res) => res.end(),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    stand.paths.push(req.url ?? '');
    req.resume();
    req.on('end', () => stand.handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(stand, { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

let ca: TestCa;
let mesh: Stand;
let other: Stand;
let client: MeshClient;

beforeAll(async () => {
  ca = await createTestCa();
  const pair = await ca.issueServer();
  mesh = await startStand(pair);
  other = await startStand(pair);
  const { client: made } = createMeshClient({
    environment: mesh.url,
    mailboxId: 'X26ABC1',
    password: 'password',
    sharedKey: 'shared',
    tls: { ...(await ca.issueClient('client')), ca: ca.cert },
    maxAttempts: 1,
    clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
  });
  client = made!;
});
afterAll(async () => {
  await client.close();
  await mesh.close();
  await other.close();
});

const meshFailure = (promise: Promise<unknown>): Promise<MeshError> => rejectionOf(promise, MeshError);

const listing = (next: string) => (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ messages: ['m-1'], links: { self: '/messageexchange/X26ABC1/inbox', next } }));
};

async function drain(ids: AsyncIterable<string>): Promise<string[]> {
  const seen: string[] = [];
  for await (const id of ids) {
    seen.push(id);
  }
  return seen;
}

describe('MESH against a hostile server', () => {
  it.each(['OTHER/messageexchange/X26ABC1/inbox', '//OTHER_HOST/messageexchange/X26ABC1/inbox', 'http://MESH_HOST/messageexchange/X26ABC1/inbox'])('never follows links.next to another origin (%s): the token and certificate stay with MESH', async (next) => {
    other.paths.length = 0;
    mesh.handle = listing(next.replace('OTHER_HOST', other.url.slice('https://'.length)).replace('OTHER', other.url).replace('MESH_HOST', mesh.url.slice('https://'.length)));
    const error = await meshFailure(drain(client.inboxIds()));
    expect(error.diagnostic).toMatchObject({ code: 'MESH_UNEXPECTED_STATUS' });
    expect(error.message).toMatch(/next page outside/);
    expect(other.paths).toEqual([]);
  });

  it('reports a links.next that is not a URL as a MeshError, not a TypeError', async () => {
    mesh.handle = listing('http://[');
    expect((await meshFailure(client.listInbox())).code).toBe('MESH_UNEXPECTED_STATUS');
  });

  it('stops when the listing sends the same next page again instead of looping for ever', async () => {
    mesh.paths.length = 0;
    mesh.handle = listing('/messageexchange/X26ABC1/inbox?continue_from=same-page-again');
    expect((await meshFailure(drain(client.inboxIds()))).message).toMatch(/same next page twice/);
    expect(mesh.paths).toHaveLength(2);
  });

  it('reports an answer that breaks off mid-body as a MeshError (MESH_NOT_RETRIED for the first POST of a send)', async () => {
    mesh.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"messages":["m-1"');
      setImmediate(() => res.socket?.destroy());
    };
    expect((await meshFailure(client.listInbox())).code).toBe('MESH_UNAVAILABLE');
    mesh.handle = (_req, res) => {
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"message_id":"');
      setImmediate(() => res.socket?.destroy());
    };
    const error = await meshFailure(client.send({ to: 'Y27DEF2', workflowId: 'W', body: Buffer.from('x') }));
    expect(error.code).toBe('MESH_NOT_RETRIED');
    expect(error.diagnostic.hint).toMatch(/local id/);
  });

  it.each([false, true])('downloads into a slow sink from a server that closes the connection (gzip %s) without crashing the process', async (gzip) => {
    const body = randomBytes(2 * 1024 * 1024);
    mesh.handle = (_req, res) => {
      const wire = gzip ? gzipSync(body) : body;
      res.writeHead(200, { connection: 'close', 'content-length': String(wire.length), 'mex-messagetype': 'DATA', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(wire);
    };
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      for (let round = 0; round < 5; round++) {
        let received = 0;
        const info = await client.download('m-1', {
          write: async (data) => {
            received += data.length;
            await delay(1);
          },
          truncate: () => Promise.resolve(),
        });
        expect([info.bytes, received]).toEqual([body.length, body.length]);
      }
      await delay(10);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('refuses a message id that is not valid Unicode or would change the path, for download, acknowledge and chunks', async () => {
    for (const broken of ['m-\ud800', '.', '..', '', 'a\u0000b']) {
      for (const call of [() => client.download(broken, { write: () => Promise.resolve(), truncate: () => Promise.resolve() }), () => client.acknowledge(broken), () => client.sendChunk(broken, 2, 2, Buffer.from('x'))]) {
        expect((await meshFailure(call())).diagnostic).toMatchObject({ code: 'MESH_INVALID_MESSAGE_ID' });
      }
    }
  });

  it('does not read an endless inbox listing to the end', async () => {
    let stream = { written: 0 };
    const cap = 256 * 1024 * 1024;
    mesh.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"messages":[');
      stream = writeEndlessly(res, Buffer.from('"m",'.repeat(16 * 1024)), cap, () => res.end('"m"]}'));
    };
    const error = await meshFailure(client.listInbox());
    expect(error.code).toBe('MESH_UNEXPECTED_STATUS');
    expect(error.message).toMatch(/body over \d+ bytes/);
    expect(stream.written).toBeLessThan(cap);
  });

  it('refuses a gzip bomb past maxMessageBytes and a message claiming more chunks than MESH allows, storing nothing', async () => {
    const { client: small } = createMeshClient({
      environment: mesh.url,
      mailboxId: 'X26ABC1',
      password: 'password',
      sharedKey: 'shared',
      tls: { ...(await ca.issueClient('client')), ca: ca.cert },
      maxAttempts: 3,
      maxMessageBytes: 1024 * 1024,
      clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
    });
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    mesh.paths.length = 0;
    mesh.handle = (_req, res) => {
      res.writeHead(200, { 'content-length': String(bomb.length), 'content-encoding': 'gzip', 'mex-messagetype': 'DATA' });
      res.end(bomb);
    };
    let stored = 0;
    const sink = {
      write: (data: Buffer) => {
        stored += data.length;
        return Promise.resolve();
      },
      truncate: (size: number) => {
        stored = size;
        return Promise.resolve();
      },
    };
    const tooBig = await meshFailure(small!.download('m-bomb', sink));
    expect(tooBig.diagnostic).toMatchObject({ code: 'MESH_MESSAGE_TOO_LARGE', messageId: 'm-bomb' });
    expect(tooBig.diagnostic.hint).toContain('maxMessageBytes');
    expect(stored).toBe(0);
    expect(mesh.paths).toHaveLength(1);

    mesh.handle = (_req, res) => {
      res.writeHead(206, { 'mex-chunk-range': '1:999999', 'mex-messagetype': 'DATA' });
      res.end('first');
    };
    const endless = await meshFailure(small!.download('m-many', sink));
    expect(endless.diagnostic).toMatchObject({ code: 'MESH_MESSAGE_TOO_LARGE' });
    expect(endless.message).toMatch(/claims 999999 chunks/);
    await small!.close();
  });

  describe('a poll against a hostile mailbox', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cadmap-mesh-hostile-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** The inbox lists `ids`; each download is answered by `message`. */
    const mailbox = (ids: readonly string[], message: (req: IncomingMessage, res: ServerResponse) => void) => (req: IncomingMessage, res: ServerResponse): void => {
      if (/\/inbox(\?|$)/.test(req.url ?? '')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ messages: ids, links: {} }));
      } else if (req.method === 'PUT') {
        res.writeHead(200);
        res.end();
      } else {
        message(req, res);
      }
    };

    it('refuses a gzip bomb (1 MB that inflates to 1 GiB) while it streams, stores and acknowledges nothing, and a later reconcile does not crash', async () => {
      // gzip members concatenated inflate to the concatenation: 16 × 64 MiB of zeros in about 1 MB
      const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
      const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));
      expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
      const { client: fresh } = createMeshClient({ environment: mesh.url, mailboxId: 'X26ABC1', password: 'password', sharedKey: 'shared', tls: { ...(await ca.issueClient('client')), ca: ca.cert }, maxAttempts: 1 });
      mesh.paths.length = 0;
      mesh.handle = mailbox(['m-bomb'], (_req, res) => {
        res.writeHead(200, { 'content-length': String(bomb.length), 'content-encoding': 'gzip', 'mex-messagetype': 'DATA', 'mex-workflowid': 'DPS_ERRORS' });
        res.end(bomb);
      });
      const store = new MeshStore(join(dir, 'bomb'));
      const before = process.memoryUsage().rss;
      const poll = await pollInbox(fresh!, store);
      await fresh!.close();
      expect(poll.failures).toMatchObject([{ code: 'MESH_MESSAGE_TOO_LARGE', messageId: 'm-bomb' }]);
      expect(poll.stored).toEqual([]);
      expect(mesh.paths.some((path) => path.includes('acknowledged'))).toBe(false);
      expect(await store.list()).toEqual([]);
      expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
      const read = await readStoredNotifications(await store.list(), { workflowIds: ['DPS_ERRORS'] });
      expect(read.notifications).toEqual([]);
    });

    it('reads a stored notification larger than the reconcile limit as a diagnostic, never into memory', async () => {
      const store = new MeshStore(join(dir, 'large'));
      mesh.handle = mailbox(['m-large'], (_req, res) => {
        res.writeHead(200, { 'mex-messagetype': 'DATA', 'mex-workflowid': 'DPS_ERRORS' });
        res.end('{"errors":[]}'.padEnd(4096, ' '));
      });
      const poll = await pollInbox(client, store);
      const read = await readStoredNotifications(poll.stored, { workflowIds: ['DPS_ERRORS'] }, [], 1024);
      expect(read.diagnostics).toMatchObject([{ code: 'MESH_NOTIFICATION_TOO_LARGE', messageId: 'm-large' }]);
      expect(read.unrecognised).toHaveLength(1);
    });

    it('ends a download whose body trickles a byte at a time at the request deadline', async () => {
      const { client: strict } = createMeshClient({ environment: mesh.url, mailboxId: 'X26ABC1', password: 'password', sharedKey: 'shared', tls: { ...(await ca.issueClient('client')), ca: ca.cert }, maxAttempts: 1, timeoutMs: 800 });
      mesh.handle = mailbox(['m-slow'], (_req, res) => {
        res.writeHead(200, { 'mex-messagetype': 'DATA' });
        const timer = setInterval(() => res.write('x'), 100);
        res.on('close', () => clearInterval(timer));
      });
      const poll = await pollInbox(strict!, new MeshStore(join(dir, 'slow')));
      await strict!.close();
      expect(poll.failures).toMatchObject([{ code: 'MESH_TIMEOUT', messageId: 'm-slow' }]);
      expect(poll.stored).toEqual([]);
    });

    it('ends the whole poll at its deadline however patient each request is', async () => {
      const { client: patient } = createMeshClient({ environment: mesh.url, mailboxId: 'X26ABC1', password: 'password', sharedKey: 'shared', tls: { ...(await ca.issueClient('client')), ca: ca.cert }, maxAttempts: 3, timeoutMs: 600_000 });
      mesh.handle = mailbox(['m-1', 'm-2'], (_req, res) => {
        res.writeHead(200, { 'mex-messagetype': 'DATA' });
        const timer = setInterval(() => res.write('x'), 100);
        res.on('close', () => clearInterval(timer));
      });
      const started = Date.now();
      const poll = await pollInbox(patient!, new MeshStore(join(dir, 'patient')), { deadlineMs: 1_000 });
      await patient!.close();
      expect(poll.failures).toMatchObject([{ code: 'MESH_TIMEOUT' }]);
      expect(Date.now() - started).toBeLessThan(20_000);
    });

    it('never uses the message ids . and .. in a path: they are reported, not stored or acknowledged', async () => {
      mesh.paths.length = 0;
      mesh.handle = mailbox(['.', '..', 'm-ok'], (_req, res) => {
        res.writeHead(200, { 'mex-messagetype': 'DATA' });
        res.end('fine');
      });
      const poll = await pollInbox(client, new MeshStore(join(dir, 'dots')));
      expect(poll.stored.map((m) => m.messageId)).toEqual(['m-ok']);
      expect(poll.failures.map((d) => d.code)).toEqual(['MESH_INVALID_MESSAGE_ID', 'MESH_INVALID_MESSAGE_ID']);
      expect(mesh.paths.filter((path) => !path.includes('m-ok') && !/\/inbox(\?|$)/.test(path))).toEqual([]);
    });

    it('cleans what a killed download left in .partial at the next poll', async () => {
      const store = new MeshStore(join(dir, 'partial'));
      await mkdir(join(store.directory, '.partial'), { recursive: true });
      await writeFile(join(store.directory, '.partial', 'm-1.killed.part'), 'half a message');
      mesh.handle = mailbox([], () => undefined);
      await pollInbox(client, store);
      expect(await readdir(join(store.directory, '.partial'))).toEqual([]);
    });
  });
});
