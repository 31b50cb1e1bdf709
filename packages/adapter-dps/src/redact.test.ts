import { redact as coreRedact } from '@cadmap/core/diagnostics';
import { describe, expect, it } from 'vitest';
import { isNhsNumber, redact } from './index.js';

describe('redact (re-exported from @cadmap/core)', () => {
  it('is core redaction: tokens removed, NHS numbers masked to their last three digits', () => {
    expect(redact).toBe(coreRedact);
    expect(redact('Authorization: Bearer abc.DEF-123_x for 999 897 0415')).toBe('Authorization: Bearer [redacted] for *******415');
    expect(isNhsNumber('9998970415')).toBe(true);
  });
});
