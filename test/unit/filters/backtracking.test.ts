/**
 * No regex can hang the detector: a catastrophic user failregex costs milliseconds on a 64 KB
 * hostile line (V8's linear-time fallback, enabled by the filter loader), and a regex the
 * fallback cannot bound is refused at load with the file and line.
 */
import { describe, expect, it } from 'vitest';
import { loadBuiltinOrFileFilter } from '../../../lambda/adapters/filter-files.js';
import { FilterError } from '../../../lambda/core/errors.js';
import { exponentialRisk } from '../../../lambda/core/filters/backtracking.js';
import { loadFilter } from '../../../lambda/core/filters/index.js';

const FILE = '/filters/custom.conf';
const load = (failregex: string) =>
  loadFilter('custom', {
    filterDir: '/filters',
    files: {
      read: (p) =>
        p === FILE ? `[Definition]\n# a comment\nfailregex = ${failregex}\n` : undefined,
    },
  });

describe('regex cost on hostile lines', () => {
  it('matches a 64 KB hostile line with ^(?:\\w+\\s?)+ from <HOST>$ in well under 2 s', () => {
    // Loading through the adapter turns the fallback on (as the Lambda and the CLI do).
    loadBuiltinOrFileFilter('freeswitch');
    const filter = load('^(?:\\w+\\s?)+ from <HOST>$');
    const matcher = filter.createMatcher();
    // " from " is in both lines, so the regex runs (no literal pre-check skips it).
    const short = `${'a'.repeat(29)} from !`;
    const long = `${'ab '.repeat(22_000)} from !`;
    expect(long.length).toBeGreaterThan(64 * 1024);
    const started = performance.now();
    expect(matcher.matchEvent(short, { now: 0 })[0]?.status).toBe('missed');
    expect(matcher.matchEvent(long, { now: 0 })[0]?.status).toBe('missed');
    const ms = performance.now() - started;
    // Without the fallback the 36-character line alone takes tens of seconds.
    expect(ms).toBeLessThan(2000);
    // And the regex still matches what it should.
    const ok = matcher.matchEvent('login failed for bob from 192.0.2.7', { now: 0 });
    expect(ok[0]?.failures[0]?.host).toBe('192.0.2.7');
  });

  it('refuses, naming file and line, a nested repetition the linear engine cannot run', () => {
    let error: unknown;
    try {
      load('^(?:\\w+\\s?)+(?=x) from <HOST>$');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FilterError);
    const message = String((error as Error).message);
    expect(message).toContain('exponential');
    expect(message).toContain('(?:\\\\w+\\\\s?)+');
    expect(message).toContain(FILE);
    expect(message).toMatch(/line 1|:3/);
  });

  it('tells nested repetitions that can backtrack from those that cannot', () => {
    expect(exponentialRisk('^(?:\\w+\\s?)+ from x$')).toBe('(?:\\w+\\s?)+');
    expect(exponentialRisk('(?:\\s*\\S+)*$')).toBe('(?:\\s*\\S+)*');
    expect(exponentialRisk('(a+)+b')).toBe('(a+)+');
    // Each inner repetition ends at a character it cannot match: one way to split the text.
    expect(exponentialRisk('(?:,(?!RemoteAddress=)\\w+="[^"]*")*$')).toBeUndefined();
    expect(exponentialRisk('(?:(?!x).)*')).toBeUndefined();
    expect(exponentialRisk('(?:[0-9a-f]{1,4}::?|::){1,7}')).toBeUndefined();
  });

  it('loads the built-in filters (none is refused)', () => {
    expect(() => loadBuiltinOrFileFilter('freeswitch[mode=extra]')).not.toThrow();
    expect(() => loadBuiltinOrFileFilter('asterisk')).not.toThrow();
  });
});
