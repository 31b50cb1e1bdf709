import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { readBodyText } from '@cadmap/core/net';
import { classifyNetworkError, type NetworkFailure } from './classify.js';

/** One HTTP request. */
export interface HttpRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'HEAD';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Overall deadline for the answer, headers and body together, in ms: a body that trickles cannot outlive it. */
  readonly deadlineMs: number;
  /** The caller's signal: aborting it cancels the request, whatever state it is in. */
  readonly signal?: AbortSignal | undefined;
}

/** An HTTP answer with its body read as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** False when the body was longer than allowed and only its start was read. */
  readonly complete: boolean;
}

/** An answer whose body is still to be read (a download), with the request's deadline still running. */
export interface OpenAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
  /** Fires when the deadline passes or the caller's signal aborts: the body then errors. */
  readonly signal: AbortSignal;
  /** Classifies an error met while reading the body (deadline, cancel, reset…). */
  failure(error: unknown): NetworkFailure;
  /** Stops the deadline timer; call once the body is read or abandoned. */
  done(): void;
}

export const isAnswer = <T extends object>(value: T | NetworkFailure): value is T => !('kind' in value && 'requestSent' in value);

/** The header's first value, names compared case-insensitively (undici gives them lower case). */
export function header(answer: { readonly headers: Readonly<Record<string, string | string[] | undefined>> }, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Statuses worth another attempt: the server is busy, down or throttling. */
export const transientStatus = (status: number): boolean => status === 408 || status === 425 || status === 429 || status >= 500;

/** Statuses by which the server says it refused the request without acting on it. */
export const refusedUnread = (status: number): boolean => status === 425 || status === 429;

/**
 * Sends a request with an overall deadline and leaves the body to the caller. Never throws: a request that
 * gets no answer comes back as a classified {@link NetworkFailure}.
 */
export async function open(dispatcher: Dispatcher, req: HttpRequest): Promise<OpenAnswer | NetworkFailure> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`deadline of ${req.deadlineMs} ms passed`)), req.deadlineMs);
  timer.unref();
  const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
  const failure = (error: unknown): NetworkFailure => classifyNetworkError(error, { signal: req.signal, deadline: deadline.signal });
  const done = (): void => clearTimeout(timer);
  try {
    const response = await request(req.url, {
      dispatcher,
      method: req.method,
      ...(req.headers !== undefined ? { headers: req.headers } : {}),
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body, signal, failure, done };
  } catch (error) {
    done();
    return failure(error);
  }
}

/** Sends a request and reads at most `maxBodyBytes` of its answer as text, all within the deadline. Never throws. */
export async function exchange(dispatcher: Dispatcher, req: HttpRequest, maxBodyBytes: number): Promise<HttpAnswer | NetworkFailure> {
  const opened = await open(dispatcher, req);
  if (!isAnswer(opened)) {
    return opened;
  }
  try {
    const { text, complete } = await readBodyText(opened.body, maxBodyBytes);
    return { status: opened.status, headers: opened.headers, body: text, complete };
  } catch (error) {
    return opened.failure(error);
  } finally {
    opened.done();
  }
}
