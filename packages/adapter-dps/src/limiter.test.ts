import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from './clock.js';
import { retryAfterMs } from './http.js';
import { RateLimiter, rateWindows } from './limiter.js';
import { loadPrivateKey } from './token.js';

function virtualClock(): Clock {
  let t = 0;
  return { now: () => t, sleep: (ms) => ((t += ms), Promise.resolve()) };
}

describe('RateLimiter', () => {
  it('never grants more than a window allows, whatever the limits and the demand', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 60 }), async (perSecond, perMinute, requests) => {
        const limiter = new RateLimiter(rateWindows({ perSecond, perMinute }), virtualClock());
        const given = await Promise.all(Array.from({ length: requests }, () => limiter.acquire()));
        const grants = given.map((grant) => grant.at).sort((a, b) => a - b);
        // a grant says it waited exactly when it came later than the first moment
        expect(given.map((grant) => grant.waited)).toEqual(given.map((grant) => grant.at > 0));
        for (let i = 0; i < grants.length; i++) {
          expect(grants.filter((g) => g >= grants[i]! && g < grants[i]! + 1000).length).toBeLessThanOrEqual(perSecond);
          expect(grants.filter((g) => g >= grants[i]! && g < grants[i]! + 60_000).length).toBeLessThanOrEqual(perMinute);
        }
        // and it does not wait longer than it must: the last grant comes when the windows first allow it
        const full = Math.floor((requests - 1) / perMinute) * 60_000;
        expect(grants[grants.length - 1]).toBeGreaterThanOrEqual(full);
      }),
      { numRuns: 60 },
    );
  });

  it('grants at once when off', async () => {
    const limiter = new RateLimiter(rateWindows(false), virtualClock());
    expect(await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()])).toEqual([0, 0, 0].map((at) => ({ at, waited: false })));
  });

  it('does not call a grant held back when the clock moved but the limiter did not wait', async () => {
    let t = 0;
    // a clock that ticks on every reading, as a real one may between two readings
    const ticking: Clock = { now: () => t++, sleep: (ms) => ((t += ms), Promise.resolve()) };
    for (const limiter of [new RateLimiter(rateWindows(false), ticking), new RateLimiter(rateWindows({ perSecond: 5 }), ticking)]) {
      expect((await limiter.acquire()).waited).toBe(false);
    }
  });

  it('refuses nonsense limits', () => {
    expect(() => rateWindows({ perMinute: 0 })).toThrow(RangeError);
    expect(() => rateWindows({ perSecond: 1.5 })).toThrow(RangeError);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs('0.5', 0)).toBe(500);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });
});

describe('private keys', () => {
  it('reads PKCS#1 (ssh-keygen -m PEM) and PKCS#8 RSA keys, refuses short ones', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect('key' in loadPrivateKey(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString())).toBe(true);
    expect('key' in loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toBe(true);
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const result = loadPrivateKey(short);
    expect('diagnostic' in result && result.diagnostic.code).toBe('DPS_KEY_INVALID');
  });
});
