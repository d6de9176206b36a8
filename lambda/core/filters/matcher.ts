/**
 * What happens to one log line, as in fail2ban's `Filter.processLine`/`findFailure`: the date is
 * cut out, early ignoreregex, prefregex (with `<F-CONTENT>`), failregex, late ignoreregex veto,
 * multi-line buffer (`maxlines`) and `<F-MLFID>` sessions, then the failure id. The address is
 * validated with a real IP parser; a non-IP id is reported as unbannable, never banned.
 */
import { normalizeHost } from '../ip-address.js';
import type { DateDetector } from './date/index.js';
import type { Failure, LineOutcome, LogMatcher, MatcherOptions, Unbannable } from './index.js';
import { isPlainLine, type PreprocessStep, preprocessEvent } from './preprocess.js';
import { type CompiledRegex, execRegex, namedGroups } from './regex.js';

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

export function createLogMatcher(
  filter: CompiledFilter,
  dates: DateDetector,
  options: MatcherOptions,
): LogMatcher {
  const { prefregex, failregex, ignoreregex, maxlines } = filter;
  const checkAll = options.checkAllRegex ?? false;
  const earlyIgnore = ignoreregex.length > 0 && ignoreregex.length < failregex.length - 2;
  let buffer: TupleLine[] = [];
  /** Date of the last dated line: a continuation line without a date inherits it. */
  let lastTime: number | null = null;
  const sessions = new Map<string, Session>();

  // Attackers repeat themselves: cache address normalization (a real IP parse) per matcher.
  const hostCache = new Map<string, string | null>();
  const normalizeCached = (text: string): string | undefined => {
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

  const processLine = (line: string, now: number, timestamp: number | undefined): LineOutcome => {
    let time: number | null = timestamp ?? lastTime;
    let dateTemplate: string | undefined;
    let before = line;
    let after = '';
    let dateText = '';
    if (!options.noDateParsing && dates.enabled) {
      const d = dates.detect(line, now);
      if (d) {
        before = line.slice(0, d.start);
        dateText = line.slice(d.start, d.end);
        after = line.slice(d.end);
        time = d.time;
        lastTime = d.time;
        dateTemplate = d.template;
      }
    }
    let text: string;
    if (maxlines > 1) {
      buffer.push([before, dateText, after]);
      if (buffer.length > maxlines) buffer = buffer.slice(-maxlines);
      text = join(buffer);
    } else {
      text = before === '' ? after : after === '' ? before : before + after;
      buffer = NO_LINES as TupleLine[];
    }
    if (earlyIgnore) {
      const hit = ignoreHit(text);
      if (hit !== undefined) return outcome(line, 'ignored', dateTemplate, NONE, NONE, NONE, hit);
    }
    let preGroups: Record<string, string> = {};
    if (prefregex) {
      const m = search(prefregex, text);
      if (!m) return outcome(line, 'missed', dateTemplate, NONE, NONE, NONE);
      preGroups = namedGroups(prefregex, m);
      const content = preGroups.content;
      delete preGroups.content;
      if (content) {
        buffer = [['', '', content]];
        text = content;
      }
    } else if (maxlines <= 1) buffer = [[before, dateText, after]];
    const failures: Failure[] = [];
    const unbannable: Unbannable[] = [];
    const regexHits: number[] = [];
    const base = { line, dateTemplate, failures, unbannable, regexHits };
    let ignoredBy: number | undefined;
    for (let r = 0; r < failregex.length; r++) {
      const re = failregex[r] as CompiledRegex;
      const m = search(re, text);
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
      if (!checkAll || maxlines > 1) {
        buffer = unmatchedLines(buffer, text, m.index, m.index + m[0].length);
      }
      let groups: Record<string, string | number> = withAltValues({
        ...preGroups,
        ...namedGroups(re, m),
      });
      const mlfid = groups.mlfid as string | undefined;
      let nofail = false;
      if (mlfid !== undefined) {
        const merged = mergeSession(sessions, mlfid, groups);
        groups = merged.groups;
        nofail = merged.nofail;
        if (nofail) {
          if (!checkAll) break;
          continue;
        }
      } else if (groups.nofail !== undefined) {
        nofail = true;
        if (!checkAll) break;
        continue;
      }
      const str = (k: string) => {
        const v = groups[k];
        return typeof v === 'string' && v !== '' ? v : undefined;
      };
      const fid = str('fid');
      const address = str('ip4') ?? str('ip6');
      const idText = fid ?? address ?? str('dns');
      if (idText === undefined) {
        // Multi-line session still waiting for its address.
        if (mlfid !== undefined) {
          const s = sessions.get(mlfid);
          if (s) s.groups.mlfpending = 1;
        }
        if (!checkAll) break;
        continue;
      }
      const stringGroups: Record<string, string> = {};
      for (const [k, v] of Object.entries(groups)) {
        if (typeof v === 'string' && !k.startsWith('__')) stringGroups[k] = v;
      }
      const host =
        (address !== undefined ? normalizeCached(address) : undefined) ??
        (fid !== undefined ? normalizeCached(fid) : undefined) ??
        normalizeCached(idText);
      if (host !== undefined) {
        failures.push({
          host,
          time,
          failregex: r,
          line,
          groups: stringGroups,
          id: idText,
        });
      } else unbannable.push({ id: idText, failregex: r, time, groups: stringGroups });
      if (!checkAll) break;
    }
    if (regexHits.length > 0) return { ...base, status: 'matched' };
    if (ignoredBy !== undefined) return { ...base, status: 'ignored', ignoreHit: ignoredBy };
    return { ...base, status: 'missed' };
  };

  return {
    matchEvent(message, ctx) {
      if (isPlainLine(message, filter.steps)) {
        return message === '' ? NONE : [processLine(message, ctx.now, ctx.timestamp)];
      }
      const lines = preprocessEvent(message, filter.steps);
      const out: LineOutcome[] = [];
      for (const line of lines) out.push(processLine(line, ctx.now, ctx.timestamp));
      return out;
    },
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
