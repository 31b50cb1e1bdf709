import type { Readable } from 'node:stream';

/**
 * Reads at most `limit` bytes of an HTTP body as UTF-8; `complete` is false when it was longer (the rest is not
 * read and the connection is closed). The body is never paused: undici 7 throws an uncatchable assertion when a
 * server closes the connection while a body is paused by backpressure (nodejs/undici#5360, fixed in undici 8,
 * which needs Node 22).
 */
export function readBodyText(body: Readable, limit: number): Promise<{ text: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    body.on('data', (data: Buffer) => {
      parts.push(data);
      size += data.length;
      if (size > limit) {
        body.destroy();
        resolve({ text: Buffer.concat(parts).subarray(0, limit).toString('utf8'), complete: false });
      }
    });
    body.on('end', () => resolve({ text: Buffer.concat(parts).toString('utf8'), complete: true }));
    body.on('error', reject);
  });
}

/**
 * Wraps an optional event listener so that calling it can never change what a client does: absent, events go
 * nowhere; exceptions it throws are swallowed (a logging hook must not break a submission).
 */
export function eventEmitter<Event>(listener: ((event: Event) => void) | undefined): (event: Event) => void {
  if (listener === undefined) {
    return () => undefined;
  }
  return (event) => {
    try {
      listener(event);
    } catch {
      // ignored by design: see above
    }
  };
}

/** A URL fit for logs: origin and path only (no user info, query or fragment). */
export function loggableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
