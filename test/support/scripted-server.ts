import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { writeEndlessly } from './endless.js';

/** A request as the scripted server read it. */
export interface SeenRequest {
  readonly method: string;
  /** Request target as sent (path and query). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** What goes wrong with the connection while (or instead of) answering. `at` is a byte offset into the reply. */
export type Fault =
  | { readonly kind: 'none' }
  /** Ends the connection cleanly after `at` bytes. */
  | { readonly kind: 'close'; readonly at: number }
  /** Sends a TCP reset after `at` bytes. */
  | { readonly kind: 'reset'; readonly at: number }
  /** Sends `at` bytes, then nothing, until the test settles the server. */
  | { readonly kind: 'stall'; readonly at: number }
  /** Sends the reply, then body bytes without end until the client goes away (or `endlessCap` is reached). */
  | { readonly kind: 'endless' };

/** One scripted answer: the exact bytes on the wire and what happens to the connection. */
export interface Reply {
  readonly bytes: Buffer;
  /** Keep the connection open for the next request (only for replies whose framing is exact). */
  readonly keepAlive: boolean;
  readonly fault: Fault;
}

/** Picks the reply to a request; `index` counts the requests since the last `reset`. */
export type Script = (request: SeenRequest, index: number) => Reply;

export interface ScriptedServer {
  readonly url: string;
  readonly port: number;
  /** Requests since the last `reset`. */
  readonly requests: readonly SeenRequest[];
  /** Whether an endless body reached `endlessCap` (the client never stopped reading) since the last `reset`. */
  readonly endlessReachedCap: boolean;
  /** Installs the script for the next case and forgets the previous case's requests. */
  reset(script: Script): void;
  /** Ends every connection that is stalled or streaming; idle keep-alive connections stay for the next case. */
  settle(): void;
  close(): Promise<void>;
}

/** Bytes an endless body may send before the server gives up and ends it. */
export const endlessCap = 48 * 1024 * 1024;
const endlessChunk = Buffer.alloc(64 * 1024, 0x61);

interface Connection {
  readonly raw: Socket;
  readonly tls: TLSSocket;
  busy: boolean;
}

/**
 * An HTTPS server on 127.0.0.1 that answers every request with bytes a script chooses: any status line, any
 * headers, any framing, and connection faults (clean close, TCP reset, stall, endless body) at any byte. It parses
 * requests itself (content-length bodies, as undici sends them) so that nothing sanitises the answers.
 */
export async function startScriptedServer(tls: { readonly cert: string; readonly key: string }): Promise<ScriptedServer> {
  const context = createSecureContext({ cert: tls.cert, key: tls.key });
  const connections = new Set<Connection>();
  const sockets = new Set<Socket>();
  let requests: SeenRequest[] = [];
  let script: Script = () => {
    throw new Error('no script installed');
  };
  let reachedCap = false;

  const respond = (connection: Connection, reply: Reply, done: () => void): void => {
    const { tls: socket, raw } = connection;
    const { bytes, fault } = reply;
    const cut = (at: number): Buffer => bytes.subarray(0, at % (bytes.length + 1));
    switch (fault.kind) {
      case 'none':
        if (reply.keepAlive) {
          socket.write(bytes, () => done());
        } else {
          socket.end(bytes);
        }
        return;
      case 'close':
        socket.end(cut(fault.at));
        return;
      case 'reset':
        socket.write(cut(fault.at), () => raw.resetAndDestroy());
        return;
      case 'stall':
        socket.write(cut(fault.at));
        return;
      case 'endless':
        socket.write(bytes);
        writeEndlessly(socket, endlessChunk, endlessCap, () => {
          if (!socket.destroyed) {
            reachedCap = true;
            socket.end();
          }
        });
        return;
    }
  };

  const server: Server = createServer((raw) => {
    raw.on('error', () => undefined);
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    const socket = new TLSSocket(raw, { isServer: true, secureContext: context });
    socket.on('error', () => undefined);
    const connection: Connection = { raw, tls: socket, busy: false };
    connections.add(connection);
    socket.on('close', () => connections.delete(connection));
    let buffer = Buffer.alloc(0);
    const next = (): void => {
      if (connection.busy) {
        return;
      }
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        return;
      }
      const [requestLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
        }),
      );
      if (headers['transfer-encoding'] !== undefined) {
        // undici sends Buffer and string bodies with a content-length; anything else is a bug in this helper.
        socket.destroy(new Error('scripted server: chunked request bodies are not supported'));
        return;
      }
      const length = Number(headers['content-length'] ?? '0');
      if (buffer.length < end + 4 + length) {
        return;
      }
      const [method = '', path = ''] = requestLine.split(' ');
      const request: SeenRequest = { method, path, headers, body: Buffer.from(buffer.subarray(end + 4, end + 4 + length)) };
      buffer = buffer.subarray(end + 4 + length);
      requests.push(request);
      connection.busy = true;
      let reply: Reply;
      try {
        reply = script(request, requests.length - 1);
      } catch (error) {
        socket.destroy(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      respond(connection, reply, () => {
        connection.busy = false;
        next();
      });
    };
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get endlessReachedCap() {
      return reachedCap;
    },
    reset: (next) => {
      script = next;
      requests = [];
      reachedCap = false;
    },
    settle: () => {
      for (const connection of connections) {
        if (connection.busy) {
          connection.raw.destroy();
          connections.delete(connection);
        }
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) {
          socket.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
