/**
 * Runs fail2ban-format sample log files (`# failJSON:`, `# filterOptions:`, `# fileOptions:`,
 * `# addFILE:`) through cloudjail's filter engine with the semantics of fail2ban's
 * samplestestcase.py: every filter is checked with all its regexes, a line expected to match must
 * hit exactly one failregex with the expected host/time/groups, a line expected not to match must
 * produce nothing, and every failregex must be hit by at least one sample.
 *
 * Time is checked as naive wall-clock time in Europe/Zurich with now = 2005-08-14T10:00:00Z, as
 * fail2ban's tests do.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type Filter,
  type FilterFileSource,
  type LogMatcher,
  loadFilter,
} from '../../lambda/core/filters/index.js';
import { normalizeHost } from '../../lambda/core/ip-address.js';

export const TEST_NOW = Date.UTC(2005, 7, 14, 10, 0, 0);
export const TEST_ZONE = 'Europe/Zurich';

export interface SampleRunOptions {
  files: FilterFileSource;
  /** Directory of the filters; the filter for sample file `x` is `<filterDir>/x.conf`. */
  filterDir: string;
  /** Filter name; default: the sample file's name. */
  filterName?: string;
}

export interface SampleRunResult {
  readonly file: string;
  /** Test lines checked (line × option set). */
  readonly checked: number;
  /** Lines skipped because they need Python evaluation (`constraint`, `test.condition`). */
  readonly skipped: number;
  /** Every problem found, with file:line. Empty = pass. */
  readonly problems: string[];
}

type Options = Record<string, string>;

const DIRECTIVE = /^#+ ?(failJSON|filterOptions|fileOptions|addFILE):(.+)$/;
const IGNORED_KEYS = new Set(['time', 'match', 'desc', 'constraint', 'host', 'attempts']);

/** Naive "YYYY-mm-ddTHH:MM:SS[.ffffff]" in Europe/Zurich → epoch ms. */
export function zurichWallClock(text: string): number {
  const m = /^(\d{4})-(\d\d?)-(\d\d?)T(\d\d?):(\d\d?):(\d\d?)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`bad failJSON time ${text}`);
  const wall = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0,
  );
  // CET/CEST: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
  const year = Number(m[1]);
  const lastSunday = (month: number) => {
    const d = new Date(Date.UTC(year, month + 1, 0));
    return Date.UTC(year, month, d.getUTCDate() - d.getUTCDay(), 1);
  };
  const summer = wall - 7_200_000 >= lastSunday(2) && wall - 7_200_000 < lastSunday(9);
  return wall - (summer ? 7_200_000 : 3_600_000);
}

/** Evaluates the tiny subset of Python conditions the samples use; undefined = cannot. */
function evalCondition(expr: string, name: string): boolean | undefined {
  const m = /^\s*name\s*(==|!=)\s*['"]([^'"]+)['"]\s*$/.exec(expr);
  if (!m) return undefined;
  return m[1] === '==' ? name === m[2] : name !== m[2];
}

function asList(v: unknown): Options[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((o) => {
    const out: Options = {};
    for (const [k, val] of Object.entries((o ?? {}) as Record<string, unknown>)) {
      out[k] = String(val);
    }
    return out;
  });
}

/** Runs one sample file (and its `addFILE`s). */
export function runSampleFile(path: string, options: SampleRunOptions): SampleRunResult {
  const name = options.filterName ?? path.replace(/^.*\//, '');
  const problems: string[] = [];
  let checked = 0;
  let skipped = 0;
  const filters = new Map<string, { filter: Filter; matcher: LogMatcher; used: Set<number> }>();
  const usedRe = new Set<string>();
  const getFilter = (opts: Options) => {
    const key = JSON.stringify(opts);
    let entry = filters.get(key);
    if (!entry) {
      const params: Options = {};
      for (const [k, v] of Object.entries(opts)) if (!k.startsWith('test.')) params[k] = v;
      const filter = loadFilter(name, {
        files: options.files,
        filterDir: options.filterDir,
        jailOptions: params,
      });
      entry = {
        filter,
        used: new Set<number>(),
        matcher: filter.createMatcher({
          timeZone: TEST_ZONE,
          checkAllRegex: true,
          noDateParsing: opts['test.prefix-line'] !== undefined,
        }),
      };
      filters.set(key, entry);
    }
    return entry;
  };

  const runFile = (file: string) => {
    let optionSets: Options[] = [{}];
    let fileOptions: Options = {};
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const raw = (lines[i] ?? '').replace(/\r$/, '');
      const where = `${file.replace(/^.*\//, '')}:${i + 1}`;
      const d = DIRECTIVE.exec(raw);
      let expect: Record<string, unknown> | undefined;
      let testLine: string | undefined;
      if (d) {
        const value = JSON.parse(d[2] ?? 'null');
        if (d[1] === 'filterOptions') {
          optionSets = asList(value).map((o) => ({ ...fileOptions, ...o }));
          continue;
        }
        if (d[1] === 'fileOptions') {
          fileOptions = asList(value)[0] ?? {};
          optionSets = optionSets.map((o) => ({ ...fileOptions, ...o }));
          continue;
        }
        if (d[1] === 'addFILE') {
          runFile(join(dirname(file), String(value)));
          continue;
        }
        expect = value as Record<string, unknown>;
        i++;
        testLine = (lines[i] ?? '').replace(/\r$/, '');
      } else {
        if (raw.startsWith('#') || raw.trim() === '') continue;
        expect = {};
        testLine = raw;
      }
      for (const opts of optionSets) {
        const cond = opts['test.condition'];
        if (cond !== undefined) {
          const ok = evalCondition(cond, name);
          if (ok === undefined) {
            skipped++;
            continue;
          }
          if (!ok) continue;
        }
        if (expect.constraint !== undefined) {
          const ok = evalCondition(String(expect.constraint), name);
          if (ok === undefined) {
            skipped++;
            continue;
          }
          if (!ok) continue;
        }
        checked++;
        const { matcher, filter, used } = getFilter(opts);
        const prefix = opts['test.prefix-line'];
        const line = prefix !== undefined ? prefix + testLine : testLine;
        const outcomes = matcher.matchEvent(
          line,
          prefix !== undefined ? { now: TEST_NOW, timestamp: TEST_NOW } : { now: TEST_NOW },
        );
        const outcome = outcomes[0];
        const found = outcome ? [...outcome.failures, ...outcome.unbannable] : [];
        for (const r of outcome?.regexHits ?? []) {
          used.add(r);
          usedRe.add(filter.failregex[r] ?? '');
        }
        const label = `${where} ${JSON.stringify(opts)}`;
        if (!expect.match) {
          if (found.length > 0) problems.push(`${label}: matched but should not: ${testLine}`);
          continue;
        }
        if (!outcome || found.length === 0) {
          problems.push(`${label}: not matched but should: ${testLine}`);
          continue;
        }
        if (found.length > 1) {
          problems.push(`${label}: several regexes matched (${found.map((f) => f.failregex)})`);
          continue;
        }
        const hit = found[0];
        if (!hit) continue;
        const groups = hit.groups;
        if (expect.host !== undefined) {
          const want = String(expect.host);
          const got = groups.host ?? hit.id;
          const same =
            got === want ||
            ('host' in hit && hit.host === normalizeHost(want)) ||
            normalizeHost(got) === normalizeHost(want);
          if (!same) problems.push(`${label}: host ${got}, expected ${want}`);
        }
        if (expect.time !== undefined) {
          const want = zurichWallClock(String(expect.time));
          const hasFraction = String(expect.time).includes('.');
          const got =
            hit.time === null ? null : hasFraction ? hit.time : Math.floor(hit.time / 1000) * 1000;
          if (got !== want) {
            problems.push(
              `${label}: time ${got === null ? 'none' : new Date(got).toISOString()}, expected ${new Date(want).toISOString()} (${expect.time})`,
            );
          }
        }
        for (const [k, v] of Object.entries(expect)) {
          if (IGNORED_KEYS.has(k) || Array.isArray(v) || typeof v === 'object') continue;
          if ((groups[k] ?? null) !== (v === null ? null : String(v))) {
            problems.push(`${label}: group ${k}=${groups[k]}, expected ${v}`);
          }
        }
      }
    }
  };
  runFile(path);
  for (const { filter, used } of filters.values()) {
    filter.failregex.forEach((re, idx) => {
      if (!used.has(idx) && !usedRe.has(re))
        problems.push(`${name}: failregex ${idx} has no samples: ${re}`);
    });
  }
  return { file: path, checked, skipped, problems };
}
