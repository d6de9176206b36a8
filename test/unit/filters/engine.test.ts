import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FilterError } from '../../../lambda/core/errors.js';
import { createDateDetector } from '../../../lambda/core/filters/date/index.js';
import {
  type FilterFileSource,
  loadFilter,
  parseFilterSpec,
} from '../../../lambda/core/filters/index.js';
import { requiredLiterals } from '../../../lambda/core/filters/literals.js';
import { compilePythonRegex, execRegex } from '../../../lambda/core/filters/regex.js';

function files(map: Record<string, string>): FilterFileSource {
  return { read: (p) => map[p], list: () => [] };
}

const NOW = Date.UTC(2024, 3, 10, 12);

describe('Python re → JavaScript', () => {
  it('translates named groups, backreferences, \\Z and comments', () => {
    const r = compilePythonRegex(String.raw`^(?P<a>\w+)-(?P=a)(?#note)\Z`, {});
    expect(execRegex(r, 'ab-ab')?.groups?.a).toBe('ab');
    expect(execRegex(r, 'ab-ac')).toBeNull();
  });

  it('handles a leading global (?i) and fail2ban-style local ((?i)...) groups', () => {
    expect(execRegex(compilePythonRegex('(?i)^abc$', {}), 'ABC')).not.toBeNull();
    const local = compilePythonRegex('^x ((?i)expn|vrfy) y$', {});
    expect(execRegex(local, 'x EXPN y')).not.toBeNull();
    expect(execRegex(local, 'X EXPN y')).toBeNull();
  });

  it('accepts a literal ] first in a character class, as Python does', () => {
    expect(execRegex(compilePythonRegex('^[]a]+$', {}), 'a]a')).not.toBeNull();
  });

  it('emulates conditional groups (?(g)yes|no)', () => {
    const r = compilePythonRegex('^(?P<q>")?(?P<v>\\w+)(?(q)"|)$', {});
    expect(execRegex(r, '"abc"')?.groups?.v).toBe('abc');
    expect(execRegex(r, 'abc')?.groups?.v).toBe('abc');
    expect(execRegex(r, '"abc')).toBeNull();
  });

  it('names option and line for untranslatable constructs', () => {
    const where = { file: '/f.conf', option: 'failregex', line: 3 };
    expect(() => compilePythonRegex('a++', where)).toThrowError(
      /\/f\.conf failregex line 3: possessive quantifier/,
    );
    expect(() => compilePythonRegex('(?>a)', where)).toThrowError(/atomic group/);
    expect(() => compilePythonRegex('(?x) a', where)).toThrowError(/verbose/);
    expect(() => compilePythonRegex('(a', where)).toThrowError(/invalid regex/);
  });

  it('required literals never reject a text the regex matches (property)', () => {
    const pattern = String.raw`^foo (?:bar|baz)+ \[(?P<x>\d+)\] (?:qux)? end$`;
    const lits = requiredLiterals(pattern);
    expect(lits).toBeDefined();
    const re = compilePythonRegex(pattern, {});
    fc.assert(
      fc.property(
        fc.constantFrom('bar', 'baz', 'barbaz'),
        fc.nat(9999),
        fc.boolean(),
        (a, n, q) => {
          const text = `foo ${a} [${n}] ${q ? 'qux' : ''} end`;
          return execRegex(re, text) !== null && (lits ?? []).some((l) => text.includes(l));
        },
      ),
    );
  });
});

describe('filter specs', () => {
  it('parses bare, double-quoted and single-quoted parameters', () => {
    expect(parseFilterSpec(`f[mode=extra, a="x, y]", b='z']`)).toEqual({
      name: 'f',
      params: { mode: 'extra', a: 'x, y]', b: 'z' },
    });
  });

  it('rejects malformed specs with a clear message', () => {
    expect(() => parseFilterSpec('f[mode=extra')).toThrowError(/missing closing/);
    expect(() => parseFilterSpec('f[=x]')).toThrowError(/expected key=value/);
  });
});

describe('loadFilter + matcher', () => {
  const fs = files({
    '/d/t.conf': [
      '[Definition]',
      'prefregex = ^\\s*\\[WARN\\] <F-CONTENT>.+</F-CONTENT>$',
      'failregex = ^auth failed for <F-USER>\\S+</F-USER> from <HOST>$',
      '            ^banned host <HOST>$',
      'ignoreregex = for trusted ',
      'datepattern = ^%%Y-%%m-%%d %%H:%%M:%%S',
    ].join('\n'),
    '/d/nohost.conf': '[Definition]\nfailregex = ^no id here$\n',
    '/d/badre.conf': '[Definition]\nfailregex = ^ok <HOST>$\n  ^bad (?P<x <HOST>$\n',
  });

  it('cuts the date, applies prefregex content, reports host, time, regex index and groups', () => {
    const f = loadFilter('t', { files: fs, filterDir: '/d' });
    const [o] = f
      .createMatcher()
      .matchEvent('2024-04-09 17:05:44 [WARN] auth failed for bob from [2001:DB8::1]', {
        now: NOW,
      });
    expect(o?.status).toBe('matched');
    expect(o?.failures).toEqual([
      expect.objectContaining({
        host: '2001:db8::1',
        time: Date.UTC(2024, 3, 9, 17, 5, 44),
        failregex: 0,
        groups: expect.objectContaining({ user: 'bob' }),
      }),
    ]);
  });

  it('ignoreregex vetoes a match; a line without the prefix is missed', () => {
    const m = loadFilter('t', { files: fs, filterDir: '/d' }).createMatcher();
    expect(
      m.matchEvent('[WARN] auth failed for trusted from 192.0.2.1', { now: NOW })[0]?.status,
    ).toBe('ignored');
    expect(m.matchEvent('[INFO] banned host 192.0.2.1', { now: NOW })[0]?.status).toBe('missed');
  });

  it('falls back to the event timestamp when the line has no date', () => {
    const m = loadFilter('t', { files: fs, filterDir: '/d' }).createMatcher();
    const [o] = m.matchEvent('[WARN] banned host 192.0.2.9', { now: NOW, timestamp: 1234 });
    expect(o?.failures[0]?.time).toBe(1234);
  });

  it('reports a hostname as unbannable, never as a failure', () => {
    const m = loadFilter('t', { files: fs, filterDir: '/d' }).createMatcher();
    const [o] = m.matchEvent('[WARN] banned host evil.example.com', { now: NOW });
    expect(o?.failures).toEqual([]);
    expect(o?.unbannable[0]?.id).toBe('evil.example.com');
  });

  it('refuses a failregex without a failure-id group, naming the option and line', () => {
    expect(() => loadFilter('nohost', { files: fs, filterDir: '/d' })).toThrowError(
      /failregex line 1: No failure-id group/,
    );
  });

  it('names file, option and line of a bad regex', () => {
    expect(() => loadFilter('badre', { files: fs, filterDir: '/d' })).toThrowError(
      /\/d\/badre\.conf \[Definition\] failregex line 2/,
    );
  });

  it('an unknown filter is a FilterError naming the missing file', () => {
    expect(() => loadFilter('nope', { files: fs, filterDir: '/d' })).toThrow(FilterError);
    expect(() => loadFilter('nope', { files: fs, filterDir: '/d' })).toThrowError(
      /\/d\/nope\.conf/,
    );
  });
});

describe('date detection', () => {
  it('cuts a FreeSWITCH date and keeps the idle-CPU field', () => {
    const d = createDateDetector('^(?:%Y-)?%m-%d[ T]%H:%M:%S(?:\\.%f)?', {});
    const line = '2024-04-09 17:05:44.918273 97.44% [WARNING] x';
    const m = d.detect(line, NOW);
    expect(m && line.slice(0, m.start) + line.slice(m.end)).toBe(' 97.44% [WARNING] x');
    expect(m?.time).toBe(Date.UTC(2024, 3, 9, 17, 5, 44, 918));
  });

  it('infers the year of year-less dates from now, one year back when in the future', () => {
    const d = createDateDetector('{^LN-BEG}', { timeZone: 'UTC' });
    expect(d.detect('Apr  9 17:05:45 host x', NOW)?.time).toBe(Date.UTC(2024, 3, 9, 17, 5, 45));
    expect(d.detect('Nov  4 18:30:40 host x', NOW)?.time).toBe(Date.UTC(2023, 10, 4, 18, 30, 40));
  });

  it('applies the configured zone to dates without one, and explicit offsets win', () => {
    const zurich = createDateDetector(undefined, { timeZone: 'Europe/Zurich' });
    expect(zurich.detect('2024-07-01 12:00:00 x', NOW)?.time).toBe(Date.UTC(2024, 6, 1, 10));
    expect(zurich.detect('2024-07-01T12:00:00+00:00 x', NOW)?.time).toBe(Date.UTC(2024, 6, 1, 12));
  });

  it('{NONE} never finds a date; bad codes name the datepattern line', () => {
    expect(createDateDetector('{NONE}').detect('2024-01-01 00:00:00', NOW)).toBeUndefined();
    expect(() => createDateDetector('^%Y\n^%Q')).toThrowError(
      /datepattern line 2: unknown date code %Q/,
    );
  });

  it('reads epoch and long epoch stamps', () => {
    expect(createDateDetector('EPOCH').detect('1712682345.500 x', NOW)?.time).toBe(1712682345500);
    expect(createDateDetector('LEPOCH').detect('1712682345123 x', NOW)?.time).toBe(1712682345123);
  });
});
