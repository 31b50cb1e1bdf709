import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Characters Windows-1252 places in 0x80–0x9F, where Latin-1 has control codes. */
const windows1252High = new Map<number, number>([
  [0x20ac, 0x80], [0x201a, 0x82], [0x0192, 0x83], [0x201e, 0x84], [0x2026, 0x85], [0x2020, 0x86], [0x2021, 0x87],
  [0x02c6, 0x88], [0x2030, 0x89], [0x0160, 0x8a], [0x2039, 0x8b], [0x0152, 0x8c], [0x017d, 0x8e], [0x2018, 0x91],
  [0x2019, 0x92], [0x201c, 0x93], [0x201d, 0x94], [0x2022, 0x95], [0x2013, 0x96], [0x2014, 0x97], [0x02dc, 0x98],
  [0x2122, 0x99], [0x0161, 0x9a], [0x203a, 0x9b], [0x0153, 0x9c], [0x017e, 0x9e], [0x0178, 0x9f],
]);

/** Encodes text as Windows-1252; a character it cannot hold is a bug in the sample data, so it throws. */
export function encodeWindows1252(text: string): Buffer {
  const bytes = Buffer.alloc(text.length);
  let length = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const byte = code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : windows1252High.get(code);
    if (byte === undefined) {
      throw new Error(`character U+${code.toString(16).padStart(4, '0')} cannot be written in Windows-1252`);
    }
    bytes[length] = byte;
    length += 1;
  }
  return bytes.subarray(0, length);
}

export type SinkEncoding = 'utf-8' | 'windows-1252';

/** Buffered, synchronous text file writer: bounded memory, deterministic bytes. */
export class FileSink {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(
    readonly path: string,
    private readonly encoding: SinkEncoding = 'utf-8',
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= 1 << 16) {
      this.flush();
    }
  }

  close(): string {
    this.flush();
    closeSync(this.fd);
    return this.path;
  }

  private flush(): void {
    if (this.pending.length === 0) {
      return;
    }
    const text = this.pending.join('');
    writeSync(this.fd, this.encoding === 'windows-1252' ? encodeWindows1252(text) : Buffer.from(text, 'utf8'));
    this.pending = [];
    this.pendingLength = 0;
  }
}
