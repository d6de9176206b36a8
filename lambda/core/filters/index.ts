/**
 * The filter engine: loads fail2ban filter files (or ours, in the same format) and turns log events
 * into failures. Public entry point of `lambda/core/filters`.
 *
 * Pure: files are read through a {@link FilterFileSource}; time comes in as arguments.
 */
import { FilterError } from '../errors.js';
import { assembleFilter } from './assemble.js';
import { exponentialRisk, linearEngineCanRun } from './backtracking.js';
import { createDateDetector } from './date/index.js';
import { parseFilterSpec } from './filter-spec.js';
import type { FilterFileSource } from './ini.js';
import { type CompiledFilter, createLogMatcher } from './matcher.js';
import { parsePreprocessSteps } from './preprocess.js';
import { type CompiledRegex, compilePythonRegex, expandRegexTags } from './regex.js';

export type { FilterSpec } from './filter-spec.js';
export { parseFilterSpec } from './filter-spec.js';
export type { FilterFileSource } from './ini.js';

export interface LoadFilterOptions {
  files: FilterFileSource;
  /** Directory holding `<name>.conf` for bare names (fail2ban's filter.d). */
  filterDir: string;
  /**
   * Jail-level options (highest precedence): parameters such as `{ mode: 'normal' }` and jail
   * overrides of failregex/ignoreregex/prefregex/datepattern/maxlines/usedns.
   */
  jailOptions?: Readonly<Record<string, string>>;
}

export interface Failure {
  /** Canonical IP address (never a hostname: those are `unbannable`). */
  readonly host: string;
  /** Epoch ms of the line's own usable date, else the event timestamp, else null. */
  readonly time: number | null;
  /** 0-based index of the failregex that matched. */
  readonly failregex: number;
  /** The (first) log line of the match, after preprocessing. */
  readonly line: string;
  /** Named groups captured (user, fid, ...), lowercase names. */
  readonly groups: Readonly<Record<string, string>>;
  /** fail2ban's failure id: fid, else the address (as captured), else the DNS name. */
  readonly id: string;
}

export interface Unbannable {
  /** The id as captured: a hostname or another non-IP failure id. */
  readonly id: string;
  readonly failregex: number;
  readonly time: number | null;
  readonly groups: Readonly<Record<string, string>>;
}

export interface LineOutcome {
  readonly line: string;
  readonly status: 'matched' | 'ignored' | 'missed';
  /** Failures found on this line; empty unless matched. */
  readonly failures: readonly Failure[];
  /** Matches whose id is not an IP: reported, never banned (we never resolve DNS). */
  readonly unbannable: readonly Unbannable[];
  /** Name of the date template that hit, if any. */
  readonly dateTemplate?: string;
  /** Indexes of every failregex that matched (all of them with `checkAllRegex`). */
  readonly regexHits: readonly number[];
  /** Index of the ignoreregex that vetoed the line, when ignored. */
  readonly ignoreHit?: number;
}

export interface MatcherOptions {
  /** Zone of dates without one: IANA name, `UTC` or `UTC+0200`. Default UTC. */
  timeZone?: string;
  /** Try every failregex (fail2ban-regex statistics, sample tests), not only the first hit. */
  checkAllRegex?: boolean;
  /**
   * Process lines without date detection (fail2ban's journal mode in sample tests): the time is
   * the event timestamp.
   */
  noDateParsing?: boolean;
}

/**
 * What one line leaves for the next in a matcher without multi-line state (see
 * {@link LogMatcher.carryOnly}): a log may then be matched in pieces, each piece resumed from the
 * carry its predecessor ended with.
 */
export interface MatcherCarry {
  /** Index of the date template tried first: the last one that hit. */
  readonly dateTemplate: number;
  /** Time of the last dated line: an undated line takes it. */
  readonly lastTime: number | null;
}

export interface LogMatcher {
  /**
   * Matches one log event (a line, or a CloudWatch event whose message may hold several physical
   * lines). `now`: reference epoch ms for year-less dates; `timestamp`: the event's time, the
   * fallback for lines without a usable date.
   */
  matchEvent(message: string, ctx: { now: number; timestamp?: number }): readonly LineOutcome[];
  /**
   * Matches the lines of a log file's text as fail2ban-regex reads them: lines end at `\n`, a
   * trailing `\r` is dropped, blank lines and lines starting with `#` are skipped (but counted in
   * the line numbers). Each remaining line gets exactly the outcome `matchEvent(line, { now })`
   * would give it, in order, through the same matcher state. Lines that provably match nothing
   * (none of the required literals of the filter's regexes occurs after the date) are reported to
   * `sink.missed` without building an outcome; every other line goes to `sink.outcome`.
   * `text` should end at a line end: a final line without `\n` is taken as complete. Returns
   * the number of the last line (`firstLineNumber` - 1 + the lines in `text`).
   */
  matchLogText(text: string, now: number, sink: LogTextSink, firstLineNumber?: number): number;
  /**
   * Whether a line's outcome depends on earlier lines only through {@link carry}: `maxlines` is 1
   * and no regex has `<F-MLFID>` (no multi-line buffer, no sessions).
   */
  readonly carryOnly: boolean;
  /** The state the next line starts from. */
  carry(): MatcherCarry;
  /**
   * Continues as if the previous line had left `carry` (the start of a piece of a log), and
   * clears {@link readCarriedTime}.
   */
  resume(carry: MatcherCarry): void;
  /**
   * Whether a line since the last {@link resume} was processed without a date while the carried
   * `lastTime` was still in force: only then can the carried time have mattered.
   */
  readCarriedTime(): boolean;
}

/** Receives the lines of {@link LogMatcher.matchLogText}; `n` is the 1-based line number. */
export interface LogTextSink {
  /**
   * False when the sink never reads the `time` of a failure or unbannable id (fail2ban-regex's
   * statistics show none): a line's date may then be left unconverted until `time` is read, when it
   * is computed (the same value; `time` is then an accessor, which `JSON.stringify` includes and a
   * spread copy does not). Default true.
   */
  readonly readsTimes?: boolean;
  /** A line the full engine ran on: its outcome. */
  outcome(outcome: LineOutcome, n: number): void;
  /**
   * A line with the outcome `{ status: 'missed', dateTemplate, no failures, no hits }`, given as
   * `text.slice(start, end)` (not sliced unless the sink needs it).
   */
  missed(
    dateTemplate: string | undefined,
    text: string,
    start: number,
    end: number,
    n: number,
  ): void;
}

export interface Filter {
  readonly name: string;
  readonly file: string;
  readonly prefregex: string | undefined;
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  readonly datepattern: string | undefined;
  readonly maxlines: number;
  createMatcher(options?: MatcherOptions): LogMatcher;
}

const ID_GROUPS = ['fid', 'ip4', 'ip6', 'dns', 'mlfid'];

function splitLines(value: string | undefined): { text: string; line: number }[] {
  if (value === undefined) return [];
  return value
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter((l) => l.text.trim() !== '');
}

/** Resolves a spec's name to a filter file path. */
export function filterPath(name: string, filterDir: string): string {
  if (name.includes('/') || name.endsWith('.conf') || name.endsWith('.local')) return name;
  return `${filterDir.replace(/\/+$/, '')}/${name}.conf`;
}

/**
 * Loads a filter: `freeswitch`, `freeswitch[mode=extra]`,
 * `/etc/fail2ban/filter.d/sshd.conf[mode=aggressive]`.
 * @throws FilterError naming file, option and line.
 */
export function loadFilter(spec: string, options: LoadFilterOptions): Filter {
  const parsed = parseFilterSpec(spec);
  const path = filterPath(parsed.name, options.filterDir);
  if (options.files.read(path) === undefined) {
    throw new FilterError(
      parsed.name === path
        ? `filter file not found: ${path}`
        : `unknown filter '${parsed.name}' (no ${path})`,
    );
  }
  const jailOptions = { ...parsed.params, ...(options.jailOptions ?? {}) };
  const assembled = assembleFilter(path, options.files, jailOptions);
  const o = assembled.options;
  const where = (option: string, line?: number) => {
    const at = assembled.lines[option];
    return {
      file: at?.file ?? path,
      section: 'Definition',
      option,
      ...(line !== undefined ? { line } : {}),
    };
  };
  const maxlines = o.maxlines === undefined || o.maxlines.trim() === '' ? 1 : Number(o.maxlines);
  if (!Number.isInteger(maxlines) || maxlines < 1) {
    throw new FilterError(
      `maxlines must be a positive integer, got '${o.maxlines}'`,
      where('maxlines'),
    );
  }
  const multiline = maxlines > 1;
  const usedns = o.usedns?.trim();
  const compile = (option: string, text: string, line: number): CompiledRegex => {
    const expanded = expandRegexTags(text, usedns);
    if (expanded.trim() === '') throw new FilterError('empty regex', where(option, line));
    const compiled = compilePythonRegex(expanded, where(option, line), { multiline });
    const regexes = compiled.variants?.map((v) => v.regex) ?? [compiled.regex];
    if (!regexes.every(linearEngineCanRun)) {
      const risky = exponentialRisk(expanded);
      if (risky !== undefined) {
        throw new FilterError(
          `regex can take exponential time on hostile lines: ${JSON.stringify(risky)} repeats a repetition, and the regex uses a lookaround, backreference or (?i), so V8's linear-time engine cannot run it; make the inner repetition end at a character it cannot match (e.g. "\\w+=") or drop the lookaround/backreference/(?i)`,
          where(option, line),
        );
      }
    }
    return compiled;
  };
  const prefText = o.prefregex?.trim() ? o.prefregex.trim() : undefined;
  const prefregex = prefText ? compile('prefregex', prefText, 1) : undefined;
  const failLines = splitLines(o.failregex);
  const failregex = failLines.map((l) => compile('failregex', l.text, l.line));
  const ignoreLines = splitLines(o.ignoreregex);
  const ignoreregex = ignoreLines.map((l) => compile('ignoreregex', l.text, l.line));
  failregex.forEach((r, i) => {
    const has = (g: ReadonlySet<string>) => ID_GROUPS.some((n) => g.has(n));
    if (!has(r.groups) && !(prefregex && has(prefregex.groups))) {
      throw new FilterError(
        'No failure-id group in the regex (needs <HOST>, <ADDR>, <F-ID> or similar)',
        where('failregex', failLines[i]?.line),
      );
    }
  });
  if (failregex.length === 0) {
    throw new FilterError('no failregex defined', where('failregex'));
  }
  const datepattern = o.datepattern?.trim() ? o.datepattern : undefined;
  // Validate the datepattern now so a bad one fails at load time, not on the first line.
  createDateDetector(datepattern, {});
  let steps: ReturnType<typeof parsePreprocessSteps>;
  try {
    steps = parsePreprocessSteps(o.cloudjail_preprocess);
  } catch (e) {
    throw new FilterError((e as Error).message, where('cloudjail_preprocess'));
  }
  const compiled: CompiledFilter = { prefregex, failregex, ignoreregex, maxlines, steps };
  return {
    name: parsed.name.replace(/^.*\//, '').replace(/\.(conf|local)$/, ''),
    file: path,
    prefregex: prefText,
    failregex: failLines.map((l) => l.text),
    ignoreregex: ignoreLines.map((l) => l.text),
    datepattern,
    maxlines,
    createMatcher: (matcherOptions = {}) =>
      createLogMatcher(compiled, createDateDetector(datepattern, matcherOptions), matcherOptions),
  };
}
