/**
 * Event preprocessing for cloudjail's built-in filters.
 *
 * A filter selects steps in its own `[Definition]` with
 * `cloudjail_preprocess = ansi json firstline` (a helper variable that fail2ban ignores, so the
 * file still loads there). The engine calls {@link preprocessEvent} on every CloudWatch event
 * before date detection and regex matching.
 *
 * Pure: no I/O, no clock, no environment.
 */
import { FilterError } from '../errors.js';

/** One preprocessing step. */
export type PreprocessStep = 'ansi' | 'json' | 'firstline';

/** The steps in the order they are always applied, whatever order the filter lists them in. */
export const PREPROCESS_STEPS: readonly PreprocessStep[] = ['ansi', 'json', 'firstline'];

/** Name of the filter option that selects the steps. */
export const PREPROCESS_OPTION = 'cloudjail_preprocess';

/**
 * Parses the value of `cloudjail_preprocess` (steps separated by spaces and/or commas).
 * Returns the distinct steps in application order (ansi, json, firstline); `[]` for an absent or
 * blank value.
 * @throws FilterError naming the option and the unknown step.
 */
export function parsePreprocessSteps(value: string | undefined): PreprocessStep[] {
  if (value === undefined) return [];
  const wanted = new Set<PreprocessStep>();
  for (const word of value.split(/[\s,]+/)) {
    if (word === '') continue;
    const step = word.toLowerCase();
    if (!(PREPROCESS_STEPS as readonly string[]).includes(step)) {
      throw new FilterError(
        `unknown preprocessing step '${word}' (known: ${PREPROCESS_STEPS.join(', ')})`,
        { option: PREPROCESS_OPTION },
      );
    }
    wanted.add(step as PreprocessStep);
  }
  return PREPROCESS_STEPS.filter((s) => wanted.has(s));
}

/**
 * Turns one log event into the physical lines to match.
 *
 * Every physical line of an event is matched, as fail2ban matches every line of a file: an event
 * that holds a failure followed by untimestamped lines (a log shipper joined them) still counts
 * the failure.
 *
 * - Without steps: the message split on `\n` (a trailing `\r` is dropped from each line, as
 *   fail2ban strips line ends; a bare `\r` elsewhere stays, as in fail2ban), and a trailing empty
 *   line dropped.
 * - `ansi`: removes colour codes (SGR: `ESC[` digits and `;` then `m`), which FreeSWITCH's console
 *   writes around a line (`ESC[m ESC[35m` in front of a WARNING line) and Asterisk's around the
 *   level, file and function. Nothing else: any other escape stays as text, so an escape an
 *   attacker writes just before a `]` or a quote (`ESC]`, `ESC[]`) can never remove it, and no
 *   character the server wrote after a field (`]`, `'`, `"`, `)`, `@`, space) is ever part of what
 *   is removed.
 * - `json`: a line that is a FreeSWITCH (`mod_console json=true`) or Asterisk (`[json]` formatter)
 *   JSON record becomes the equivalent plain-text log line, so the same regexes apply; any other
 *   line is left unchanged. The record is ONE line: its message's server-written continuation
 *   lines (FreeSWITCH's two "Can't find user" hint lines, blank lines) are dropped, and any other
 *   newline in it (an attacker field holding a raw newline: an IAX2 peer name) is written `\n`, so
 *   it cannot forge a line of its own and the address slot at the end stays the server's.
 * - `firstline`: accepted for older filter files; no longer has an effect.
 *
 * Steps always run in the order ansi → json.
 */
export function preprocessEvent(message: string, steps: readonly PreprocessStep[]): string[] {
  if (isPlainLine(message, steps)) return message === '' ? [] : [message];
  let lines = splitLines(message);
  if (steps.includes('ansi')) lines = lines.map(stripAnsi);
  if (steps.includes('json')) lines = lines.flatMap((line) => jsonToPlain(line) ?? [line]);
  return lines;
}

/**
 * True when preprocessing would return `message` unchanged as its only line (one plain line: no
 * newline, carriage return, ANSI escape, or JSON when the json step is on). The common case, and
 * a fast path for the engine.
 */
export function isPlainLine(message: string, steps: readonly PreprocessStep[]): boolean {
  return (
    message.indexOf('\n') < 0 &&
    message.indexOf('\r') < 0 &&
    message.indexOf('\x1b') < 0 &&
    (steps.length === 0 || !steps.includes('json') || message.indexOf('{') < 0)
  );
}

/**
 * Lines that legitimately follow the first line of a multi-line record: FreeSWITCH's
 * `sofia_reg.c` "Can't find user" hint (two lines, the realm and user id quoted inside), and
 * blank lines. Fully anchored, and both end in fixed words, so a line that ends with a
 * server-written address can never pass as one (dropping one from a JSON message drops no
 * server-written address).
 */
const CONTINUATION_LINES: readonly RegExp[] = [
  /^\s*$/,
  /^You must define a domain called '[^'\n]*' in your directory and add a user with the id="[^"\n]*" attribute$/,
  /^and you must configure your device to use the proper domain in its authentication credentials\.$/,
];

/** Whether `line` is a known continuation line of a multi-line record (see `json`). */
export function isContinuationLine(line: string): boolean {
  return CONTINUATION_LINES.some((re) => re.test(line));
}

/** Splits on `\n`, drops a trailing `\r` per line and one trailing empty line. */
function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Colour codes only (SGR: ESC [ digits/semicolons m): nothing else is removed.
const SGR = /\u001b\[[0-9;]*m/g;

/** Removes the colour codes from one line (see `ansi`). */
export function stripAnsi(line: string): string {
  return line.replace(SGR, '');
}

/** FreeSWITCH `switch_log_level_t` numbers → the names its text log prints. */
const FS_LEVELS: readonly string[] = [
  'CONSOLE',
  'ALERT',
  'CRIT',
  'ERR',
  'WARNING',
  'NOTICE',
  'INFO',
  'DEBUG',
];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * Converts a FreeSWITCH or Asterisk JSON console line to plain text lines, or returns undefined
 * when the line is not such a record (not JSON, or JSON of another shape).
 */
export function jsonToPlain(line: string): string[] | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isObject(record)) return undefined;
  return isObject(record.logmsg) ? asteriskJson(record) : freeswitchJson(record);
}

/**
 * A JSON record's message as one line: without its trailing newline and its server-written
 * continuation lines, any other newline written as the two characters `\n` (see `json`).
 */
function messageLine(message: string): string {
  const [first = '', ...rest] = splitLines(message);
  return [first, ...rest.filter((l) => !isContinuationLine(l))].join('\\n');
}

/**
 * FreeSWITCH `switch_log_node_to_json`: `timestamp` (µs since the epoch), numeric `level`,
 * `file`, `line`, `message`. Output follows mod_logfile:
 * `YYYY-MM-DD HH:MM:SS.uuuuuuZ [LEVEL] file:line message` (UTC, marked `Z`).
 */
function freeswitchJson(r: Json): string[] | undefined {
  const message = r.message;
  const file = str(r.file);
  if (typeof message !== 'string' || file === undefined) return undefined;
  const levelName = fsLevelName(r.level);
  if (levelName === undefined) return undefined;
  const lineNo = str(r.line);
  const date = typeof r.timestamp === 'number' ? formatMicros(r.timestamp) : undefined;
  const head = `${date ? `${date} ` : ''}[${levelName}] ${file}${lineNo ? `:${lineNo}` : ''} `;
  return [`${head}${messageLine(message)}`];
}

function fsLevelName(level: unknown): string | undefined {
  if (typeof level === 'number' && Number.isInteger(level) && level >= 0) {
    return FS_LEVELS[Math.min(level, 7)];
  }
  if (typeof level === 'string' && /^[A-Z]+$/.test(level)) return level;
  return undefined;
}

/** Epoch µs → `YYYY-MM-DD HH:MM:SS.uuuuuuZ` in UTC; undefined when out of range. */
function formatMicros(micros: number): string | undefined {
  if (!Number.isFinite(micros) || micros < 0) return undefined;
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return undefined;
  const frac = String(Math.floor(micros % 1_000_000)).padStart(6, '0');
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${frac}Z`;
}

/**
 * Asterisk `[json]` formatter: `timestamp` (the configured dateformat, local time),
 * `identifiers.lwp`, `identifiers.callid`, `logmsg.level`, `logmsg.location.{filename,line,
 * function}`, `logmsg.message`. Output follows the `[plain]` formatter:
 * `[timestamp] LEVEL[lwp][C-…]: file:line function: message`.
 */
function asteriskJson(r: Json): string[] | undefined {
  const logmsg = r.logmsg as Json;
  const message = logmsg.message;
  const level = str(logmsg.level);
  if (typeof message !== 'string' || level === undefined || !/^[A-Z]+$/.test(level)) {
    return undefined;
  }
  const location = isObject(logmsg.location) ? logmsg.location : {};
  const file = str(location.filename);
  if (file === undefined) return undefined;
  const lineNo = str(location.line);
  const func = str(location.function);
  const ids = isObject(r.identifiers) ? r.identifiers : {};
  const lwp = str(ids.lwp);
  const callid = str(ids.callid)?.match(/^\[?(C-[0-9a-f]+)\]?$/)?.[1];
  const ts = str(r.timestamp);
  const where = lineNo && func ? `${file}:${lineNo} ${func}:` : `${file}:`;
  const head =
    `${ts ? `[${ts}] ` : ''}${level}${lwp ? `[${lwp}]` : ''}${callid ? `[${callid}]` : ''}: ` +
    `${where} `;
  return [`${head}${messageLine(message)}`];
}
