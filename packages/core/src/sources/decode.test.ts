import fc from 'fast-check';
import iconv from 'iconv-lite';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TextChunks } from './decode.js';

async function decodeAll(chunks: readonly Uint8Array[], encoding: 'windows-1252' | 'latin1', deferCodePage = false): Promise<{ text: string; issues: number[] }> {
  const decoder = new TextChunks(Readable.from(chunks.map((chunk) => Buffer.from(chunk)), { objectMode: true }), encoding, deferCodePage);
  let text = '';
  for (let piece = await decoder.next(); piece !== undefined; piece = await decoder.next()) {
    // with the code page deferred, the reader widens the pieces it keeps: here each piece as it comes
    text += decoder.widen ? decoder.widen(piece) : piece;
  }
  return { text, issues: decoder.issues.map((issue) => issue.offset) };
}

/** Chunks without 0x80–0x9F (most real chunks): decoded as Latin-1 without the code page. */
const withoutC1Bytes = fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.map((byte) => (byte >= 0x80 && byte <= 0x9f ? byte + 0x20 : byte)));

describe('single-byte decoding', () => {
  it('decodes Windows-1252 (also with the code page deferred to the reader) and Latin-1 exactly as the code pages, chunk by chunk, flagging the five undefined Windows-1252 bytes', async () => {
    const undefinedBytes = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), withoutC1Bytes), { maxLength: 6 }), async (chunks) => {
        const all = Buffer.concat(chunks);
        for (const deferCodePage of [false, true]) {
          const windows = await decodeAll(chunks, 'windows-1252', deferCodePage);
          expect(windows.text).toBe(iconv.decode(all, 'windows-1252'));
          expect(windows.issues).toEqual([...all].flatMap((byte, at) => (undefinedBytes.has(byte) ? [at] : [])));
        }
        const latin1 = await decodeAll(chunks, 'latin1');
        expect(latin1.text).toBe(iconv.decode(all, 'latin1'));
        expect(latin1.issues).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
