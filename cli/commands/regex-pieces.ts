/**
 * What `cloudjail regex` gathers from a log, in a form that can be gathered piece by piece: the
 * chunked reader of a file's byte range, the tally of one run of lines (the statistics, the lists
 * of lines and the `--json` failure records), and the merge of the tallies of consecutive pieces
 * into the figures of the whole log. The sequential run is one piece.
 */
import { isAscii } from 'node:buffer';
import { open } from 'node:fs/promises';
import type {
  Failure,
  LineOutcome,
  LogMatcher,
  LogTextSink,
  MatcherCarry,
} from '../../lambda/core/filters/index.js';

const CHUNK_BYTES = 8 << 20;
/** The first read of a file or piece (see fileChunks). */
const FIRST_READ_BYTES = 1 << 20;

/**
 * The UTF-8 text of `bytes[from, end)`. An all-ASCII chunk (the usual log) decodes as Latin-1: the
 * same string (ASCII bytes are the same characters in both), made by a plain byte copy instead of
 * UTF-8 validation; any byte >= 0x80 makes it a UTF-8 decode.
 */
export function decodeChunk(bytes: Buffer, end: number, from = 0): string {
  return isAscii(bytes.subarray(from, end))
    ? bytes.toString('latin1', from, end)
    : bytes.toString('utf8', from, end);
}

/**
 * The text of the bytes [start, end) of the file `path` in large chunks of whole lines (decoded from
 * UTF-8 as one piece each): the matcher scans a chunk without splitting it into an array of lines.
 * `start` should be 0 or follow a `\n` (a UTF-8 character boundary); a last line without `\n`
 * (at `end` or the end of the file) is taken as complete.
 */
export async function* fileChunks(
  path: string,
  start = 0,
  end = Number.POSITIVE_INFINITY,
): AsyncGenerator<string> {
  const file = await open(path, 'r');
  try {
    // Two buffers: the next chunk is read (on libuv's thread pool) while this one is matched.
    let cur = Buffer.allocUnsafe(CHUNK_BYTES);
    let spare = Buffer.allocUnsafe(CHUNK_BYTES);
    let held = 0;
    let pos = start;
    const read = (buffer: Buffer, offset: number, most = buffer.length - offset) =>
      file.read(buffer, offset, Math.max(0, Math.min(most, end - pos)), pos);
    // A small first read: matching starts at once, and the next read overlaps it.
    let reading = read(cur, 0, FIRST_READ_BYTES);
    for (;;) {
      const { bytesRead } = await reading;
      pos += bytesRead;
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
        reading = read(cur, held);
        continue;
      }
      held = filled - (nl + 1);
      cur.copy(spare, 0, nl + 1, filled);
      if (!final) reading = read(spare, held);
      // `\n` never occurs inside a multi-byte UTF-8 sequence: the chunk decodes on its own.
      yield decodeChunk(cur, nl + 1);
      if (final) return;
      [cur, spare] = [spare, cur];
    }
  } finally {
    await file.close();
  }
}

/** Which lines are listed: `--json` lists none, else the first ones, or all with `--print-all-*`. */
export interface TallyOptions {
  readonly json: boolean;
  readonly printAllMatched: boolean;
  readonly printAllMissed: boolean;
  readonly printAllIgnored: boolean;
}

/** Matched lines kept without --print-all-matched (only listed with it). */
const MATCHED_KEPT = 20;
/** Ignored and missed lines kept: one more than are printed, to tell "too many". */
const OTHERS_KEPT = 21;

/** The figures of a run of lines: a whole log, or a piece of it. */
export interface Tally {
  lines: number;
  matched: number;
  ignored: number;
  missed: number;
  /** Hits per failregex and per ignoreregex. */
  readonly regexHits: number[];
  readonly ignoreHits: number[];
  /** Hits per date template, in the order of each template's first hit. */
  readonly dateHits: Map<string, number>;
  readonly matchedLines: string[];
  readonly ignoredLines: string[];
  readonly missedLines: string[];
}

/** The tally of one piece of a log file, as a worker thread posts it. */
export interface PieceResult {
  readonly tally: Tally;
  /**
   * `--json` failures: the line number within the piece (1-based) and the record's JSON without
   * its `n`, from `"host"` on (see {@link failureRecord}).
   */
  readonly failureLines: number[];
  readonly failureTails: string[];
  /** Physical lines of the piece (comments and blank lines included). */
  readonly physicalLines: number;
  /** The matcher's carry after the piece, and whether the piece read the carry it started from. */
  readonly carry: MatcherCarry;
  readonly readCarriedTime: boolean;
}

/** The `--json` record of failure `f` on line `n`, without its line end. */
export function failureJson(n: number, f: Failure): string {
  return JSON.stringify({ n, host: f.host, time: f.time, failregex: f.failregex });
}

/** The record of {@link failureJson} from its tail: the same text. */
export function failureRecord(n: number, tail: string): string {
  return `{"n":${n},${tail.slice(1)}`;
}

export function emptyTally(failregexes: number, ignoreregexes: number): Tally {
  return {
    lines: 0,
    matched: 0,
    ignored: 0,
    missed: 0,
    regexHits: new Array<number>(failregexes).fill(0),
    ignoreHits: new Array<number>(ignoreregexes).fill(0),
    dateHits: new Map(),
    matchedLines: [],
    ignoredLines: [],
    missedLines: [],
  };
}

/** Counts lines into a {@link Tally}; `failure` receives each `--json` failure. */
export interface Counter {
  readonly tally: Tally;
  /** For {@link LogMatcher.matchLogText}. */
  readonly sink: LogTextSink;
  /** One outcome of line (or event) `n`. */
  outcome(o: LineOutcome, n: number): void;
  /** Adds the pending run of date template hits: call before reading the tally. */
  finish(): Tally;
}

export function createCounter(
  failregexes: number,
  ignoreregexes: number,
  options: TallyOptions,
  failure: (n: number, f: Failure) => void,
): Counter {
  const tally = emptyTally(failregexes, ignoreregexes);
  const { json, printAllMatched, printAllMissed, printAllIgnored } = options;
  const { regexHits, ignoreHits, dateHits, matchedLines, ignoredLines, missedLines } = tally;
  // Date template hits of runs of lines with the same template are added up in one step.
  let lastTemplate: string | undefined;
  let lastTemplateHits = 0;
  const flushTemplate = () => {
    if (lastTemplate !== undefined) {
      dateHits.set(lastTemplate, (dateHits.get(lastTemplate) ?? 0) + lastTemplateHits);
    }
    lastTemplate = undefined;
    lastTemplateHits = 0;
  };
  const countTemplate = (name: string) => {
    flushTemplate();
    lastTemplate = name;
    lastTemplateHits = 1;
  };
  const outcome = (o: LineOutcome, n: number) => {
    tally.lines++;
    if (o.dateTemplate) {
      if (o.dateTemplate === lastTemplate) lastTemplateHits++;
      else countTemplate(o.dateTemplate);
    }
    // A match whose id is not an IP (a hostname) is missed, as in fail2ban-regex offline.
    const status = o.status === 'matched' && o.failures.length === 0 ? 'missed' : o.status;
    if (status === 'matched') {
      tally.matched++;
      for (const r of o.regexHits) regexHits[r] = (regexHits[r] ?? 0) + 1;
      if (json) {
        for (const f of o.failures) failure(n, f);
      } else if (printAllMatched || matchedLines.length < MATCHED_KEPT) matchedLines.push(o.line);
    } else if (status === 'ignored') {
      tally.ignored++;
      if (o.ignoreHit !== undefined) ignoreHits[o.ignoreHit] = (ignoreHits[o.ignoreHit] ?? 0) + 1;
      if (!json && (printAllIgnored || ignoredLines.length < OTHERS_KEPT))
        ignoredLines.push(o.line);
    } else {
      tally.missed++;
      if (!json && (printAllMissed || missedLines.length < OTHERS_KEPT)) missedLines.push(o.line);
    }
  };
  const listMissed = !json;
  const sink: LogTextSink = {
    // Only `--json` prints failures' times.
    readsTimes: json,
    outcome,
    missed(dateTemplate, text, start, end) {
      tally.lines++;
      tally.missed++;
      if (dateTemplate !== undefined) {
        if (dateTemplate === lastTemplate) lastTemplateHits++;
        else countTemplate(dateTemplate);
      }
      if (listMissed && (printAllMissed || missedLines.length < OTHERS_KEPT)) {
        missedLines.push(text.slice(start, end));
      }
    },
  };
  return {
    tally,
    sink,
    outcome,
    finish() {
      flushTemplate();
      return tally;
    },
  };
}

/**
 * Matches the bytes [start, end) of the log file `path` with `matcher` from the state it is in
 * (a {@link LogMatcher.resume}d carry, or a fresh matcher for the start of the log).
 */
export async function matchPiece(
  matcher: LogMatcher,
  path: string,
  start: number,
  end: number,
  now: number,
  failregexes: number,
  ignoreregexes: number,
  options: TallyOptions,
): Promise<PieceResult> {
  const failureLines: number[] = [];
  const failureTails: string[] = [];
  const counter = createCounter(failregexes, ignoreregexes, options, (n, f) => {
    failureLines.push(n);
    failureTails.push(JSON.stringify({ host: f.host, time: f.time, failregex: f.failregex }));
  });
  let n = 0;
  for await (const text of fileChunks(path, start, end)) {
    n = matcher.matchLogText(text, now, counter.sink, n + 1);
  }
  return {
    tally: counter.finish(),
    failureLines,
    failureTails,
    physicalLines: n,
    carry: matcher.carry(),
    readCarriedTime: matcher.readCarriedTime(),
  };
}

/**
 * Adds the tally of the piece after those already in `into` (the lists keep what the sequential
 * run would: the first lines, unless all are printed).
 */
export function addTally(into: Tally, piece: Tally, options: TallyOptions): void {
  into.lines += piece.lines;
  into.matched += piece.matched;
  into.ignored += piece.ignored;
  into.missed += piece.missed;
  piece.regexHits.forEach((h, i) => {
    into.regexHits[i] = (into.regexHits[i] ?? 0) + h;
  });
  piece.ignoreHits.forEach((h, i) => {
    into.ignoreHits[i] = (into.ignoreHits[i] ?? 0) + h;
  });
  for (const [name, hits] of piece.dateHits) {
    into.dateHits.set(name, (into.dateHits.get(name) ?? 0) + hits);
  }
  const append = (list: string[], more: readonly string[], all: boolean, kept: number) => {
    for (const line of more) {
      if (!all && list.length >= kept) return;
      list.push(line);
    }
  };
  append(into.matchedLines, piece.matchedLines, options.printAllMatched, MATCHED_KEPT);
  append(into.ignoredLines, piece.ignoredLines, options.printAllIgnored, OTHERS_KEPT);
  append(into.missedLines, piece.missedLines, options.printAllMissed, OTHERS_KEPT);
}
