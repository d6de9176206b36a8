/**
 * `cloudjail regex <INPUT> <FILTER>`: the fail2ban-regex of cloudjail. Tests a filter (built-in
 * name, or a fail2ban `.conf` path, with parameters) against a log file, stdin, a literal line, or
 * CloudWatch events (`--events`, JSON Lines), with fail2ban-regex's statistics or a JSON Lines
 * contract (`--json`).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import type { Filter, LineOutcome, MatcherOptions } from '../../lambda/core/filters/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { runProgram } from '../run-program.js';
import { LITERAL_FILTER_FILE, loadRegexArgument } from './regex-filter.js';
import {
  debugLine,
  isPieceWorker,
  matchInPieces,
  type ParallelTuning,
  PiecePool,
  parallelTuning,
  runPieceWorker,
} from './regex-parallel.js';
import {
  createCounter,
  decodeChunk,
  failureJson,
  fileChunks,
  type Tally,
  type TallyOptions,
} from './regex-pieces.js';

// A worker thread matching a piece of a log runs this module (or its bundle) as its entry.
if (isPieceWorker()) runPieceWorker();

interface RegexOptions {
  events?: boolean;
  json?: boolean;
  timezone?: string;
  now?: string;
  checkAll?: boolean;
  printAllMatched?: boolean;
  printAllMissed?: boolean;
  printAllIgnored?: boolean;
  jobs?: number;
  logGroup?: string;
  since?: string;
  filterPattern?: string;
  local?: boolean;
  state?: string;
  region?: string;
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
 * cli/main.ts) and the same mapping of errors to exit codes (cli/run-program.ts). `moduleUrl`: the
 * URL of that bundle, which worker threads then run too.
 */
export async function main(
  argv: readonly string[],
  entry: { moduleUrl?: string } = {},
): Promise<number> {
  const program = new Command('cloudjail').showHelpAfterError().exitOverride();
  register(program, entry.moduleUrl);
  return runProgram(program, argv);
}

function parseJobs(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 256) {
    throw new InvalidArgumentError('a whole number of threads from 1 to 256');
  }
  return n;
}

/**
 * Adds `regex` to `program`. `moduleUrl`: the bundle of this module, run by worker threads;
 * without it they run this module's source through tsx.
 */
export function register(program: Command, moduleUrl?: string): void {
  program
    .command('regex')
    .description(
      'test a filter against a log, like fail2ban-regex (INPUT: file, "-" for stdin, or a literal line)',
    )
    .argument('[input]', 'log file, "-" for stdin, or a literal log line (not with --log-group)')
    .argument(
      '[filter]',
      'built-in filter with parameters (freeswitch[mode=extra]), a .conf path, or a literal failregex',
    )
    .argument('[ignoreregex]', "a literal ignoreregex (added to the filter's own)")
    .option('--events', 'INPUT is JSON Lines of CloudWatch events {"message", "timestamp"}')
    .option('--json', 'JSON Lines: one object per failure, then {"summary": ...}')
    .option('--timezone <zone>', 'zone of dates without one (IANA name or UTC+hhmm)', 'UTC')
    .option('--now <iso>', 'reference time for year-less dates (default: now)')
    .option('--no-check-all', 'stop at the first matching failregex of a line')
    .option('--print-all-matched', 'list every matched line')
    .option('--print-all-missed', 'list every missed line')
    .option('--print-all-ignored', 'list every ignored line')
    .option(
      '--jobs <n>',
      'threads matching a large log file (32 MiB or more) in pieces; 1: one thread',
      parseJobs,
      availableParallelism(),
    )
    .option('--log-group <name>', 'read the live log group (FilterLogEvents) instead of INPUT')
    .option('--since <duration>', 'with --log-group: how far back (default 1h)')
    .option('--filter-pattern <pattern>', 'with --log-group: a CloudWatch Logs filter pattern')
    .option('--local', "with --log-group: the `cloudjail local` server's CloudWatch Logs")
    .option('--state <file>', 'state file of the local server (with --local)')
    .option('--region <region>', 'with --log-group: AWS Region')
    .addHelpText(
      'after',
      '\nWith --log-group the only argument is the filter (default: the filter of the jail reading the group, with --local).\nExit codes: 0 done (whether or not anything matched), 2 bad input (file, filter, regex), 4 no such log group.',
    )
    .action(
      async (
        input: string | undefined,
        filterSpec: string | undefined,
        ignoreregex: string | undefined,
        options: RegexOptions,
      ) => {
        if (options.logGroup !== undefined) {
          await runRegexOnLogGroup(
            filterSpec === undefined ? input : undefined,
            filterSpec,
            options,
          );
          return;
        }
        if (input === undefined) throw new CliError("missing required argument 'input'");
        if (filterSpec === undefined) throw new CliError("missing required argument 'filter'");
        await runRegex(input, filterSpec, ignoreregex, options, moduleUrl);
      },
    );
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

/** The UTF-8 text of `bytes` up to its last `\n` (never inside a multi-byte sequence), and the rest. */
function cutAtLastNewline(bytes: Buffer, final: boolean): { text: string; rest: Buffer } {
  const nl = final ? bytes.length - 1 : bytes.lastIndexOf(10);
  if (nl < 0) return { text: '', rest: bytes };
  return { text: decodeChunk(bytes, nl + 1), rest: bytes.subarray(nl + 1) };
}

/** The size of `input` if it names a regular file, else undefined. */
function regularFileSize(input: string): number | undefined {
  if (input === '-' || !existsSync(input)) return undefined;
  const s = statSync(input);
  return s.isFile() ? s.size : undefined;
}

/**
 * A log's text in large chunks of whole lines (decoded from UTF-8 as one piece each): the matcher
 * scans a chunk without splitting it into an array of lines.
 */
async function* textChunks(input: string): AsyncGenerator<string> {
  if (regularFileSize(input) !== undefined) {
    yield* fileChunks(input);
    return;
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

function loadFilterForCli(spec: string, ignoreregex: string | undefined): Filter {
  try {
    return loadRegexArgument(spec, ignoreregex);
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.BadInput);
  }
}

/** `--log-group`: the input is the live log (cli/commands/regex-log-group.ts). */
async function runRegexOnLogGroup(
  spec: string | undefined,
  extra: string | undefined,
  options: RegexOptions,
): Promise<void> {
  if (extra !== undefined) throw new CliError('--log-group takes no INPUT: pass only the filter');
  // Imported on demand: in a bundle it is a chunk of its own, so `regex` on a file never loads
  // the AWS SDK.
  const { openLogGroupInput, filterOfLogGroup } = await import('./regex-log-group.js');
  const source = await openLogGroupInput({
    logGroup: options.logGroup as string,
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.filterPattern !== undefined ? { filterPattern: options.filterPattern } : {}),
    ...(options.local ? { local: true } : {}),
    ...(options.state !== undefined ? { state: options.state } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
  });
  try {
    const filter = spec ?? filterOfLogGroup(source.config, options.logGroup as string);
    await runRegex(
      source.label,
      filter,
      undefined,
      { ...options, jobs: 1 },
      undefined,
      source.chunks,
    );
  } finally {
    source.close();
  }
}

async function runRegex(
  input: string,
  spec: string,
  ignoreregex: string | undefined,
  options: RegexOptions,
  moduleUrl: string | undefined,
  chunks?: AsyncIterable<string>,
): Promise<void> {
  if (input !== '-' && existsSync(input) && statSync(input).isDirectory()) {
    throw new CliError(`${input} is a directory, not a log file`);
  }
  const json = options.json ?? false;
  const matcherOptions = {
    timeZone: options.timezone ?? 'UTC',
    checkAllRegex: json ? false : (options.checkAll ?? true),
  };
  const tallyOptions: TallyOptions = {
    json,
    printAllMatched: options.printAllMatched ?? false,
    printAllMissed: options.printAllMissed ?? false,
    printAllIgnored: options.printAllIgnored ?? false,
  };
  // A large log file may be matched in pieces on worker threads: they start now, to boot while
  // this thread loads the filter.
  const tuning = parallelTuning();
  const jobs = options.jobs ?? 1;
  const size = !options.events && jobs > 1 ? regularFileSize(input) : undefined;
  let pool: PiecePool | undefined;
  if (size !== undefined && size >= tuning.splitBytes && size > 0) {
    const setup = { spec, ...(ignoreregex !== undefined ? { ignoreregex } : {}) };
    pool = new PiecePool(jobs - 1, { ...setup, matcherOptions, tally: tallyOptions }, moduleUrl);
  }
  try {
    await runRegexWith(
      input,
      spec,
      ignoreregex,
      options,
      matcherOptions,
      tallyOptions,
      pool,
      size,
      tuning,
      chunks,
    );
  } finally {
    pool?.close();
  }
}

async function runRegexWith(
  input: string,
  spec: string,
  ignoreregex: string | undefined,
  options: RegexOptions,
  matcherOptions: MatcherOptions,
  tallyOptions: TallyOptions,
  pool: PiecePool | undefined,
  size: number | undefined,
  tuning: ParallelTuning,
  chunks?: AsyncIterable<string>,
): Promise<void> {
  const filter = loadFilterForCli(spec, ignoreregex);
  const now = parseNow(options.now);
  const json = tallyOptions.json;
  let matcher: ReturnType<Filter['createMatcher']>;
  try {
    matcher = filter.createMatcher(matcherOptions);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) {
      process.stdout.write(out.join(''));
      out.length = 0;
    }
  };
  const emit = (record: string) => {
    out.push(`${record}\n`);
    if (out.length > 512) flush();
  };
  const counter = createCounter(
    filter.failregex.length,
    filter.ignoreregex.length,
    tallyOptions,
    (n, f) => emit(failureJson(n, f)),
  );
  const started = performance.now();
  let stats: Tally;
  if (options.events && chunks === undefined) {
    const ctxNow = { now };
    for await (const item of readItems(input, true)) {
      const outcomes: readonly LineOutcome[] = matcher.matchEvent(
        item.message,
        item.timestamp !== undefined ? { now, timestamp: item.timestamp } : ctxNow,
      );
      for (const o of outcomes) counter.outcome(o, item.n);
    }
    stats = counter.finish();
  } else if (pool !== undefined && size !== undefined && matcher.carryOnly) {
    stats = await matchInPieces(
      pool,
      filter,
      matcher,
      input,
      size,
      now,
      tallyOptions,
      tuning,
      emit,
    );
  } else {
    if (pool !== undefined) {
      debugLine(tuning, 'one piece: the filter carries more than the date between lines');
      pool.close();
    }
    const sink = counter.sink;
    let n = 0;
    for await (const text of chunks ?? textChunks(input)) {
      n = matcher.matchLogText(text, now, sink, n + 1);
    }
    stats = counter.finish();
  }
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
  if (filter.file === LITERAL_FILTER_FILE) {
    w(`Use      failregex line : ${spec}`);
    if (ignoreregex !== undefined) w(`Use    ignoreregex line : ${ignoreregex}`);
  } else {
    w(`Use   failregex filter file : ${filter.name}, file: ${filter.file}`);
    if (ignoreregex !== undefined) w(`Use    ignoreregex line : ${ignoreregex}`);
  }
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
    lines: readonly string[],
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
    list('Matched line(s)', stats.matchedLines, stats.matched, true, 'matched');
  list('Ignored line(s)', stats.ignoredLines, stats.ignored, options.printAllIgnored, 'ignored');
  list('Missed line(s)', stats.missedLines, stats.missed, options.printAllMissed, 'missed');
  flush();
}
