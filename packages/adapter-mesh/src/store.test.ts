import { join, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MeshStore, safeFileName, safeSegment } from './store.js';

describe('store names', () => {
  it('keeps ordinary message ids and file names as they are', () => {
    expect(safeSegment('20200601122152994285_D59900')).toBe('20200601122152994285_D59900');
    expect(safeFileName('errors-2026.csv')).toBe('errors-2026.csv');
  });

  it('never lets a message id or Mex-FileName leave the store directory', () => {
    const store = new MeshStore('/var/mesh');
    expect(store.paths('../../etc/passwd').body.startsWith(`/var/mesh${sep}messages${sep}`)).toBe(true);
    expect(safeFileName('../../etc/cron.d/evil')).toBe('evil');
    expect(safeFileName('C:\\Windows\\..\\x.bat')).toBe('x.bat');
    expect(safeSegment('..')).toMatch(/^x-[0-9a-f]{10}$/);
    expect(safeSegment('-rf')).toMatch(/^rf-[0-9a-f]{10}$/);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (name) => {
        const segment = safeSegment(name);
        expect(segment).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
        expect(store.paths(name).body.startsWith(join('/var/mesh', 'messages') + sep)).toBe(true);
      }),
    );
  });

  it('gives different names to different ids that sanitise alike', () => {
    expect(safeSegment('a/b')).not.toBe(safeSegment('a\\b'));
  });
});
