import { Agent, type Dispatcher } from 'undici';

/** TLS material for a connection: what to trust and, for mutual TLS, who we are. All PEM text. */
export interface TlsOptions {
  /** CA certificates to trust for the server; default Node's public roots. */
  readonly ca?: string | readonly string[];
  /** Client certificate for mutual TLS. */
  readonly cert?: string;
  /** Client private key for mutual TLS. */
  readonly key?: string;
  readonly passphrase?: string;
}

export interface AgentOptions extends TlsOptions {
  /** How long to wait for the TCP and TLS handshake (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Idle keep-alive of pooled connections (default 4 s, undici's). */
  readonly keepAliveTimeoutMs?: number;
}

/**
 * The undici Agent every adapter uses: TLS 1.2 or newer, the server certificate and host name always verified
 * (there is no option to turn that off), optional client certificate. Timeouts of requests are not set here:
 * each request carries its own deadline (see `exchange`).
 */
export function createAgent(options: AgentOptions = {}): Agent {
  return new Agent({
    connect: {
      ...(options.ca !== undefined ? { ca: typeof options.ca === 'string' ? options.ca : [...options.ca] } : {}),
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      timeout: options.connectTimeoutMs ?? 10_000,
    },
    ...(options.keepAliveTimeoutMs !== undefined ? { keepAliveTimeout: options.keepAliveTimeoutMs } : {}),
    // deadlines are per request (AbortSignal); undici's own idle timers stay out of the way
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/** A dispatcher the client owns (and closes) or one the caller injected (and closes itself). */
export interface OwnedDispatcher {
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

/** The injected dispatcher when there is one (the caller closes it), otherwise a new agent that `close` closes. */
export function dispatcherFor(injected: Dispatcher | undefined, options: AgentOptions): OwnedDispatcher {
  if (injected !== undefined) {
    return { dispatcher: injected, close: () => Promise.resolve() };
  }
  const agent = createAgent(options);
  return { dispatcher: agent, close: () => agent.close() };
}
