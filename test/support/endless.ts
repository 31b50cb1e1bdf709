/** Where an endless body is written: a response or a socket. */
interface Sink {
  readonly destroyed: boolean;
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes `chunk` to `out` again and again, waiting for 'drain' when it must, until `cap` bytes are written or the
 * reader has gone; then calls `done`. What has been written so far is `written` on the result, so a test can
 * show that a client stopped reading long before the end.
 */
export function writeEndlessly(out: Sink, chunk: Buffer, cap: number, done: () => void): { readonly written: number } {
  const progress = { written: 0 };
  const more = (): void => {
    while (!out.destroyed && progress.written < cap) {
      progress.written += chunk.length;
      if (!out.write(chunk)) {
        out.once('drain', more);
        return;
      }
    }
    done();
  };
  more();
  return progress;
}
