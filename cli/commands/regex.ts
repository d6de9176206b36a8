/**
 * `cloudjail regex <INPUT> <FILTER>`: the fail2ban-regex of cloudjail. Tests a filter (built-in
 * name, or a fail2ban `.conf` path, with parameters) against a log file, stdin, a literal line, or
 * CloudWatch events (`--events`, JSON Lines), with fail2ban-regex's statistics or a JSON Lines
 * contract (`--json`).
 */
import { isAscii } from 'node:buffer';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { loadBuiltinOrFileFilter } from '../../lambda/adapters/filter-files.js';
import type { Filter, LineOutcome, LogTextSink } from '../../lambda/core/filters/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { runProgram } from '../run-program.js';

interface RegexOptions {
  events?: boolean;
  json?: boolean;
  timezone?: string;
  now?: string;
  checkAll?: boolean;
  printAllMatched?: boolean;
  printAllMissed?: boolean;
  printAllIgnored?: boolean;
}

/** One unit of input: a line of a file, or one CloudWatch event. */
interface InputItem {
  readonly n: number;
  readonly message: string;
  readonly timestamp?: number;
}

/**
 * `cloudjail regex` on its own: the fast start of cli/cloudjail.js, which runs this command from a
 * bundle of just its own modules. Same command (registered on a `cloudjail` program, as in
 * cli/main.ts) and the same mapping of errors to exit codes (cli/run-program.ts).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('cloudjail').showHelpAfterError().exitOverride();
  register(program);
  return runProgram(program, argv);
}

export function register(program: Command): void {
  program
    .command('regex')
    .description(
      'test a filter against a log, like fail2ban-regex (INPUT: file, "-" for stdin, or a literal line)',
    )
    .argument('<input>', 'log file, "-" for stdin, or a literal log line')
    .argument(
      '<filter>',
      'built-in filter with parameters (freeswitch[mode=extra]) or a .conf path',
    )
    .option('--events', 'INPUT is JSON Lines of CloudWatch events {"message", "timestamp"}')
    .option('--json', 'JSON Lines: one object per failure, then {"summary": ...}')
    .option('--timezone <zone>', 'zone of dates without one (IANA name or UTC+hhmm)', 'UTC')
    .option('--now <iso>', 'reference time for year-less dates (default: now)')
    .option('--no-check-all', 'stop at the first matching failregex of a line')
    .option('--print-all-matched', 'list every matched line')
    .option('--print-all-missed', 'list every missed line')
    .option('--print-all-ignored', 'list every ignored line')
    .addHelpText(
      'after',
      '\nExit codes: 0 done (whether or not anything matched), 2 bad input (file, filter, regex).',
    )
    .action(async (input: string, filterSpec: string, options: RegexOptions) => {
      await runRegex(input, filterSpec, options);
    });
}

function parseNow(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new CliError(`--now: not a date: ${JSON.stringify(text)}`);
  return t;
}

function looksLikePath(input: string): boolean {
  return (
    !/\s/.test(input) && (/^(?:\/|\.\.?\/|~)/.test(input) || /\.(?:log|txt|jsonl?)$/.test(input))
  );
}

const CHUNK_BYTES = 8 << 20;

/** The UTF-8 text of `bytes` up to its last `\n` (never inside a multi-byte sequence), and the rest. */
function cutAtLastNewline(bytes: Buffer, final: boolean): { text: string; rest: Buffer } {
  const nl = final ? bytes.length - 1 : bytes.lastIndexOf(10);
  if (nl < 0) return { text: '', rest: bytes };
  return { text: bytes.toString('utf8', 0, nl + 1), rest: bytes.subarray(nl + 1) };
}

/**
 * The UTF-8 text of `bytes[0, end)`. An all-ASCII chunk (the usual log) decodes as Latin-1: the
 * same string (ASCII bytes are the same characters in both), made by a plain byte copy instead of
 * UTF-8 validation; any byte >= 0x80 makes it a UTF-8 decode.
 */
function decodeChunk(bytes: Buffer, end: number): string {
  return isAscii(bytes.subarray(0, end))
    ? bytes.toString('latin1', 0, end)
    : bytes.toString('utf8', 0, end);
}

/**
 * A log's text in large chunks of whole lines (decoded from UTF-8 as one piece each): the matcher
 * scans a chunk without splitting it into an array of lines.
 */
async function* textChunks(input: string): AsyncGenerator<string> {
  if (input !== '-' && existsSync(input) && statSync(input).isFile()) {
    // Two buffers: the next chunk is read (on libuv's thread pool) while this one is matched.
    const file = await open(input, 'r');
    try {
      let cur = Buffer.allocUnsafe(CHUNK_BYTES);
      let spare = Buffer.allocUnsafe(CHUNK_BYTES);
      let held = 0;
      let reading = file.read(cur, 0, cur.length, null);
      for (;;) {
        const { bytesRead } = await reading;
        const filled = held + bytesRead;
        const final = bytesRead === 0;
        if (filled === 0) return;
        const nl = final ? filled - 1 : cur.lastIndexOf(10, filled - 1);
        if (nl < 0) {
          // No line end yet: a line longer than the buffer grows it.
          if (filled === cur.length) {
            const bigger = Buffer.allocUnsafe(cur.length * 2);
            cur.copy(bigger, 0, 0, filled);
            cur = bigger;
            spare = Buffer.allocUnsafe(bigger.length);
          }
          held = filled;
          reading = file.read(cur, held, cur.length - held, null);
          continue;
        }
        held = filled - (nl + 1);
        cur.copy(spare, 0, nl + 1, filled);
        if (!final) reading = file.read(spare, held, spare.length - held, null);
        // `\n` never occurs inside a multi-byte UTF-8 sequence: the chunk decodes on its own.
        yield decodeChunk(cur, nl + 1);
        if (final) return;
        [cur, spare] = [spare, cur];
      }
    } finally {
      await file.close();
    }
  }
  if (input === '-') {
    let pending: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      pending.push(chunk);
      size += chunk.length;
      if (size < 1 << 20) continue;
      const { text, rest } = cutAtLastNewline(Buffer.concat(pending, size), false);
      if (text !== '') yield text;
      pending = [rest];
      size = rest.length;
    }
    if (size > 0) yield cutAtLastNewline(Buffer.concat(pending, size), true).text;
    return;
  }
  if (looksLikePath(input)) throw new CliError(`log file not found: ${input}`);
  yield input;
}

async function* readItems(input: string, events: boolean): AsyncGenerator<InputItem> {
  let lines: AsyncIterable<string> | Iterable<string>;
  if (input === '-') lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  else if (existsSync(input) && statSync(input).isFile()) {
    lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
  } else if (looksLikePath(input)) {
    throw new CliError(`log file not found: ${input}`);
  } else lines = [input];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (events) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new CliError(`${input === '-' ? 'stdin' : input}:${n}: not a JSON event`);
      }
      const event = parsed as { message?: unknown; timestamp?: unknown };
      if (typeof event.message !== 'string') {
        throw new CliError(
          `${input === '-' ? 'stdin' : input}:${n}: event has no "message" string`,
        );
      }
      if (event.timestamp !== undefined && typeof event.timestamp !== 'number') {
        throw new CliError(`${input === '-' ? 'stdin' : input}:${n}: "timestamp" must be epoch ms`);
      }
      yield {
        n,
        message: event.message,
        ...(typeof event.timestamp === 'number' ? { timestamp: event.timestamp } : {}),
      };
    } else {
      // fail2ban-regex skips comments and blank lines without counting them.
      if (line === '' || line.startsWith('#')) continue;
      yield { n, message: line };
    }
  }
}

function loadFilterForCli(spec: string): Filter {
  try {
    return loadBuiltinOrFileFilter(spec);
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.BadInput);
  }
}

async function runRegex(input: string, spec: string, options: RegexOptions): Promise<void> {
  const filter = loadFilterForCli(spec);
  const now = parseNow(options.now);
  const json = options.json ?? false;
  let matcher: ReturnType<Filter['createMatcher']>;
  try {
    matcher = filter.createMatcher({
      timeZone: options.timezone ?? 'UTC',
      checkAllRegex: json ? false : (options.checkAll ?? true),
    });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const stats = {
    lines: 0,
    matched: 0,
    ignored: 0,
    missed: 0,
    regexHits: filter.failregex.map(() => 0),
    ignoreHits: filter.ignoreregex.map(() => 0),
    dateHits: new Map<string, number>(),
    prefregexHits: 0,
  };
  const matchedLines: string[] = [];
  const missedLines: string[] = [];
  const ignoredLines: string[] = [];
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) {
      process.stdout.write(out.join(''));
      out.length = 0;
    }
  };
  const started = performance.now();
  const ctxNow = { now };
  // Date template hits of runs of lines with the same template are added up in one step.
  let lastTemplate: string | undefined;
  let lastTemplateHits = 0;
  const flushTemplate = () => {
    if (lastTemplate !== undefined) {
      stats.dateHits.set(lastTemplate, (stats.dateHits.get(lastTemplate) ?? 0) + lastTemplateHits);
    }
    lastTemplate = undefined;
    lastTemplateHits = 0;
  };
  const countTemplate = (name: string) => {
    flushTemplate();
    lastTemplate = name;
    lastTemplateHits = 1;
  };
  const handleOutcome = (o: LineOutcome, n: number) => {
    stats.lines++;
    if (o.dateTemplate) {
      if (o.dateTemplate === lastTemplate) lastTemplateHits++;
      else countTemplate(o.dateTemplate);
    }
    // A match whose id is not an IP (a hostname) is missed, as in fail2ban-regex offline.
    const status = o.status === 'matched' && o.failures.length === 0 ? 'missed' : o.status;
    if (status === 'matched') {
      stats.matched++;
      for (const r of o.regexHits) stats.regexHits[r] = (stats.regexHits[r] ?? 0) + 1;
      if (json) {
        for (const f of o.failures) {
          out.push(
            `${JSON.stringify({ n, host: f.host, time: f.time, failregex: f.failregex })}\n`,
          );
        }
        if (out.length > 512) flush();
      } else if (options.printAllMatched || matchedLines.length < 20) matchedLines.push(o.line);
    } else if (status === 'ignored') {
      stats.ignored++;
      if (o.ignoreHit !== undefined)
        stats.ignoreHits[o.ignoreHit] = (stats.ignoreHits[o.ignoreHit] ?? 0) + 1;
      if (!json && (options.printAllIgnored || ignoredLines.length <= 20))
        ignoredLines.push(o.line);
    } else {
      stats.missed++;
      if (!json && (options.printAllMissed || missedLines.length <= 20)) missedLines.push(o.line);
    }
  };
  const handle = (item: InputItem) => {
    const outcomes: readonly LineOutcome[] = matcher.matchEvent(
      item.message,
      item.timestamp !== undefined ? { now, timestamp: item.timestamp } : ctxNow,
    );
    for (const o of outcomes) handleOutcome(o, item.n);
  };
  if (options.events) {
    for await (const item of readItems(input, true)) handle(item);
  } else {
    const listMissed = !json;
    const sink: LogTextSink = {
      outcome(o, n) {
        handleOutcome(o, n);
      },
      missed(dateTemplate, text, start, end) {
        stats.lines++;
        stats.missed++;
        if (dateTemplate !== undefined) {
          if (dateTemplate === lastTemplate) lastTemplateHits++;
          else countTemplate(dateTemplate);
        }
        if (listMissed && (options.printAllMissed || missedLines.length <= 20)) {
          missedLines.push(text.slice(start, end));
        }
      },
    };
    let n = 0;
    for await (const text of textChunks(input)) n = matcher.matchLogText(text, now, sink, n + 1);
  }
  flushTemplate();
  const seconds = (performance.now() - started) / 1000;
  if (json) {
    out.push(
      `${JSON.stringify({ summary: { lines: stats.lines, matched: stats.matched, ignored: stats.ignored, missed: stats.missed } })}\n`,
    );
    flush();
    return;
  }
  const w = (s = '') => out.push(`${s}\n`);
  w('Running tests');
  w('=============');
  w();
  w(`Use   failregex filter file : ${filter.name}, file: ${filter.file}`);
  if (filter.datepattern !== undefined)
    w(`Use      datepattern : ${filter.datepattern.replace(/\n/g, ' ')}`);
  w(`Use         log file : ${input === '-' ? 'stdin' : input}`);
  w('Use         encoding : UTF-8');
  w();
  w('Results');
  w('=======');
  w();
  if (filter.prefregex !== undefined) {
    w(`Prefregex: ${stats.matched + stats.ignored} total`);
    w(`|  ${filter.prefregex}`);
    w('`-');
    w();
  }
  const total = stats.regexHits.reduce((a, b) => a + b, 0);
  w(`Failregex: ${total} total`);
  w('|-  #) [# of hits] regular expression');
  filter.failregex.forEach((re, i) => {
    w(`|   ${i + 1}) [${stats.regexHits[i]}] ${re}`);
  });
  w('`-');
  w();
  w(`Ignoreregex: ${stats.ignoreHits.reduce((a, b) => a + b, 0)} total`);
  if (filter.ignoreregex.length > 0) {
    w('|-  #) [# of hits] regular expression');
    filter.ignoreregex.forEach((re, i) => {
      w(`|   ${i + 1}) [${stats.ignoreHits[i]}] ${re}`);
    });
    w('`-');
  }
  w();
  w('Date template hits:');
  w('|- [# of hits] date format');
  for (const [name, hits] of [...stats.dateHits].sort((a, b) => b[1] - a[1]))
    w(`|  [${hits}] ${name}`);
  w('`-');
  w();
  w(
    `Lines: ${stats.lines} lines, ${stats.ignored} ignored, ${stats.matched} matched, ${stats.missed} missed`,
  );
  w(`[processed in ${seconds.toFixed(2)} sec]`);
  w();
  const list = (
    title: string,
    lines: string[],
    count: number,
    all: boolean | undefined,
    flag: string,
  ) => {
    if (count === 0) return;
    if (!all && count > 20) {
      w(`|- ${title}: too many to print.  Use --print-all-${flag} to print all ${count} lines`);
      return;
    }
    w(`|- ${title}:`);
    for (const l of lines) w(`|  ${l}`);
    w('`-');
  };
  if (options.printAllMatched)
    list('Matched line(s)', matchedLines, stats.matched, true, 'matched');
  list('Ignored line(s)', ignoredLines, stats.ignored, options.printAllIgnored, 'ignored');
  list('Missed line(s)', missedLines, stats.missed, options.printAllMissed, 'missed');
  flush();
}
