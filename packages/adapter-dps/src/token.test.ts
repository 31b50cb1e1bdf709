import { describe, expect, it } from 'vitest';
import { maxTokenLifetimeMs, tokenLifetimeMs } from './token.js';

describe('access token lifetime', () => {
  it('takes expires_in seconds, defaults to 5 minutes for nonsense and never trusts a token for more than an hour', () => {
    expect(tokenLifetimeMs(599)).toBe(599_000);
    expect(tokenLifetimeMs('599')).toBe(599_000);
    for (const nonsense of [undefined, null, 0, -5, 'soon', Number.NaN, {}, []]) {
      expect(tokenLifetimeMs(nonsense)).toBe(300_000);
    }
    expect(tokenLifetimeMs(1e308)).toBe(maxTokenLifetimeMs);
    expect(tokenLifetimeMs(Number.POSITIVE_INFINITY)).toBe(300_000);
    expect(maxTokenLifetimeMs).toBe(3_600_000);
  });
});
