import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eventEmitter, loggableUrl, readBodyText } from './body.js';

describe('adapter HTTP helpers', () => {
  it('reads a body whole, or only up to the limit and then stops reading', async () => {
    expect(await readBodyText(Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]), 100)).toEqual({ text: '{"a":1}', complete: true });
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 0x61));
      },
    });
    const cut = await readBodyText(endless, 4096);
    expect(cut).toEqual({ text: 'a'.repeat(4096), complete: false });
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(1024 * 1024);
  });

  it('passes events on and swallows what the listener throws', () => {
    const seen: number[] = [];
    eventEmitter<number>((event) => {
      seen.push(event);
      throw new Error('a broken logger');
    })(1);
    eventEmitter<number>(undefined)(2);
    expect(seen).toEqual([1]);
  });

  it('keeps only origin and path of a URL for logs', () => {
    expect(loggableUrl('https://user:secret@mesh.example:8443/messageexchange/X26/inbox?max_results=10#top')).toBe('https://mesh.example:8443/messageexchange/X26/inbox');
    expect(loggableUrl('not a url')).toBe('(invalid URL)');
  });
});
