/**
 * The fast paths of the engine give the slow path's results:
 *
 * - `matchLogText` (a log's text scanned in place, with a literal gate that reports lines as
 *   missed without running a regex) against `matchEvent` on each line, as the regex CLI ran it
 *   before: split on `\n`, blank and `#` lines skipped, one trailing `\r` dropped;
 * - the date detector's in-place reuse of the previous line's date key against a fresh detector
 *   per line (no reuse, every date computed from all its fields);
 * - `keepGroups` (the lean date regexes) against the full regex.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_FILTER_DIR, nodeFilterFiles } from '../../../lambda/adapters/filter-files.js';
import { createDateDetector } from '../../../lambda/core/filters/date/index.js';
import { alwaysConverts } from '../../../lambda/core/filters/date/strptime.js';
import {
  type Filter,
  type FilterFileSource,
  type LineOutcome,
  loadFilter,
} from '../../../lambda/core/filters/index.js';
import { keepGroups } from '../../../lambda/core/filters/regex.js';

const NOW = Date.UTC(2024, 3, 10, 12);

function files(map: Record<string, string>): FilterFileSource {
  return {
    read: (p) => map[p] ?? nodeFilterFiles.read(p),
    list: (d) => nodeFilterFiles.list?.(d) ?? [],
  };
}

const SYNTHETIC = files({
  // prefregex + two failregexes, a late ignoreregex, a date at the line start.
  '/d/pref.conf': [
    '[Definition]',
    'prefregex = ^\\s*\\[WARN\\] <F-CONTENT>.+</F-CONTENT>$',
    'failregex = ^auth failed for <F-USER>\\S+</F-USER> from <HOST>$',
    '            ^banned host <HOST>$',
    'ignoreregex = for trusted ',
    'datepattern = ^%%Y-%%m-%%d %%H:%%M:%%S(?:\\.%%f)?',
  ].join('\n'),
  // No prefregex; three failregexes and one ignoreregex, so ignoreregex runs first ("early").
  '/d/early.conf': [
    '[Definition]',
    'failregex = auth failed for \\S+ from <HOST>$',
    '            banned host <HOST>$',
    '            rejected peer <HOST> by acl$',
    'ignoreregex = trusted-zone',
  ].join('\n'),
  // A date in the middle of the line: the text the regexes see joins what surrounds it.
  '/d/middle.conf': [
    '[Definition]',
    'failregex = ^host<F-ID>\\S+</F-ID> auth failed from <HOST>$',
    'datepattern = {UNB}@%%H:%%M:%%S@',
  ].join('\n'),
  // A failregex without a required literal: the gate cannot reject anything.
  '/d/open.conf': ['[Definition]', 'failregex = ^(?:\\w+ )*<HOST>$'].join('\n'),
  // Lines never carry a date.
  '/d/nodate.conf': [
    '[Definition]',
    'failregex = ^login failure from <HOST>$',
    'datepattern = {NONE}',
  ].join('\n'),
  // Multi-line buffer: matchLogText must run every line through the full engine.
  '/d/multi.conf': [
    '[Definition]',
    'failregex = ^session <F-MLFID>\\d+</F-MLFID> start$<SKIPLINES>^session \\d+ bad password from <HOST>$',
    'maxlines = 3',
  ].join('\n'),
});

const FS_PREF =
  '^%(__prefix_line)s(?:(?:\\d+-)?\\d+-\\d+ \\d+:\\d+:\\d+\\.\\d+)?(?: \\d+\\.\\d+%%)?';

function loadAll(): [string, Filter][] {
  const out: [string, Filter][] = [];
  for (const name of ['pref', 'early', 'middle', 'open', 'nodate', 'multi']) {
    out.push([name, loadFilter(name, { files: SYNTHETIC, filterDir: '/d' })]);
  }
  for (const spec of ['freeswitch', 'freeswitch[mode=normal]', 'asterisk']) {
    out.push([spec, loadFilter(spec, { files: nodeFilterFiles, filterDir: BUILTIN_FILTER_DIR })]);
  }
  // fail2ban's own freeswitch filter, with the idle-CPU prefix the benchmark uses, when installed.
  if (nodeFilterFiles.read('/etc/fail2ban/filter.d/freeswitch.conf') !== undefined) {
    const spec = `freeswitch[_pref_line="${FS_PREF}"]`;
    out.push([
      'fail2ban freeswitch',
      loadFilter(spec, { files: nodeFilterFiles, filterDir: '/etc/fail2ban/filter.d' }),
    ]);
  }
  return out;
}

const FILTERS = loadAll();

// Pieces of log lines: dates, prefixes and messages that match, nearly match or do not match.
const date = fc.oneof(
  fc.constant(''),
  fc
    .record({
      s: fc.integer({ min: 0, max: 3 }),
      f: fc.option(fc.integer({ min: 0, max: 999999 }), { nil: undefined }),
      y: fc.boolean(),
    })
    .map(
      ({ s, f, y }) =>
        `${y ? '2024-' : ''}04-09 17:05:4${s}${f === undefined ? '' : `.${String(f).padStart(6, '0')}`} `,
    ),
  fc.constant('04-31 25:61:99 '),
  fc.constant('Apr  9 17:05:44 '),
  fc.constant('@17:05:44@'),
);
const cpu = fc.constantFrom('', '97.44% ', '3.10% ');
const level = fc.constantFrom('[WARNING] ', '[WARN] ', '[DEBUG] ', 'NOTICE[12]: ', 'WARNING: ', '');
const source = fc.constantFrom('sofia_reg.c:1842 ', 'sofia.c:100 ', '[sofia_reg.c:3211] ', '');
const ip = fc.constantFrom(
  '203.0.113.9',
  '2001:db8::7',
  '[2001:db8::8]',
  'evil.example.com',
  '::1',
);
const message = fc.oneof(
  ip.map(
    (a) => `SIP auth failure (REGISTER) on sofia profile 'internal' for [1001@x] from ip ${a}`,
  ),
  ip.map((a) => `SIP auth challenge (INVITE) on sofia profile 'e' for [x@y] from ip ${a}`),
  ip.map((a) => `Can't find user [1001@pbx.example.com] from ${a}`),
  ip.map((a) => `auth failed for bob from ${a}`),
  ip.map((a) => `auth failed for trusted from ${a}`),
  ip.map((a) => `banned host ${a}`),
  ip.map((a) => `rejected peer ${a} by acl trusted-zone`),
  ip.map((a) => `rejected peer ${a} by acl`),
  ip.map((a) => `login failure from ${a}`),
  ip.map((a) => `Registration from '<sip:1001@x>' failed for '${a}:5060' - Wrong password`),
  fc.constantFrom(
    'Registered user 1001@x from 192.0.2.1:5060',
    'Channel sofia/internal/1001@x entering state [calling][0]',
    'banned',
    'nothing to see',
    'session 12 start',
    'session 12 bad password from 192.0.2.7',
    '{"level":"WARNING","msg":"x"}',
    '\x1b[33mcolour',
  ),
);
const line = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(date, cpu, level, source, message).map((p) => p.join('')) },
  // The date in the middle: `host` + date + `<id> auth failed ...` (a literal across the cut).
  { weight: 2, arbitrary: fc.tuple(date, ip).map(([d, a]) => `host${d}x auth failed from ${a}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '#comment', '# banned host 192.0.2.1', '\r', ' ') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);
const ending = fc.constantFrom('\n', '\r\n', '\n', '\n');
const logText = fc
  .array(fc.tuple(line, ending), { maxLength: 40 })
  .map((ls) => ls.map(([l, e]) => l + e).join(''));

interface Seen {
  readonly n: number;
  readonly line: string;
  readonly status: LineOutcome['status'];
  readonly dateTemplate: string | undefined;
  readonly failures: LineOutcome['failures'];
  readonly unbannable: LineOutcome['unbannable'];
  readonly regexHits: LineOutcome['regexHits'];
  readonly ignoreHit: number | undefined;
}

// Failures and unbannable ids field by field: a time computed when read is read here.
const seen = (o: LineOutcome, n: number): Seen => ({
  n,
  line: o.line,
  status: o.status,
  dateTemplate: o.dateTemplate,
  failures: o.failures.map((f) => ({
    host: f.host,
    time: f.time,
    failregex: f.failregex,
    line: f.line,
    groups: f.groups,
    id: f.id,
  })),
  unbannable: o.unbannable.map((u) => ({
    id: u.id,
    failregex: u.failregex,
    time: u.time,
    groups: u.groups,
  })),
  regexHits: o.regexHits,
  ignoreHit: o.ignoreHit,
});

/** The reference: every line through matchEvent, as fail2ban-regex reads a file. */
function slow(filter: Filter, text: string, checkAllRegex: boolean): Seen[] {
  const m = filter.createMatcher({ checkAllRegex });
  const out: Seen[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    if (raw === '' || raw.startsWith('#')) return;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    for (const o of m.matchEvent(l, { now: NOW })) out.push(seen(o, i + 1));
  });
  return out;
}

/**
 * matchLogText over `text` cut into chunks of whole lines at `cuts`; also counts fast misses, and
 * failures whose time is left to compute when read (only with `readsTimes` false).
 */
function fast(
  filter: Filter,
  text: string,
  checkAllRegex: boolean,
  cuts: readonly number[] = [],
  readsTimes = true,
): { seen: Seen[]; gated: number; pendingTimes: number } {
  const m = filter.createMatcher({ checkAllRegex });
  const out: Seen[] = [];
  let gated = 0;
  let pendingTimes = 0;
  const sink = {
    readsTimes,
    outcome: (o: LineOutcome, n: number) => {
      for (const f of o.failures) {
        if (Object.getOwnPropertyDescriptor(f, 'time') === undefined) pendingTimes++;
      }
      out.push(seen(o, n));
    },
    missed: (
      dateTemplate: string | undefined,
      t: string,
      start: number,
      end: number,
      n: number,
    ) => {
      gated++;
      out.push({
        n,
        line: t.slice(start, end),
        status: 'missed',
        dateTemplate,
        failures: [],
        unbannable: [],
        regexHits: [],
        ignoreHit: undefined,
      });
    },
  };
  // Chunk boundaries just after a `\n`.
  const bounds = [
    ...new Set(
      cuts
        .map((c) => text.indexOf('\n', Math.min(c, text.length)))
        .filter((i) => i >= 0)
        .map((i) => i + 1),
    ),
  ].sort((a, b) => a - b);
  let from = 0;
  let n = 0;
  for (const to of [...bounds, text.length]) {
    if (to <= from) continue;
    n = m.matchLogText(text.slice(from, to), NOW, sink, n + 1);
    from = to;
  }
  return { seen: out, gated, pendingTimes };
}

describe('matchLogText = matchEvent per line', () => {
  it.each(FILTERS)(
    '%s: same outcomes, in order, for generated logs (property)',
    (_name, filter) => {
      fc.assert(
        fc.property(logText, fc.boolean(), (text, checkAll) => {
          expect(fast(filter, text, checkAll).seen).toEqual(slow(filter, text, checkAll));
        }),
        { numRuns: 150 },
      );
    },
  );

  it.each(FILTERS)(
    '%s: same outcomes and times for a sink that reads no times (property)',
    (_name, filter) => {
      fc.assert(
        fc.property(
          logText,
          fc.boolean(),
          fc.array(fc.nat(4000), { maxLength: 3 }),
          (text, checkAll, cuts) => {
            expect(fast(filter, text, checkAll, cuts, false).seen).toEqual(
              slow(filter, text, checkAll),
            );
          },
        ),
        { numRuns: 100 },
      );
    },
  );

  it('gives the same outcomes when the text comes in chunks of whole lines (property)', () => {
    const filter = FILTERS.find(([n]) => n === 'freeswitch')?.[1] as Filter;
    fc.assert(
      fc.property(logText, fc.array(fc.nat(4000), { maxLength: 4 }), (text, cuts) => {
        expect(fast(filter, text, true, cuts).seen).toEqual(slow(filter, text, true));
      }),
      { numRuns: 150 },
    );
  });

  it('really takes the fast path for lines without the literals, and only for them', () => {
    const filter = FILTERS.find(([n]) => n === 'freeswitch')?.[1] as Filter;
    const text = [
      '2024-04-09 17:05:44.000001 97.44% [DEBUG] sofia.c:100 nothing to see',
      "2024-04-09 17:05:44.000002 97.44% [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [1001@x] from ip 203.0.113.9",
      '2024-04-09 17:05:45.5 97.44% [NOTICE] sofia_reg.c:1723 Registered user 1001@x from 192.0.2.1:5060',
      '',
    ].join('\n');
    const r = fast(filter, text, true);
    expect(r.gated).toBe(2);
    expect(r.seen.map((s) => s.status)).toEqual(['missed', 'matched', 'missed']);
    expect(r.seen).toEqual(slow(filter, text, true));
    expect(r.pendingTimes).toBe(0);
    // A sink that reads no times gets the matched line's failure with its time computed when
    // read: the same time.
    const lazy = fast(filter, text, true, [], false);
    expect(lazy.pendingTimes).toBe(1);
    expect(lazy.seen).toEqual(slow(filter, text, true));
    expect(lazy.seen[1]?.failures[0]?.time).toBe(Date.UTC(2024, 3, 9, 17, 5, 44));
  });

  it('a failure whose time is computed when read serializes like any other', () => {
    const filter = FILTERS.find(([n]) => n === 'freeswitch')?.[1] as Filter;
    const line =
      "2024-04-09 17:05:44.250000 97.44% [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [1001@x] from ip 203.0.113.9";
    const failures: LineOutcome['failures'][number][] = [];
    const sink = {
      readsTimes: false,
      outcome: (o: LineOutcome) => failures.push(...o.failures),
      missed: () => {},
    };
    filter.createMatcher({}).matchLogText(`x\n${line}\n`, NOW, sink);
    const [f] = failures;
    expect(Object.getOwnPropertyDescriptor(f, 'time')).toBeUndefined();
    const time = Date.UTC(2024, 3, 9, 17, 5, 44, 250);
    expect(JSON.parse(JSON.stringify(f))).toEqual({
      host: '203.0.113.9',
      time,
      failregex: f?.failregex,
      line,
      groups: { ...f?.groups },
      id: '203.0.113.9',
    });
    expect(f?.time).toBe(time);
  });

  it('never gates a multi-line filter (its buffer sees every line)', () => {
    const filter = FILTERS.find(([n]) => n === 'multi')?.[1] as Filter;
    const text = 'session 12 start\nnoise\nsession 12 bad password from 192.0.2.7\n';
    const r = fast(filter, text, true);
    expect(r.gated).toBe(0);
    expect(r.seen).toEqual(slow(filter, text, true));
    expect(r.seen.at(-1)?.status).toBe('matched');
  });
});

describe('date detection reuses the previous date key exactly', () => {
  const patterns: (string | undefined)[] = [
    undefined,
    '^(?:%%Y-)?%%m-%%d[ T]%%H:%%M:%%S(?:\\.%%f)?\n{^LN-BEG}',
    '{^LN-BEG}',
    '%%Y-%%m-%%d %%H:%%M:%%S(?:,%%f)? %%z',
    '^%%b %%d %%H:%%M:%%S',
  ].map((p) => p?.replaceAll('%%', '%'));
  const dated = fc.oneof(
    fc
      .record({
        y: fc.constantFrom('2024', '2023', ''),
        mo: fc.integer({ min: 0, max: 13 }),
        d: fc.integer({ min: 0, max: 32 }),
        h: fc.integer({ min: 0, max: 24 }),
        s: fc.integer({ min: 0, max: 2 }),
        f: fc.constantFrom('', '.5', '.918273', ',123', '.1234567'),
        z: fc.constantFrom('', ' +0200', ' Z', ' UTC'),
        rest: fc.constantFrom(' x', '', 'x', ' [WARN] y'),
      })
      .map(
        (r) =>
          `${r.y ? `${r.y}-` : ''}${String(r.mo).padStart(2, '0')}-${String(r.d).padStart(2, '0')} ${String(r.h).padStart(2, '0')}:05:0${r.s}${r.f}${r.z}${r.rest}`,
      ),
    fc.constantFrom('Apr  9 17:05:44 x', 'Feb 30 01:02:03 y', '[1712682344] z', 'no date'),
  );
  // Also dates after non-word characters (fail2ban's `{^LN-BEG}` admits up to two before the
  // date): found by detect, never by quickEnd, whose date starts the line. (Not in `dated`: a
  // detector that moved to the template finding them may then name another template than a fresh
  // one for a date both find, as fail2ban's does.)
  const datedOrAfter = fc.oneof(
    dated,
    fc.constantFrom('(2024-04-09 17:05:44 x', '-- 04-09 17:05:44 y', '[2024-04-09 17:05:44] z'),
  );
  const quickPatterns = [
    ...patterns,
    '{^LN-BEG}%b %d %k:%M:%S',
    '%H:%M:%S %d',
    '^%m(?:-%d)? %H:%M:%S',
  ];
  it.each(quickPatterns.map((p) => [p ?? '(default templates)', p]))(
    '%s: quickEnd hits only where detect finds that date, and timeAt gives its time (property)',
    (_name, pattern) => {
      let hits = 0;
      fc.assert(
        fc.property(fc.array(datedOrAfter, { maxLength: 30 }), (lines) => {
          const quick = createDateDetector(pattern, {});
          const twin = createDateDetector(pattern, {});
          for (const l of lines) {
            const first = quick.lastTemplate();
            const end = quick.quickEnd(l);
            // quickRegex is quickEnd for a caller's own loop: the same hits, the same end.
            const re = quick.quickRegex();
            if (re === null) expect(end).toBe(-1);
            else {
              re.lastIndex = 0;
              const hit = re.test(l) && re.lastIndex > 0;
              expect(hit ? re.lastIndex : -1).toBe(end);
            }
            // quickEnd changes no state: the twin's detect decides what comes next.
            expect(quick.lastTemplate()).toBe(first);
            const d = twin.detect(l, NOW);
            if (end > 0) {
              hits++;
              expect(d).toEqual({
                start: 0,
                end,
                time: quick.timeAt(l, NOW, first),
                template: quick.templateName(first),
              });
              expect(twin.lastTemplate()).toBe(first);
            }
            // Keep both on the same template, as the matcher does (it runs detect on a -1).
            if (end <= 0) quick.detect(l, NOW);
          }
        }),
        { numRuns: 100 },
      );
      // Patterns whose dates may not convert never take the quick path.
      const converts =
        pattern === undefined ||
        pattern === '{^LN-BEG}' ||
        pattern.split('\n').every((p) => p === '{^LN-BEG}' || alwaysConverts(p));
      if (converts) expect(hits).toBeGreaterThan(0);
      else expect(hits).toBe(0);
    },
  );

  it('alwaysConverts: only code patterns whose every match is a time', () => {
    expect(alwaysConverts('^(?:%Y-)?%m-%d[ T]%H:%M:%S(?:\\.%f)?')).toBe(true);
    expect(alwaysConverts('%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?')).toBe(
      true,
    );
    expect(alwaysConverts('%H:%M:%S')).toBe(true); // no date at all: today
    expect(alwaysConverts('%b %d %k:%M:%S')).toBe(false); // %k admits hour 24-29
    expect(alwaysConverts('%H:%M:%S %d')).toBe(false); // a day without a month
    expect(alwaysConverts('^%m(?:-%d)? %H:%M:%S')).toBe(false); // the day may be absent
    expect(alwaysConverts('%m-%d|%H:%M')).toBe(false); // alternation
    expect(alwaysConverts('%m-%d (\\d+)')).toBe(false); // a group of the user's
    expect(alwaysConverts('%m-%d (?P<H>\\d+)')).toBe(false); // a field of the user's
    expect(alwaysConverts('%j %H:%M')).toBe(false);
  });

  it.each(patterns.map((p) => [p ?? '(default templates)', p]))(
    '%s: one detector over many lines = a fresh detector per line (property)',
    (_name, pattern) => {
      fc.assert(
        fc.property(fc.array(dated, { maxLength: 30 }), (lines) => {
          const reused = createDateDetector(pattern, {});
          for (const l of lines) {
            const fresh = createDateDetector(pattern, {}).detect(l, NOW);
            expect(reused.detect(l, NOW)).toEqual(fresh);
          }
        }),
        { numRuns: 100 },
      );
    },
  );
});

describe('keepGroups', () => {
  it('matches exactly what the full regex matches, with the kept groups renumbered (property)', () => {
    const full = /^(a+)(?:-(\d+))?(b|c)\1(x)?(\d)?\3$/;
    const lean = keepGroups(full, new Set([2, 5]));
    expect(lean).toBeDefined();
    const { regex, index } = lean as NonNullable<typeof lean>;
    fc.assert(
      fc.property(fc.stringMatching(/^[a\-0-9bcx]{0,12}$/), (s) => {
        const a = full.exec(s);
        const b = regex.exec(s);
        expect(b?.[0]).toEqual(a?.[0]);
        expect(b?.index).toEqual(a?.index);
        if (a && b) {
          for (const n of [2, 5]) expect(b[index.get(n) as number]).toEqual(a[n]);
        }
      }),
      { numRuns: 500 },
    );
    const m = regex.exec('aa-12baa7b');
    expect(m?.[0]).toBe('aa-12baa7b');
    expect([m?.[index.get(2) as number], m?.[index.get(5) as number]]).toEqual(['12', '7']);
    // Groups 2 and 5 as asked, 1 and 3 because backreferences need them; 4 is dropped.
    expect(m?.length).toBe(1 + 4);
  });

  it('leaves sources with named groups alone', () => {
    expect(keepGroups(/(?<y>\d+)-(\d+)/, new Set([2]))).toBeUndefined();
  });
});
