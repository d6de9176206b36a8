import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrInterval,
  envelope,
  intervalText,
  type TimedInterval,
} from '../../../agent/ip-intervals.js';

describe('cidrInterval / intervalText', () => {
  it('round-trips prefixes and writes other segments as ranges', () => {
    const v4 = cidrInterval('198.51.100.0/24');
    expect(v4.family).toBe(4);
    expect(intervalText(v4.interval, 4)).toBe('198.51.100.0/24');
    expect(intervalText(cidrInterval('203.0.113.7/32').interval, 4)).toBe('203.0.113.7');
    const v6 = cidrInterval('2001:db8:1::/64');
    expect(v6.family).toBe(6);
    expect(intervalText(v6.interval, 6)).toBe('2001:db8:1::/64');
    expect(intervalText({ start: 10n, end: 12n }, 4)).toBe('0.0.0.10-0.0.0.12');
  });
});

describe('envelope', () => {
  it('keeps a host ban that outlives the range around it', () => {
    const range = { ...cidrInterval('198.51.100.0/24').interval, expiresAt: 100 };
    const host = { ...cidrInterval('198.51.100.9/32').interval, expiresAt: 500 };
    const out = envelope([host, range]).map((s) => [intervalText(s, 4), s.expiresAt]);
    expect(out).toEqual([
      ['198.51.100.0-198.51.100.8', 100],
      ['198.51.100.9', 500],
      ['198.51.100.10-198.51.100.255', 100],
    ]);
  });

  it('drops duplicates and hosts inside a longer ban', () => {
    const range = { ...cidrInterval('198.51.100.0/24').interval, expiresAt: Infinity };
    const host = { ...cidrInterval('198.51.100.9/32').interval, expiresAt: 500 };
    expect(envelope([range, host, range]).map((s) => intervalText(s, 4))).toEqual([
      '198.51.100.0/24',
    ]);
  });

  // Random CIDRs in a 256-address space (prefixes /24-/32 of 192.0.2.0/24) with random expiries.
  const cidrArb = fc
    .record({
      prefix: fc.integer({ min: 24, max: 32 }),
      host: fc.integer({ min: 0, max: 255 }),
      expiresAt: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(Infinity)),
    })
    .map(({ prefix, host, expiresAt }) => {
      const size = 2 ** (32 - prefix);
      const network = host - (host % size);
      return { ...cidrInterval(`192.0.2.${network}/${prefix}`).interval, expiresAt };
    });

  it('gives every address the latest expiry covering it, with disjoint sorted segments', () => {
    fc.assert(
      fc.property(fc.array(cidrArb, { maxLength: 30 }), (items: TimedInterval[]) => {
        const out = envelope(items);
        for (let i = 1; i < out.length; i++) {
          expect(out[i]!.start).toBeGreaterThan(out[i - 1]!.end);
          const touching = out[i - 1]!.end + 1n === out[i]!.start;
          if (touching) expect(out[i]!.expiresAt).not.toBe(out[i - 1]!.expiresAt);
        }
        const base = cidrInterval('192.0.2.0/24').interval.start;
        for (let a = base; a < base + 256n; a++) {
          const want = Math.max(
            -1,
            ...items.filter((x) => x.start <= a && a <= x.end).map((x) => x.expiresAt),
          );
          const seg = out.find((s) => s.start <= a && a <= s.end);
          expect(seg?.expiresAt ?? -1).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });
});
