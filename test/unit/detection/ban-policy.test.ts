import { describe, expect, it } from 'vitest';
import { type BantimeIncrement, banDuration } from '../../../lambda/core/policy/ban-policy.js';
import { PERMANENT } from '../../../lambda/core/policy/duration.js';

const H = 3_600_000;
const off: BantimeIncrement = { enabled: false, factor: 1, overalljails: false };
const on: BantimeIncrement = { enabled: true, factor: 1, overalljails: false };

describe('banDuration: bantime escalation for repeat offenders', () => {
  it('is bantime without escalation, or for a first ban', () => {
    expect(banDuration(H, 0, off)).toBe(H);
    expect(banDuration(H, 3, off)).toBe(H);
    expect(banDuration(H, 0, on)).toBe(H);
  });

  it('doubles per earlier ban by default (fail2ban formula), times the factor', () => {
    expect([1, 2, 3].map((n) => banDuration(H, n, on))).toEqual([2 * H, 4 * H, 8 * H]);
    expect(banDuration(H, 1, { ...on, factor: 3 })).toBe(6 * H);
    // The exponent is capped at 20.
    expect(banDuration(1000, 25, on)).toBe(1000 * 2 ** 20);
  });

  it('never gives a repeat offender less than bantime', () => {
    expect(banDuration(H, 1, { ...on, factor: 0.1 })).toBe(H);
  });

  it('uses multipliers when given, the last one repeating', () => {
    const inc = { ...on, multipliers: [1, 5, 30] };
    expect([1, 2, 3, 9].map((n) => banDuration(H, n, inc))).toEqual([
      5 * H,
      30 * H,
      30 * H,
      30 * H,
    ]);
  });

  it('caps at maxtime and keeps permanent bans permanent', () => {
    expect(banDuration(H, 10, { ...on, maxtime: 24 * H })).toBe(24 * H);
    expect(banDuration(PERMANENT, 3, on)).toBe(PERMANENT);
  });
});
