/**
 * fail2ban-compatible date detection: `datepattern` templates (strptime codes, `{^LN-BEG}`,
 * `{DEFAULT}`, `{DATE}`, `{UNB}`, `{NONE}`, `EPOCH`, `LEPOCH`, `TAI64N`) and fail2ban's 17 default
 * templates. The matched date (group 1 of the template) is cut out of the line by the caller.
 *
 * Pure: `now` is passed in; zones are resolved through `Intl`.
 */
import { FilterError } from '../../errors.js';
import { type CompiledRegex, compilePythonRegex, keepGroups, toPositional } from '../regex.js';
import { alwaysConverts, expandCodes, fieldsToEpoch } from './strptime.js';
import { zoneConverter } from './zone.js';

export interface DateMatch {
  /** Slice [start, end) of the line holding the date: what gets cut out. */
  readonly start: number;
  readonly end: number;
  /** Epoch ms (milliseconds kept when the line has a fraction). */
  readonly time: number;
  /** Display name of the template, for "Date template hits". */
  readonly template: string;
}

export interface DateDetector {
  detect(line: string, now: number): DateMatch | undefined;
  /** False for `{NONE}`: lines never carry a date. */
  readonly enabled: boolean;
  /** Index of the template tried first (the last one that hit). */
  lastTemplate(): number;
  /** Sets the template tried first (resuming a log from a carried state). */
  resumeFrom(template: number): void;
  /**
   * Fast path of {@link detect} for a line whose date is not needed: when `detect(line, now)`
   * would return a date at the start of the line from the template tried first, and that
   * template's dates always convert to a time (see `alwaysConverts`), the end of that date, with no
   * time computed and no state changed but what `detect` changes (none: the template stays the
   * first). Otherwise -1, and the caller runs `detect`. The time, when needed later, is
   * {@link timeAt}`(line, now, lastTemplate())`.
   */
  quickEnd(line: string): number;
  /**
   * The sticky, capture-free regex behind {@link quickEnd} for the template tried first (null:
   * none), for a caller's own loop: `re.lastIndex = 0; re.test(line) && re.lastIndex > 0` is
   * `quickEnd(line) > 0`, and `re.lastIndex` is then the end. Valid until the template tried first
   * changes ({@link detect}, {@link resumeFrom}).
   */
  quickRegex(): RegExp | null;
  /** Display name of template `i` (`lastTemplate()` after {@link quickEnd}). */
  templateName(i: number): string;
  /** The time of the date template `i` finds in `line` (a line {@link quickEnd} took). */
  timeAt(line: string, now: number, i: number): number | undefined;
}

export interface DateDetectorOptions {
  /** Zone of dates without one: IANA name, `UTC`, or `UTC+0200`. Default UTC. */
  readonly timeZone?: string;
}

const DEFAULT_TEMPLATES = [
  String.raw`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`,
  String.raw`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  String.raw`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`,
  '%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S',
  String.raw`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`,
  '%m/%d/%ExY:%H:%M:%S',
  String.raw`%m-%d-%ExY %k:%M:%S(?:\.%f)?`,
  'EPOCH',
  '{^LN-BEG}%H:%M:%S',
  '^<%m/%d/%Exy@%H:%M:%S>',
  '%Exy%Exm%Exd  ?%H:%M:%S',
  '%b %d, %ExY %I:%M:%S %p',
  '^%b-%d-%Exy %k:%M:%S',
  String.raw`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`,
  String.raw`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  String.raw`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  'TAI64N',
];

type Kind = 'pattern' | 'epoch' | 'lepoch' | 'tai64n';

interface Template {
  readonly name: string;
  readonly compiled: CompiledRegex;
  readonly kind: Kind;
  /** Anchored at line start (or end): a hit is accepted at once. */
  readonly anchored: boolean;
  /** The cut group is the plain group 1 of the user's pattern (needs match indices). */
  readonly userGroup: boolean;
  /** Every match converts to a time (see `alwaysConverts`): a hit needs no time to be a hit. */
  readonly converts?: boolean;
}

// Python-syntax boundaries, as fail2ban adds them.
const LINE_BEGIN = String.raw`^(?P<__pre>(?:\W{0,2})?)`;
const WORD_BEGIN = String.raw`(?=^|\b|\W)`;
const WORD_END = String.raw`(?=\b|\W|$)`;
const NO_WORD_BOUND_BEG = /^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)/;
const NO_WORD_BOUND_END = /(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$/;
const GROUPED = /(?<!\(\?)(?<!\\)\((?!\?)/;

function buildPattern(raw: string, where: { line: number }): Template {
  let pattern = raw;
  let wordBegin: boolean | 'start' = true;
  let wordEnd = true;
  if (pattern.startsWith('{UNB}')) {
    pattern = pattern.slice(5);
    wordBegin = false;
    wordEnd = false;
  }
  if (wordBegin && pattern.startsWith('{^LN-BEG}')) {
    pattern = pattern.slice(9);
    wordBegin = 'start';
  }
  const upper = pattern.toUpperCase();
  const special = /^(\^?)(EPOCH|LEPOCH|TAI64N)$/.exec(upper);
  if (special) return specialTemplate(special[2] as string, wordBegin === 'start' || !!special[1]);
  const expanded = expandCodes(pattern.trim());
  if (expanded.unknown) {
    throw new FilterError(`unknown date code ${expanded.unknown}`, {
      option: 'datepattern',
      line: where.line,
    });
  }
  let regex = expanded.regex;
  let flags = '';
  const gf = /(?:^|(?<!\\))\(\?[a-z]+\)/.exec(regex);
  if (gf) {
    flags = gf[0];
    regex = regex.replace(gf[0], '');
  }
  if (expanded.alpha) flags = `(?i)${flags}`;
  const boundBegin = wordBegin !== false && !NO_WORD_BOUND_BEG.test(regex);
  const boundEnd = wordEnd && !NO_WORD_BOUND_END.test(regex);
  const userGroup = GROUPED.test(regex);
  let anchored = /^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))/.test(regex);
  if (!userGroup) {
    const m = /^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)([\s\S]*?)(\$?)$/.exec(regex);
    regex = `${m?.[1] ?? ''}(?P<__cut>${m?.[2] ?? regex})${m?.[3] ?? ''}`;
  }
  if (boundBegin) {
    if (wordBegin === 'start') {
      regex = LINE_BEGIN + regex;
      anchored = true;
    } else regex = WORD_BEGIN + regex;
  }
  if (boundEnd) regex += WORD_END;
  if (/(?<![\\|])\$\)?$/.test(regex)) anchored = true;
  regex = regex.replace(/^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$/g, (s) => s.replace('**', ''));
  const name = `${wordBegin === 'start' ? '{^LN-BEG}' : ''}${expanded.name}`;
  const compiled = compilePythonRegex(flags + regex, { option: 'datepattern', line: where.line });
  if (userGroup) {
    // Match indices are needed to locate the user's group 1.
    const withIndices = new RegExp(compiled.regex.source, `${compiled.regex.flags}d`);
    return {
      name,
      compiled: { ...compiled, regex: withIndices },
      kind: 'pattern',
      anchored,
      userGroup,
    };
  }
  return {
    name,
    compiled,
    kind: 'pattern',
    anchored,
    userGroup,
    converts: alwaysConverts(pattern),
  };
}

function specialTemplate(kind: string, lineBegin: boolean): Template {
  const where = { option: 'datepattern' };
  if (kind === 'TAI64N') {
    const pre = lineBegin ? String.raw`^(?P<__pre>(?:\W{0,2})?)` : String.raw`(?:^|(?<=\s))`;
    const compiled = compilePythonRegex(`${pre}@(?P<__cut>[0-9a-f]{24})(?=\\b|\\W|$)`, where);
    return { name: 'TAI64N', compiled, kind: 'tai64n', anchored: lineBegin, userGroup: false };
  }
  const long = kind === 'LEPOCH';
  const num = long
    ? String.raw`\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`
    : String.raw`\d{10,11}\b(?:\.\d{3,6})?`;
  const body = lineBegin
    ? String.raw`^(?P<__pre>\[?)(?P<__cut>${num})(?=\b|\W|$)`
    : String.raw`(?:^(?P<__pre>)(?P<__cut>${num})(?=\b|\W|$)|(?<=^\[)(?P<__cut2>${num})(?=\])|(?<=\baudit\()(?P<__cut3>${num})(?=:\d+\)))`;
  const compiled = compilePythonRegex(body, where);
  return {
    name: long ? 'LongEpoch' : 'Epoch',
    compiled,
    kind: long ? 'lepoch' : 'epoch',
    anchored: lineBegin,
    userGroup: false,
  };
}

/** Default templates: line-anchored copies first (preferred), then the originals. */
function defaultTemplates(filter: 'all' | 'anchored'): Template[] {
  const anchoredCopies: Template[] = [];
  const originals: Template[] = [];
  for (const t of DEFAULT_TEMPLATES) {
    const original = buildPattern(t, { line: 0 });
    originals.push(original);
    if (!t.startsWith('{^LN-BEG}') && !t.startsWith('^')) {
      anchoredCopies.push(buildPattern(`{^LN-BEG}${t}`, { line: 0 }));
    }
  }
  const all = [...anchoredCopies, ...originals];
  return filter === 'anchored' ? all.filter((t) => t.anchored) : all;
}

/** Group numbers of the bookkeeping and cache fields in one regex (-1 when absent). */
interface Slots {
  readonly regex: RegExp;
  readonly cut: number;
  readonly cut2: number;
  readonly cut3: number;
  readonly pre: number;
  readonly Y: number;
  readonly y: number;
  readonly f: number;
}

interface Positional extends Slots {
  /**
   * The same regex with only the groups of {@link Slots} capturing: what the per-line path runs.
   * It matches exactly what the full regex matches (captures do not change matching), with a
   * shorter match array; the full regex runs again only when every strptime field is needed (a
   * date-cache miss, or a date without a year). Equal to the positional itself when the template
   * has no year field or the source cannot be reduced.
   */
  readonly lean: Slots;
  /** The strptime fields of a match of `regex` (no `__` bookkeeping), `f` only if `fraction`. */
  fields(m: RegExpExecArray, fraction: boolean): Record<string, string | undefined>;
}

const FIELD_NAMES = ['__pre', '__cut', '__cut2', '__cut3', ...'YymBbdHIpMSfzZjaAwUW'];

/** Quick regexes by template (callers set lastIndex before each use). */
const quickRegexes = new WeakMap<Template, RegExp | null>();
/** Positional forms by regex: detectors are made per batch, templates are shared (cached). */
const positionals = new WeakMap<CompiledRegex, Positional>();

function positionalOf(compiled: CompiledRegex): Positional {
  let p = positionals.get(compiled);
  if (p === undefined) {
    p = buildPositional(compiled);
    positionals.set(compiled, p);
  }
  return p;
}

function buildPositional(compiled: CompiledRegex): Positional {
  const { regex, index } = toPositional(compiled.regex);
  const pairs: [string, number][] = [];
  for (const [js, py] of compiled.groupNames) {
    const n = index.get(js);
    if (n !== undefined && FIELD_NAMES.includes(py)) pairs.push([py, n]);
  }
  const at = (name: string) => pairs.find(([n]) => n === name)?.[1] ?? -1;
  const full: Slots = {
    regex,
    cut: at('__cut'),
    cut2: at('__cut2'),
    cut3: at('__cut3'),
    pre: at('__pre'),
    Y: at('Y'),
    y: at('y'),
    f: at('f'),
  };
  let lean: Slots | undefined;
  if (full.Y >= 0 || full.y >= 0) {
    const slots = [full.cut, full.cut2, full.cut3, full.pre, full.Y, full.y, full.f];
    const reduced = keepGroups(regex, new Set(slots.filter((n) => n >= 0)));
    if (reduced) {
      const map = (n: number) => (n < 0 ? -1 : (reduced.index.get(n) ?? -1));
      lean = {
        regex: reduced.regex,
        cut: map(full.cut),
        cut2: map(full.cut2),
        cut3: map(full.cut3),
        pre: map(full.pre),
        Y: map(full.Y),
        y: map(full.y),
        f: map(full.f),
      };
    }
  }
  const fieldNames: string[] = [];
  const fieldNumbers: number[] = [];
  for (const [name, n] of pairs) {
    if (name.startsWith('__')) continue;
    fieldNames.push(name);
    fieldNumbers.push(n);
  }
  const positional: Positional = {
    ...full,
    lean: full,
    fields(m, fraction) {
      const out: Record<string, string | undefined> = {};
      for (let i = 0; i < fieldNames.length; i++) {
        const name = fieldNames[i] as string;
        if (!fraction && name === 'f') continue;
        const v = m[fieldNumbers[i] as number];
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
  return lean ? { ...positional, lean } : positional;
}

/** The strptime fields of a group view (drops the cut/prefix bookkeeping groups). */
function fieldsOf(
  g: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(g)) if (!k.startsWith('__')) out[k] = v;
  return out;
}

/** Milliseconds of a fraction-of-second digit string ("918273" → 918). */
function fractionMs(f: string): number {
  let ms = 0;
  for (let i = 0; i < 3; i++) {
    const c = f.charCodeAt(i);
    ms = ms * 10 + (c >= 48 && c <= 57 ? c - 48 : 0);
  }
  return ms;
}

/** Per-template cache of a date's epoch (without its fraction), keyed by its text. */
interface DateCache {
  readonly map: Map<string, number>;
  /** The last key looked up, as its text before and after the fraction, and its value. */
  prefix: string;
  suffix: string;
  base: number;
  primed: boolean;
}

/** Epoch ms of a TAI64N, EPOCH or LEPOCH date. */
function specialTime(kind: Kind, text: string): number {
  if (kind === 'tai64n') {
    const secs = BigInt(`0x${text.slice(0, 16)}`) - (1n << 62n);
    return Number(secs) * 1000 + Math.floor(Number.parseInt(text.slice(16), 16) / 1e6);
  }
  if (kind === 'epoch') return Math.floor(Number(text) * 1000);
  const [int = '', frac] = text.split('.');
  const scale = int.length > 13 ? 1e-3 : int.length > 11 ? 1 : 1000;
  return Math.floor(Number(int) * scale + (frac ? Number(`0.${frac}`) * scale : 0));
}

/** The strptime fields of `line`'s match, from the full regex (same match as the lean one). */
function fullFields(
  p: Positional,
  line: string,
  fraction: boolean,
): Record<string, string | undefined> {
  p.regex.lastIndex = 0;
  const m = p.regex.exec(line);
  return m ? p.fields(m, fraction) : {};
}

let defaultCache: { all?: Template[]; anchored?: Template[] } = {};

function cachedDefaults(filter: 'all' | 'anchored'): Template[] {
  defaultCache[filter] ??= defaultTemplates(filter);
  return defaultCache[filter] as Template[];
}

/** For tests: rebuilds default templates. */
export function resetDateTemplateCache(): void {
  defaultCache = {};
  patternCache.clear();
}

/**
 * The templates of a datepattern (immutable), built once per pattern text: a matcher (and so a
 * detector) is made per batch, and building a pattern compiles regexes.
 */
const patternCache = new Map<string, { templates: Template[]; none: boolean }>();

function patternTemplates(datepattern: string | undefined): {
  templates: Template[];
  none: boolean;
} {
  const key = datepattern ?? '\u0000default';
  const known = patternCache.get(key);
  if (known) return known;
  const templates: Template[] = [];
  let none = false;
  if (datepattern === undefined) templates.push(...cachedDefaults('all'));
  else {
    const lines = datepattern.split('\n');
    lines.forEach((rawLine, idx) => {
      const line = rawLine.trim();
      if (line === '') return;
      const key = line.includes('%') ? line : line.toUpperCase();
      if (key === '{^LN-BEG}') templates.push(...cachedDefaults('anchored'));
      else if (key === '{DEFAULT}') templates.push(...cachedDefaults('all'));
      else if (key === '{NONE}') none = true;
      else if (/(?<!\\)\{DATE\}/i.test(line)) {
        for (const t of DEFAULT_TEMPLATES) {
          if (t === 'EPOCH' || t === 'TAI64N') continue;
          const unbound = t.replace(/^\{\^LN-BEG\}/, '').replace(/^\^/, '');
          templates.push(
            buildPattern(line.replace(/(?<!\\)\{DATE\}/gi, unbound), { line: idx + 1 }),
          );
        }
      } else templates.push(buildPattern(line, { line: idx + 1 }));
    });
  }
  const built = { templates, none };
  if (patternCache.size >= 256) patternCache.clear();
  patternCache.set(key, built);
  return built;
}

/**
 * @param datepattern the option value after INI interpolation; undefined = fail2ban's defaults.
 * @throws FilterError (option `datepattern`, 1-based line of the value) on a bad pattern.
 */
export function createDateDetector(
  datepattern: string | undefined,
  options: DateDetectorOptions = {},
): DateDetector {
  const toEpoch = zoneConverter(options.timeZone);
  const { templates, none } = patternTemplates(datepattern);
  if (none && templates.length === 0) {
    return {
      enabled: false,
      detect: () => undefined,
      lastTemplate: () => 0,
      resumeFrom: () => {},
      quickEnd: () => -1,
      quickRegex: () => null,
      templateName: () => '',
      timeAt: () => undefined,
    };
  }
  let last = 0;
  // Per template (by index): its reduced regexes and its date cache, made on first use.
  const caches: (DateCache | undefined)[] = templates.map(() => undefined);
  // The reference date of `now`, for the last `now` asked (one per log read).
  let ymdOf = Number.NaN;
  let ymd: [number, number, number] = [0, 0, 0];
  const nowYmd = (now: number): [number, number, number] => {
    if (now !== ymdOf) {
      const wall = 2 * now - toEpoch(now);
      const d = new Date(wall);
      ymd = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
      ymdOf = now;
    }
    return ymd;
  };
  const positional: (Positional | undefined)[] = templates.map(() => undefined);
  /** Template `i`'s regexes with numbered groups, made on first use. */
  const positionalAt = (i: number): Positional => {
    let p = positional[i];
    if (p === undefined) {
      p = positionalOf((templates[i] as Template).compiled);
      positional[i] = p;
    }
    return p;
  };
  /** Per template: its sticky, capture-free regex for quickEnd (null: none), made on first use. */
  const quick: (RegExp | null | undefined)[] = templates.map(() => undefined);
  const quickRegex = (i: number): RegExp | null => {
    const t = templates[i] as Template;
    if (t.kind !== 'pattern' || t.userGroup || !t.converts) return null;
    const p = positionalAt(i);
    // The match is __pre + __cut (only zero-width checks follow the cut): with no __pre, or an
    // empty one, the match end is the date's end.
    if (p.cut < 0 || p.cut2 >= 0 || p.cut3 >= 0) return null;
    const bare = keepGroups(p.regex, new Set());
    if (!bare) return null;
    // A non-empty __pre would move the date's start off 0: a first character that is not \W
    // (by the regex's own flags) leaves it empty.
    const pre = t.compiled.groups.has('__pre') ? '(?!\\W)' : '';
    return new RegExp(pre + bare.regex.source, `${bare.regex.flags}y`);
  };
  const quickRegexAt = (i: number): RegExp | null => {
    let re = quick[i];
    if (re === undefined) {
      const t = templates[i] as Template;
      re = quickRegexes.get(t);
      if (re === undefined) {
        re = quickRegex(i);
        quickRegexes.set(t, re);
      }
      quick[i] = re;
    }
    return re;
  };
  /** A date key missed in place: looked up in the template's cache, computed when absent. */
  const lookupBase = (
    c: DateCache,
    text: string,
    prefixLen: number,
    suffixLen: number,
    groups: Record<string, string | undefined> | undefined,
    view: Positional | undefined,
    line: string,
    now: number,
  ): number => {
    const prefix = text.slice(0, prefixLen);
    const suffix = suffixLen === 0 ? '' : text.slice(text.length - suffixLen);
    const key = suffix === '' ? prefix : prefix + suffix;
    let base = c.map.get(key);
    if (base === undefined) {
      let whole: Record<string, string | undefined>;
      if (groups) {
        whole = fieldsOf(groups);
        delete whole.f;
      } else whole = fullFields(view as Positional, line, false);
      base = fieldsToEpoch(whole, now, toEpoch, nowYmd) ?? Number.NaN;
      if (c.map.size >= 4096) c.map.clear();
      c.map.set(key, base);
    }
    c.prefix = prefix;
    c.suffix = suffix;
    c.base = base;
    c.primed = true;
    return base;
  };
  const evaluate = (i: number, line: string, now: number): DateMatch | undefined => {
    const t = templates[i] as Template;
    let start: number;
    let text: string;
    // Year and fraction are read directly; the full field set is built only when needed (a
    // cache miss, or a year-less date), so the per-line path allocates next to nothing.
    let year: string | undefined;
    let fraction: string | undefined;
    // No closures here: tsx/esbuild wraps each closure creation in a costly `__name` call.
    let groups: Record<string, string | undefined> | undefined;
    let view: Positional | undefined;
    if (t.userGroup) {
      const re = t.compiled.regex;
      re.lastIndex = 0;
      const m = re.exec(line);
      if (!m) return undefined;
      const span = (m as RegExpExecArray & { indices?: [number, number][] }).indices?.[1];
      if (!span) return undefined;
      start = span[0];
      text = line.slice(span[0], span[1]);
      groups = m.groups ?? {};
      year = groups.Y ?? groups.y;
      fraction = groups.f;
    } else {
      const p = positionalAt(i);
      const q = p.lean;
      q.regex.lastIndex = 0;
      const m = q.regex.exec(line);
      if (!m) return undefined;
      const cut = q.cut < 0 ? undefined : m[q.cut];
      text =
        cut ?? (q.cut2 < 0 ? undefined : m[q.cut2]) ?? (q.cut3 < 0 ? undefined : m[q.cut3]) ?? m[0];
      start = m.index + (q.pre < 0 ? 0 : (m[q.pre]?.length ?? 0));
      if (cut === undefined && text !== m[0]) start = line.indexOf(text, m.index);
      year = q.Y < 0 ? undefined : m[q.Y];
      if (year === undefined && q.y >= 0) year = m[q.y];
      fraction = q.f < 0 ? undefined : m[q.f];
      view = p;
    }
    // An empty date (e.g. fail2ban's `^WARNING:()**` marker templates) means "no date here".
    if (text === '') return undefined;
    let time: number | undefined;
    if (t.kind === 'pattern') {
      if (year !== undefined) {
        // Dates with a year do not depend on `now`: cache them by their text without the
        // fraction (the fraction is the last field of every template that has one). Consecutive
        // lines mostly share that key, so it is compared with the previous one in place first.
        const f = fraction;
        const cut =
          f === undefined ? -1 : text.endsWith(f) ? text.length - f.length : text.lastIndexOf(f);
        const prefixLen = cut < 0 ? text.length : cut;
        const suffixLen = cut < 0 ? 0 : text.length - cut - (f as string).length;
        let c = caches[i];
        if (c === undefined) {
          c = { map: new Map(), prefix: '', suffix: '', base: Number.NaN, primed: false };
          caches[i] = c;
        }
        let base: number | undefined;
        if (
          c.primed &&
          c.prefix.length === prefixLen &&
          c.suffix.length === suffixLen &&
          (prefixLen === text.length ? text : text.slice(0, prefixLen)) === c.prefix &&
          (suffixLen === 0 || text.endsWith(c.suffix))
        ) {
          base = c.base;
        } else {
          base = lookupBase(c, text, prefixLen, suffixLen, groups, view, line, now);
        }
        time = Number.isNaN(base) ? undefined : f === undefined ? base : base + fractionMs(f);
      } else {
        time = fieldsToEpoch(
          groups ? fieldsOf(groups) : fullFields(view as Positional, line, true),
          now,
          toEpoch,
          nowYmd,
        );
      }
    } else time = specialTime(t.kind, text);
    if (time === undefined) return undefined;
    return { start, end: start + text.length, time, template: t.name };
  };
  return {
    enabled: true,
    lastTemplate: () => last,
    quickRegex: () => quickRegexAt(last),
    quickEnd(line) {
      const re = quickRegexAt(last);
      if (re === null) return -1;
      // Sticky at 0: a hit is the match detect's first evaluation finds (leftmost, at 0), so
      // detect returns it at once, with start 0.
      re.lastIndex = 0;
      if (!re.test(line)) return -1;
      const end = re.lastIndex;
      return end > 0 ? end : -1;
    },
    templateName: (i) => (templates[i] as Template).name,
    timeAt: (line, now, i) => evaluate(i, line, now)?.time,
    resumeFrom(template) {
      if (!Number.isInteger(template) || template < 0 || template >= templates.length) {
        throw new RangeError(`no date template ${template} (${templates.length} templates)`);
      }
      last = template;
    },
    detect(line, now) {
      const first = templates[last];
      if (first) {
        const hit = evaluate(last, line, now);
        if (hit && (first.anchored || hit.start === 0)) return hit;
      }
      let best: { hit: DateMatch; index: number } | undefined;
      for (let i = 0; i < templates.length; i++) {
        if (i === last) continue;
        const t = templates[i] as Template;
        const hit = evaluate(i, line, now);
        if (!hit) continue;
        if (t.anchored || hit.start === 0) {
          last = i;
          return hit;
        }
        if (!best || hit.start < best.hit.start) best = { hit, index: i };
      }
      if (first) {
        const hit = evaluate(last, line, now);
        if (hit && (!best || hit.start <= best.hit.start)) return hit;
      }
      if (best) {
        last = best.index;
        return best.hit;
      }
      return undefined;
    },
  };
}
