/**
 * What happens to one log line, as in fail2ban's `Filter.processLine`/`findFailure`: the date is
 * cut out, early ignoreregex, prefregex (with `<F-CONTENT>`), failregex, late ignoreregex veto,
 * multi-line buffer (`maxlines`) and `<F-MLFID>` sessions, then the failure id. The address is
 * validated with a real IP parser; a non-IP id is reported as unbannable, never banned.
 */
import { isCanonicalIpv4, normalizeHost } from '../ip-address.js';
import type { DateDetector, DateMatch } from './date/index.js';
import type {
  Failure,
  LineOutcome,
  LogMatcher,
  LogTextSink,
  MatcherCarry,
  MatcherOptions,
  Unbannable,
} from './index.js';
import { isPlainLine, type PreprocessStep, preprocessEvent } from './preprocess.js';
import { type CompiledRegex, execRegex, mayMatch, numberedTwin } from './regex.js';

export interface CompiledFilter {
  readonly prefregex: CompiledRegex | undefined;
  readonly failregex: readonly CompiledRegex[];
  readonly ignoreregex: readonly CompiledRegex[];
  readonly maxlines: number;
  readonly steps: readonly PreprocessStep[];
}

/** A physical line split around its date: fail2ban's "tuple line". */
type TupleLine = readonly [before: string, date: string, after: string];

interface Session {
  groups: Record<string, string | number>;
  /** Distinct users seen in the session: several users with one id is an attack. */
  users: Set<string>;
}

const MAX_SESSIONS = 1000;

function join(lines: readonly TupleLine[]): string {
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i] as TupleLine;
    if (i > 0) out += '\n';
    out += t[0] + t[2];
  }
  return out;
}

function search(re: CompiledRegex, text: string): RegExpExecArray | null {
  return execRegex(re, text);
}

/**
 * A prefregex or failregex as the per-line path runs it: through its numbered twin when it has
 * one (same matches, no `groups` object; see numberedTwin), else as compiled.
 */
interface Runner {
  readonly re: CompiledRegex;
  readonly twin: RegExp | undefined;
  readonly names: readonly string[];
  readonly numbers: readonly number[];
}

/** Runners by regex: a matcher is made per batch, its regexes' twins once per filter. */
const runners = new WeakMap<CompiledRegex, Runner>();

function runnerOf(re: CompiledRegex): Runner {
  const known = runners.get(re);
  if (known) return known;
  const t = numberedTwin(re);
  const runner: Runner = t
    ? { re, twin: t.regex, names: t.names, numbers: t.numbers }
    : { re, twin: undefined, names: [], numbers: [] };
  runners.set(re, runner);
  return runner;
}

function run(r: Runner, text: string, literalsChecked = false): RegExpExecArray | null {
  const twin = r.twin;
  if (twin === undefined) return execRegex(r.re, text, literalsChecked);
  if (!literalsChecked && !mayMatch(r.re, text)) return null;
  twin.lastIndex = 0;
  return twin.exec(text);
}

/** {@link groupsInto} for a match of {@link run}. */
function runGroupsInto<T extends Record<string, string | number>>(
  r: Runner,
  m: RegExpExecArray,
  out: T,
  skip?: string,
): T {
  if (r.twin === undefined) return groupsInto(r.re, m, out, skip);
  const { names, numbers } = r;
  for (let i = 0; i < names.length; i++) {
    const v = m[numbers[i] as number];
    const py = names[i] as string;
    if (v !== undefined && py !== skip) (out as Record<string, string | number>)[py] = v;
  }
  return out;
}

/** Lines of `buffer` outside the match [start, end) of `text` (= join(buffer)). */
function unmatchedLines(
  buffer: readonly TupleLine[],
  text: string,
  start: number,
  end: number,
): TupleLine[] {
  if (buffer.length <= 1) return [];
  let first = 0;
  for (let i = 0; i < start; i++) if (text.charCodeAt(i) === 10) first++;
  let last = first;
  for (let i = start; i < Math.max(start, end - 1); i++) if (text.charCodeAt(i) === 10) last++;
  return [...buffer.slice(0, first), ...buffer.slice(last + 1)];
}

const NONE: readonly never[] = Object.freeze([]);
const NO_LINES: readonly TupleLine[] = Object.freeze([]);

function outcome(
  line: string,
  status: LineOutcome['status'],
  dateTemplate: string | undefined,
  failures: readonly Failure[],
  unbannable: readonly Unbannable[],
  regexHits: readonly number[],
  ignoreHit?: number,
): LineOutcome {
  return ignoreHit === undefined
    ? { line, status, dateTemplate, failures, unbannable, regexHits }
    : { line, status, dateTemplate, failures, unbannable, regexHits, ignoreHit };
}

/**
 * The required literals of a filter's regexes (see literals.ts), flattened: a line whose text
 * (after the date is cut out) holds none of the literals of a stage cannot pass that stage, so it
 * is missed without running a regex. Exactly the checks {@link execRegex} makes before each regex,
 * made once per line instead of once per regex, and on positions of the log text instead of
 * substrings of it.
 */
interface Gate {
  /** Distinct literals; indexes below refer to this list. */
  readonly lits: readonly string[];
  /** Early ignoreregex: the literals of all of them; undefined when one has none (always runs). */
  readonly ignore: readonly number[] | undefined;
  /** Literals of the prefregex; undefined when there is no prefregex or it has none. */
  readonly pref: readonly number[] | undefined;
  /** Literals of all failregexes; undefined when one of them has none. */
  readonly fail: readonly number[] | undefined;
  /** Whether the gate can ever reject a line (else it is skipped). */
  readonly useful: boolean;
}

function buildGate(filter: CompiledFilter, earlyIgnore: boolean): Gate {
  const lits: string[] = [];
  const indexes = (regexes: readonly CompiledRegex[]): number[] | undefined => {
    const out: number[] = [];
    for (const re of regexes) {
      if (re.literals === undefined || re.literals.length === 0) return undefined;
      for (const l of re.literals) {
        let i = lits.indexOf(l);
        if (i < 0) i = lits.push(l) - 1;
        if (!out.includes(i)) out.push(i);
      }
    }
    return out;
  };
  const ignore = earlyIgnore ? indexes(filter.ignoreregex) : [];
  const pref = filter.prefregex ? indexes([filter.prefregex]) : undefined;
  const fail = indexes(filter.failregex);
  const useful =
    filter.maxlines === 1 &&
    (!earlyIgnore || ignore !== undefined) &&
    (pref !== undefined || fail !== undefined);
  return { lits, ignore, pref, fail, useful };
}

/** Whether `text` may pass the gate (some literal of each stage occurs). */
function gateText(g: Gate, earlyIgnore: boolean, text: string): boolean {
  if (earlyIgnore) {
    if (g.ignore === undefined) return true;
    for (let k = 0; k < g.ignore.length; k++) {
      if (text.includes(g.lits[g.ignore[k] as number] as string)) return true;
    }
  }
  // Both the prefregex and some failregex must be able to match; failregex literals are
  // usually the rarer ones, so they are looked for first.
  if (g.fail !== undefined) {
    let any = false;
    for (let k = 0; k < g.fail.length; k++) {
      if (text.includes(g.lits[g.fail[k] as number] as string)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (g.pref === undefined) return true;
  for (let k = 0; k < g.pref.length; k++) {
    if (text.includes(g.lits[g.pref[k] as number] as string)) return true;
  }
  return false;
}

/**
 * "Not found": past the end of any string V8 can make (2^29 - 24 characters), and a small integer,
 * so the memo arrays holding it keep V8's small-integer element kind (a double there would change
 * the arrays' map, and the next chunk's fresh array would deoptimize the compiled scanner).
 */
const FAR = 0x3fff_ffff;

/**
 * Whether literal `i` occurs in `text` within [from, to). `next[i]` memoizes the first occurrence
 * at or after the last `from` searched; valid because `from` only grows from line to line.
 */
function occurs(
  lits: readonly string[],
  next: Int32Array,
  i: number,
  text: string,
  from: number,
  to: number,
): boolean {
  const lit = lits[i] as string;
  let q = next[i] as number;
  if (q < from) {
    q = text.indexOf(lit, from);
    if (q < 0) q = FAR;
    next[i] = q;
  }
  return q + lit.length <= to;
}

/**
 * The first position at or after `from` in `text` of any of the literals `lits[set[k]]` (FAR:
 * none), with the memo `next` of {@link occurs}.
 */
function firstOf(
  lits: readonly string[],
  set: readonly number[],
  next: Int32Array,
  text: string,
  from: number,
): number {
  let first = FAR;
  for (let k = 0; k < set.length; k++) {
    const i = set[k] as number;
    let q = next[i] as number;
    if (q < from) {
      q = text.indexOf(lits[i] as string, from);
      if (q < 0) q = FAR;
      next[i] = q;
    }
    if (q < first) first = q;
  }
  return first;
}

/** {@link gateText} for the span [from, to) of `text`, with {@link occurs}. */
function gateSpan(
  g: Gate,
  earlyIgnore: boolean,
  next: Int32Array,
  text: string,
  from: number,
  to: number,
): boolean {
  const lits = g.lits;
  if (earlyIgnore) {
    if (g.ignore === undefined) return true;
    for (let k = 0; k < g.ignore.length; k++) {
      if (occurs(lits, next, g.ignore[k] as number, text, from, to)) return true;
    }
  }
  if (g.fail !== undefined) {
    let any = false;
    for (let k = 0; k < g.fail.length; k++) {
      if (occurs(lits, next, g.fail[k] as number, text, from, to)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (g.pref === undefined) return true;
  for (let k = 0; k < g.pref.length; k++) {
    if (occurs(lits, next, g.pref[k] as number, text, from, to)) return true;
  }
  return false;
}

/**
 * A dated line's time left to compute (see {@link LogTextSink.readsTimes}): the time of the date
 * that template `template` finds at the start of `line`.
 */
interface PendingTime {
  readonly line: string;
  readonly now: number;
  readonly template: number;
}

/** A line's time: its date's, the event's, the carried one, none (null), or pending. */
type LineTime = number | null | PendingTime;

/** The time of a pending date, computed once. */
function pendingTimeOf(dates: DateDetector, p: PendingTime): number | null {
  return dates.timeAt(p.line, p.now, p.template) ?? null;
}

/** Something whose `time` is a pending date's, converted when first read. */
abstract class PendingTimed {
  readonly #pending: PendingTime;
  readonly #dates: DateDetector;
  #time: number | null | undefined;
  constructor(pending: PendingTime, dates: DateDetector) {
    this.#pending = pending;
    this.#dates = dates;
  }
  get time(): number | null {
    if (this.#time === undefined) this.#time = pendingTimeOf(this.#dates, this.#pending);
    return this.#time;
  }
}

/** A {@link Failure} whose line's date is converted to a time when `time` is first read. */
class PendingTimeFailure extends PendingTimed implements Failure {
  constructor(
    readonly host: string,
    readonly failregex: number,
    readonly line: string,
    readonly groups: Readonly<Record<string, string>>,
    readonly id: string,
    pending: PendingTime,
    dates: DateDetector,
  ) {
    super(pending, dates);
  }
  toJSON(): Failure {
    const { host, time, failregex, line, groups, id } = this;
    return { host, time, failregex, line, groups, id };
  }
}

/** An {@link Unbannable} whose time is computed when first read. */
class PendingTimeUnbannable extends PendingTimed implements Unbannable {
  constructor(
    readonly id: string,
    readonly failregex: number,
    readonly groups: Readonly<Record<string, string>>,
    pending: PendingTime,
    dates: DateDetector,
  ) {
    super(pending, dates);
  }
  toJSON(): Unbannable {
    const { id, failregex, time, groups } = this;
    return { id, failregex, time, groups };
  }
}

/** Adds the named groups of match `m` of `re` to `out` by Python name, but `skip`. */
function groupsInto<T extends Record<string, string | number>>(
  re: CompiledRegex,
  m: RegExpExecArray,
  out: T,
  skip?: string,
): T {
  const g = m.groups;
  if (g === undefined) return out;
  for (const [js, py] of re.groupNames) {
    const v = g[js];
    if (v !== undefined && py !== skip) (out as Record<string, string | number>)[py] = v;
  }
  return out;
}

/** Named group `k` of a failure as a non-empty string, else undefined. */
function strOf(groups: Record<string, string | number>, k: string): string | undefined {
  const v = groups[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** What a matcher needs of its filter, computed once per filter (a matcher is made per batch). */
interface FilterPlan {
  /** ignoreregex runs before the failregexes (few ignoreregexes against many failregexes). */
  readonly earlyIgnore: boolean;
  readonly gate: Gate;
  /** Per failregex: whether its groups (with the prefregex's) include alt_ groups. */
  readonly altGroups: readonly boolean[];
  /** Per failregex: groups that may need filtering out (`__` names, or names alt groups add). */
  readonly dunderGroups: readonly boolean[];
  /** JS name of the prefregex's content group. */
  readonly prefContent: string | undefined;
  readonly prefRunner: Runner | undefined;
  readonly failRunners: readonly Runner[];
  /** Number of the content group in the prefregex's twin (-1: none or no twin). */
  readonly prefContentNumber: number;
  /** Whether the prefregex has groups besides its content. */
  readonly prefOtherGroups: boolean;
}

const plans = new WeakMap<CompiledFilter, FilterPlan>();

function planOf(filter: CompiledFilter): FilterPlan {
  const known = plans.get(filter);
  if (known) return known;
  const { prefregex, failregex, ignoreregex } = filter;
  const earlyIgnore = ignoreregex.length > 0 && ignoreregex.length < failregex.length - 2;
  const groupsOf = (re: CompiledRegex) => [...re.groups, ...(prefregex?.groups ?? [])];
  let prefContent: string | undefined;
  for (const [js, py] of prefregex?.groupNames ?? []) if (py === 'content') prefContent = js;
  const prefRunner = prefregex === undefined ? undefined : runnerOf(prefregex);
  const plan: FilterPlan = {
    earlyIgnore,
    gate: buildGate(filter, earlyIgnore),
    altGroups: failregex.map((re) => groupsOf(re).some((g) => g.startsWith('alt_'))),
    dunderGroups: failregex.map((re) =>
      groupsOf(re).some((g) => g.startsWith('__') || g.startsWith('alt_')),
    ),
    prefContent,
    prefRunner,
    failRunners: failregex.map(runnerOf),
    prefContentNumber:
      prefRunner?.twin === undefined
        ? -1
        : (prefRunner.numbers[prefRunner.names.indexOf('content')] ?? -1),
    prefOtherGroups: prefregex !== undefined && [...prefregex.groups].some((g) => g !== 'content'),
  };
  plans.set(filter, plan);
  return plan;
}

export function createLogMatcher(
  filter: CompiledFilter,
  dates: DateDetector,
  options: MatcherOptions,
): LogMatcher {
  const { prefregex, failregex, ignoreregex, maxlines } = filter;
  const checkAll = options.checkAllRegex ?? false;
  let buffer: TupleLine[] = [];
  /** Date of the last dated line: a continuation line without a date inherits it. */
  let lastTime: number | null = null;
  /**
   * A dated line whose time was not computed (a line matchLogText proved missed): lastTime is its
   * time, `dates.timeAt(pendingLine, pendingNow, pendingTemplate)`, computed when first read.
   */
  let pendingLine: string | undefined;
  let pendingNow = 0;
  let pendingTemplate = 0;
  const currentLastTime = (): number | null => {
    if (pendingLine !== undefined) {
      lastTime = dates.timeAt(pendingLine, pendingNow, pendingTemplate) ?? null;
      pendingLine = undefined;
    }
    return lastTime;
  };
  /** No dated line since the last resume(): lastTime is still the carried one. */
  let carriedTime = true;
  let readCarried = false;
  /** A line dated `time` was read: the next undated line takes that time. */
  const dated = (time: number): void => {
    lastTime = time;
    pendingLine = undefined;
    carriedTime = false;
  };
  /** A line without a date was read: it may have taken the carried time. */
  const undated = (): void => {
    if (carriedTime) readCarried = true;
  };
  const sessions = new Map<string, Session>();

  // Attackers repeat themselves: cache address normalization (a real IP parse) per matcher.
  const hostCache = new Map<string, string | null>();
  const normalizeCached = (text: string): string | undefined => {
    // The common case is its own canonical form, and cheaper to check than to look up.
    if (isCanonicalIpv4(text)) return text;
    let v = hostCache.get(text);
    if (v === undefined) {
      v = normalizeHost(text) ?? null;
      if (hostCache.size >= 10_000) hostCache.clear();
      hostCache.set(text, v);
    }
    return v ?? undefined;
  };
  const ignoreHit = (text: string): number | undefined => {
    for (let i = 0; i < ignoreregex.length; i++) {
      if (search(ignoreregex[i] as CompiledRegex, text)) return i;
    }
    return undefined;
  };

  const dating = !options.noDateParsing && dates.enabled;
  const {
    earlyIgnore,
    gate,
    altGroups,
    dunderGroups,
    prefContent,
    prefRunner,
    failRunners,
    prefContentNumber,
    prefOtherGroups,
  } = planOf(filter);
  /** The `<F-CONTENT>` of a prefregex match (of its twin when it has one). */
  const prefContentOf = (m: RegExpExecArray): string | undefined => {
    if (prefRunner?.twin !== undefined) {
      return prefContentNumber < 0 ? undefined : m[prefContentNumber];
    }
    return prefContent === undefined ? undefined : m.groups?.[prefContent];
  };

  /**
   * Records the failure (or unbannable id) of failregex `r`'s match `m` in `text`, as fail2ban's
   * findFailure does: multi-line buffer, alt groups, <F-MLFID> sessions, <F-NOFAIL>, the id.
   * Apart from processLine so that the per-line function stays small (it is compiled sooner).
   */
  const recordHit = (
    r: number,
    runner: Runner,
    m: RegExpExecArray,
    text: string,
    preGroups: Record<string, string> | undefined,
    time: LineTime,
    line: string,
    failures: Failure[],
    unbannable: Unbannable[],
  ): void => {
    if (maxlines > 1) buffer = unmatchedLines(buffer, text, m.index, m.index + m[0].length);
    let groups: Record<string, string | number> = runGroupsInto(runner, m, { ...preGroups });
    if (altGroups[r]) groups = withAltValues(groups);
    const mlfid = groups.mlfid as string | undefined;
    if (mlfid !== undefined) {
      const merged = mergeSession(sessions, mlfid, groups);
      groups = merged.groups;
      if (merged.nofail) return;
    } else if (groups.nofail !== undefined) {
      return;
    }
    const fid = strOf(groups, 'fid');
    const address = strOf(groups, 'ip4') ?? strOf(groups, 'ip6');
    const idText = fid ?? address ?? strOf(groups, 'dns');
    if (idText === undefined) {
      // Multi-line session still waiting for its address.
      if (mlfid !== undefined) {
        const s = sessions.get(mlfid);
        if (s) s.groups.mlfpending = 1;
      }
      return;
    }
    let stringGroups: Record<string, string>;
    if (mlfid === undefined && !dunderGroups[r]) {
      // A fresh object of strings only, and no `__` names: it is the groups as they are.
      stringGroups = groups as Record<string, string>;
    } else {
      stringGroups = {};
      for (const k in groups) {
        const v = groups[k];
        if (typeof v === 'string' && !k.startsWith('__')) stringGroups[k] = v;
      }
    }
    const host =
      (address !== undefined ? normalizeCached(address) : undefined) ??
      (fid !== undefined ? normalizeCached(fid) : undefined) ??
      normalizeCached(idText);
    if (typeof time === 'object' && time !== null) {
      if (host !== undefined) {
        failures.push(new PendingTimeFailure(host, r, line, stringGroups, idText, time, dates));
      } else unbannable.push(new PendingTimeUnbannable(idText, r, stringGroups, time, dates));
    } else if (host !== undefined) {
      failures.push({
        host,
        time,
        failregex: r,
        line,
        groups: stringGroups,
        id: idText,
      });
    } else unbannable.push({ id: idText, failregex: r, time, groups: stringGroups });
  };

  /**
   * One physical line. `detected`: the date match when the caller already ran date detection
   * (null: no date), undefined to detect here. `gated`: the caller already found that the line
   * passes the literal gate.
   */
  const processLine = (
    line: string,
    now: number,
    timestamp: number | undefined,
    detected?: DateMatch | null,
    gated = false,
  ): LineOutcome => {
    let time: LineTime = timestamp ?? null;
    let dateTemplate: string | undefined;
    let hasDate = false;
    let before = line;
    let after = '';
    let dateText = '';
    if (dating) {
      const d = detected === undefined ? dates.detect(line, now) : detected;
      if (d) {
        before = d.start === 0 ? '' : line.slice(0, d.start);
        // The date text itself is only kept in a multi-line buffer.
        if (maxlines > 1) dateText = line.slice(d.start, d.end);
        after = line.slice(d.end);
        time = d.time;
        dated(d.time);
        hasDate = true;
        dateTemplate = d.template;
      }
    }
    if (!hasDate) {
      undated();
      if (timestamp === undefined) time = currentLastTime();
    }
    return matchDated(line, before, dateText, after, time, dateTemplate, gated);
  };

  /**
   * The rest of {@link processLine} once the line is split around its date (`before`, the date
   * text, `after`) and its time is known (or pending).
   */
  const matchDated = (
    line: string,
    before: string,
    dateText: string,
    after: string,
    time: LineTime,
    dateTemplate: string | undefined,
    gated: boolean,
  ): LineOutcome => {
    let text: string;
    if (maxlines > 1) {
      buffer.push([before, dateText, after]);
      if (buffer.length > maxlines) buffer = buffer.slice(-maxlines);
      text = join(buffer);
    } else {
      text = before === '' ? after : after === '' ? before : before + after;
      buffer = NO_LINES as TupleLine[];
      // No regex of some stage can match: missed, as the regexes' own literal checks would say.
      if (!gated && gate.useful && !gateText(gate, earlyIgnore, text)) {
        return outcome(line, 'missed', dateTemplate, NONE, NONE, NONE);
      }
    }
    if (earlyIgnore) {
      const hit = ignoreHit(text);
      if (hit !== undefined) return outcome(line, 'ignored', dateTemplate, NONE, NONE, NONE, hit);
    }
    // With one line per buffer, the buffer is never read: it is only kept for maxlines > 1.
    let preGroups: Record<string, string> | undefined;
    if (prefRunner) {
      // A gated line is known to hold a literal of the prefregex.
      const m = run(prefRunner, text, gated && gate.pref !== undefined);
      if (!m) return outcome(line, 'missed', dateTemplate, NONE, NONE, NONE);
      if (prefOtherGroups) preGroups = runGroupsInto(prefRunner, m, {}, 'content');
      const content = prefContentOf(m);
      if (content) {
        if (maxlines > 1) buffer = [['', '', content]];
        text = content;
      }
    }
    const failures: Failure[] = [];
    const unbannable: Unbannable[] = [];
    const regexHits: number[] = [];
    let ignoredBy: number | undefined;
    for (let r = 0; r < failregex.length; r++) {
      const runner = failRunners[r] as Runner;
      const m = run(runner, text);
      if (!m) continue;
      if (ignoreregex.length > 0 && !earlyIgnore) {
        const hit = ignoreHit(text);
        if (hit !== undefined) {
          ignoredBy = hit;
          if (!checkAll) break;
          continue;
        }
      }
      regexHits.push(r);
      recordHit(r, runner, m, text, preGroups, time, line, failures, unbannable);
      if (!checkAll) break;
    }
    if (regexHits.length > 0) {
      return outcome(line, 'matched', dateTemplate, failures, unbannable, regexHits);
    }
    if (ignoredBy !== undefined) {
      return outcome(line, 'ignored', dateTemplate, failures, unbannable, regexHits, ignoredBy);
    }
    return outcome(line, 'missed', dateTemplate, failures, unbannable, regexHits);
  };

  /** Characters that make a line non-plain (see isPlainLine): it goes through matchEvent. */
  const specials = [
    '\r',
    '\x1b',
    ...(filter.steps.includes('ansi') ? ['#033['] : []),
    ...(filter.steps.includes('json') ? ['{'] : []),
  ];
  const specialLits = [...gate.lits, ...specials];
  /**
   * Literals without which no line passes the gate: those of the failregexes (of the prefregex
   * when they have none), and those of the early ignoreregexes, whose hit also lets a line in.
   */
  const stopLits = [
    ...new Set([...(earlyIgnore ? (gate.ignore ?? []) : []), ...(gate.fail ?? gate.pref ?? [])]),
  ];
  /** Indexes of the special characters in specialLits. */
  const specialSet = specials.map((_, k) => gate.lits.length + k);

  const matchEvent = (
    message: string,
    ctx: { now: number; timestamp?: number },
  ): readonly LineOutcome[] => {
    if (isPlainLine(message, filter.steps)) {
      return message === '' ? NONE : [processLine(message, ctx.now, ctx.timestamp)];
    }
    const lines = preprocessEvent(message, filter.steps);
    const out: LineOutcome[] = [];
    for (const line of lines) out.push(processLine(line, ctx.now, ctx.timestamp));
    return out;
  };

  /**
   * A line of matchLogText that is not a quick miss. `plain`: false when the line holds a
   * special character (matchEvent's preprocessing applies).
   */
  const otherLine = (
    line: string,
    text: string,
    start: number,
    end: number,
    n: number,
    now: number,
    plain: boolean,
    next: Int32Array,
    sink: LogTextSink,
  ): void => {
    if (!plain || !gate.useful) {
      for (const o of matchEvent(line, { now })) sink.outcome(o, n);
      return;
    }
    // `line` is a plain, non-empty line: matchEvent would run processLine on it.
    const d = dating ? (dates.detect(line, now) ?? null) : null;
    let possible: boolean;
    if (d === null || d.start === 0) {
      // The text the regexes see is the rest of the line after the date: a span of `text`.
      possible = gateSpan(gate, earlyIgnore, next, text, start + (d === null ? 0 : d.end), end);
    } else {
      possible = gateText(gate, earlyIgnore, line.slice(0, d.start) + line.slice(d.end));
    }
    if (possible) {
      sink.outcome(processLine(line, now, undefined, d, true), n);
      return;
    }
    if (d !== null) dated(d.time);
    else undated();
    sink.missed(d === null ? undefined : d.template, text, start, end, n);
  };

  const matchLogText = (
    text: string,
    now: number,
    sink: LogTextSink,
    firstLineNumber = 1,
  ): number => {
    // A typed array: its map never changes, so the compiled scanner stays valid across chunks.
    const next = new Int32Array(specialLits.length).fill(-1);
    let nextSpecial = -1;
    /** The first position at or after the line of a literal of {@link stopLits} (FAR: none). */
    let nextStop = -1;
    // The template tried first, its name and its quickEnd regex (null: none), kept up to date
    // after each line that detect may have moved to another template.
    const quickable = gate.useful && dating;
    const lazyTimes = sink.readsTimes === false;
    let template = dates.lastTemplate();
    let templateName = dates.templateName(template);
    let quick = quickable ? dates.quickRegex() : null;
    const len = text.length;
    let n = firstLineNumber - 1;
    let p = 0;
    while (p < len) {
      let e = text.indexOf('\n', p);
      if (e < 0) e = len;
      const start = p;
      p = e + 1;
      n++;
      // fail2ban-regex skips comments and blank lines without counting them.
      if (e === start || text.charCodeAt(start) === 35) continue;
      const end = text.charCodeAt(e - 1) === 13 ? e - 1 : e;
      if (end === start) continue;
      const line = text.slice(start, end);
      let plain = true;
      if (gate.useful) {
        // The first special character at or after `start` (one comparison per line).
        if (nextSpecial < start) nextSpecial = firstOf(specialLits, specialSet, next, text, start);
        if (nextSpecial < end) plain = false;
        else if (quick !== null) {
          // Most lines are missed: the whole line (so the rest after its date too) cannot pass the
          // gate, mostly told by the next stop literal lying beyond it, and quickEnd finds its
          // date (from the template tried first, and sure to convert). That is all there is to
          // know, without the date's time, which stays pending (computed if a later line reads
          // it).
          if (nextStop < start) nextStop = firstOf(specialLits, stopLits, next, text, start);
          const maybe = nextStop < end && gateSpan(gate, earlyIgnore, next, text, start, end);
          // A line that may pass is detected in full at once (quickEnd would only repeat the
          // date regex), unless the sink reads no times: then quickEnd's date is all it needs.
          if (!maybe || lazyTimes) {
            quick.lastIndex = 0;
            if (quick.test(line) && quick.lastIndex > 0) {
              const dateEnd = quick.lastIndex;
              pendingLine = line;
              pendingNow = now;
              pendingTemplate = template;
              carriedTime = false;
              if (maybe && gateSpan(gate, earlyIgnore, next, text, start + dateEnd, end)) {
                const time: PendingTime = { line, now, template };
                const after = line.slice(dateEnd);
                sink.outcome(matchDated(line, '', '', after, time, templateName, true), n);
              } else sink.missed(templateName, text, start, end, n);
              continue;
            }
          }
        }
      }
      otherLine(line, text, start, end, n, now, plain, next, sink);
      if (quickable && dates.lastTemplate() !== template) {
        template = dates.lastTemplate();
        templateName = dates.templateName(template);
        quick = dates.quickRegex();
      }
    }
    return n;
  };

  const carryOnly =
    maxlines === 1 &&
    ![prefregex, ...failregex, ...ignoreregex].some((re) => re?.groups.has('mlfid'));
  return {
    matchEvent,
    matchLogText,
    carryOnly,
    carry: (): MatcherCarry => ({
      dateTemplate: dates.lastTemplate(),
      lastTime: currentLastTime(),
    }),
    resume(carry) {
      dates.resumeFrom(carry.dateTemplate);
      lastTime = carry.lastTime;
      pendingLine = undefined;
      carriedTime = true;
      readCarried = false;
    },
    readCarriedTime: () => readCarried,
  };
}

/**
 * fail2ban's `_mergeFailure`: lines sharing an `<F-MLFID>` id form one session; a line marked
 * `<F-NOFAIL>` only records data (e.g. the address) for a later failure line.
 */
function mergeSession(
  sessions: Map<string, Session>,
  mlfid: string,
  fail: Record<string, string | number>,
): { groups: Record<string, string | number>; nofail: boolean } {
  let nofail = false;
  let gained = false;
  if (fail.mlfgained !== undefined) {
    gained = true;
    nofail = true;
  } else if (fail.nofail !== undefined) nofail = true;
  const forget = fail.mlfforget !== undefined;
  delete fail.mlfforget;
  const existing = sessions.get(mlfid);
  let groups = fail;
  let pending = false;
  const user = typeof fail.user === 'string' && fail.user !== '' ? fail.user : undefined;
  let users: Set<string> | undefined;
  if (existing) {
    users = existing.users;
    if (user !== undefined) users.add(user);
    const prev = existing.groups;
    let prevNofail = false;
    if (prev.nofail !== undefined) {
      delete prev.nofail;
      prevNofail = true;
    }
    if (prev.mlfgained !== undefined) {
      delete prev.mlfgained;
      prevNofail = true;
    }
    if (gained) delete prev.mlfpending;
    void prevNofail;
    for (const [k, v] of Object.entries(fail)) if (v !== undefined) prev[k] = v;
    groups = prev;
    if (forget) sessions.delete(mlfid);
  } else if (!forget) {
    if (sessions.size >= MAX_SESSIONS) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
    users = new Set(user !== undefined ? [user] : []);
    sessions.set(mlfid, { groups: fail, users });
  }
  if (groups.mlfpending !== undefined) {
    delete groups.mlfpending;
    pending = true;
  }
  if (pending || (users !== undefined && users.size > 1)) {
    delete groups.nofail;
    delete groups.mlfgained;
    nofail = false;
  }
  return { groups: { ...groups }, nofail };
}

const ALIASES: Readonly<Record<string, string>> = { id: 'fid', port: 'fport' };

/**
 * fail2ban's alternative groups: `<F-ALT_USER>`, `<F-ALT_USER1>`, ... fill `user` when it is
 * empty (first non-empty in name order).
 */
function withAltValues(groups: Record<string, string | number>): Record<string, string | number> {
  const alts = Object.keys(groups)
    .filter((k) => k.startsWith('alt_'))
    .sort();
  for (const k of alts) {
    const base = /^alt_(.*?)(?:_\d+)?$/.exec(k)?.[1] ?? '';
    const name = ALIASES[base] ?? base;
    const v = groups[k];
    if (v && !groups[name]) groups[name] = v;
  }
  return groups;
}
