import { describe, expect, it } from 'vitest';
import { createChecker } from './checker.js';
import { compareDateTimes } from './datetime.js';

describe('date and time comparison with precision', () => {
  it('compares component by component, in UTC when both have zones, and is indeterminate across precisions', () => {
    expect(compareDateTimes('2023-06-21', '2023-06-22')).toBe(-1);
    expect(compareDateTimes('2023-07', '2023-06-21')).toBe(1);
    expect(compareDateTimes('2023-06-21', '2023-06-21T06:20:00Z')).toBeUndefined();
    expect(compareDateTimes('2023', '2023-01')).toBeUndefined();
    expect(compareDateTimes('2023-06-21T10:00:00+01:00', '2023-06-21T09:00:00Z')).toBe(0);
    expect(compareDateTimes('2023-06-21T10:00:00+01:00', '2023-06-21T09:30:00Z')).toBe(-1);
    expect(compareDateTimes('2023-06-21T10:00:00.5Z', '2023-06-21T10:00:00Z')).toBe(1);
    expect(compareDateTimes('10:00:00', '09:59:59')).toBe(1);
    expect(compareDateTimes('nonsense', '2023')).toBeUndefined();
  });

  it('per-1: an end that cannot be shown to follow the start is not a pass', () => {
    const checker = createChecker();
    const encounter = (start: string, end: string) => ({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'FLD' }, period: { start, end } });
    const per1 = (start: string, end: string) => checker.checkResource(encounter(start, end)).issues.filter((i) => i.ruleKey === 'per-1').map((i) => i.severity);
    expect(per1('2023-06-21', '2023-06-21T06:20:00Z')).toEqual(['error']);
    expect(per1('2023-06-21T07:00:00Z', '2023-06-21T06:20:00Z')).toEqual(['error']);
    expect(per1('2023-06-20', '2023-06-21T06:20:00Z')).toEqual([]);
    expect(per1('2023-06-21T06:00:00+01:00', '2023-06-21T06:20:00Z')).toEqual([]);
  });
});
