import { describe, expect, it } from 'vitest';
import { meshAuthorization, meshTimestamp } from './auth.js';

describe('NHSMESH authorization', () => {
  it('matches the test vector of mesh.md §5', () => {
    const header = meshAuthorization({
      mailboxId: 'X26ABC1',
      password: 'password',
      sharedKey: 'TestKey',
      now: Date.UTC(2015, 10, 20, 10, 38, 59),
      nonce: '2c001608-5f09-4840-9611-bea43e666a30',
      nonceCount: 1,
    });
    expect(header).toBe('NHSMESH X26ABC1:2c001608-5f09-4840-9611-bea43e666a30:1:201511201038:9712e9dd1aa836431fa50134c333fceda28dc7e380675d9b0d359477f56d034a');
  });

  it('upper-cases the mailbox, uses UTC and a fresh nonce each time', () => {
    const input = { mailboxId: 'x26abc1', password: 'p', sharedKey: 'k', now: Date.UTC(2026, 0, 1, 23, 59) };
    const a = meshAuthorization(input);
    const b = meshAuthorization(input);
    expect(a).toMatch(/^NHSMESH X26ABC1:[0-9a-f-]{36}:0:202601012359:[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(meshTimestamp(Date.UTC(2026, 5, 7, 8, 9, 10))).toBe('202606070809');
  });
});
