/**
 * `cloudjail regex` on a large log file with several threads: the file is cut into pieces of whole
 * lines, the first matched on the main thread and the others on worker threads, each from an
 * ASSUMED matcher carry (see {@link MatcherCarry}). A filter whose lines depend on earlier lines
 * only through the carry (`carryOnly`) gives every line of a piece the outcome of the sequential
 * run when the assumed carry is the one the previous piece really ended with, or at least when the
 * date template tried first is, and the piece never read the carried time. The pieces are checked
 * in order; a piece whose assumption was wrong, or whose worker failed, is matched again on the
 * main thread from the true carry. The output is the sequential run's, byte for byte.
 *
 * The worker predicts the carry its piece starts from by reading only the start of the log and a
 * window of lines before the cut: the carry after those lines is the carry after the whole
 * previous piece unless the date format changed, or no dated line fell in the window.
 *
 * Only files of 32 MiB or more are cut (CLOUDJAIL_REGEX_SPLIT_BYTES): a worker costs about a
 * tenth of a second of CPU before it matches a line (thread start, bundle, filter, its own JIT
 * warm-up), and a one-thread run already uses a second CPU for V8's compiler and GC threads.
 * Measured on 2 vCPUs (processing seconds, one thread → two): 13 MB 0.24 → 0.29, 26 MB 0.44 →
 * 0.44, 52 MB 0.68 → 0.63, 105 MB 1.30 → 1.00.
 *
 * The workers run the module that holds `cloudjail regex`: its bundle (cli/cloudjail.js passes
 * its URL), or the TypeScript source through tsx's loader.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type {
  Filter,
  LogMatcher,
  LogTextSink,
  MatcherCarry,
  MatcherOptions,
} from '../../lambda/core/filters/index.js';
import { loadRegexArgument } from './regex-filter.js';
import {
  addTally,
  createCounter,
  decodeChunk,
  emptyTally,
  failureRecord,
  matchPiece,
  type PieceResult,
  type Tally,
  type TallyOptions,
} from './regex-pieces.js';

/** Marks the workerData of a piece worker. */
const WORKER_TAG = 'cloudjail-regex-piece';

/** What a worker is started with: enough to load the same filter and matcher as the main thread. */
interface WorkerSetup {
  readonly tag: typeof WORKER_TAG;
  readonly spec: string;
  /** The literal ignoreregex `regex` was given, if any. */
  readonly ignoreregex?: string;
  readonly matcherOptions: MatcherOptions;
  readonly tally: TallyOptions;
}

/**
 * One piece for a worker: bytes [start, end) of `path`, from the carry it predicts by reading up
 * to `probeBytes` at the start of the log and before `start`.
 */
interface PieceJob {
  readonly id: number;
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly now: number;
  readonly probeBytes: number;
}

/** A piece a worker matched, and the carry it assumed. */
export interface WorkerPiece {
  readonly result: PieceResult;
  readonly assumed: MatcherCarry;
}

type WorkerReply =
  | ({ readonly id: number } & WorkerPiece)
  | { readonly id: number; readonly error: string };

/** Tuning read from the environment (tests make small logs split). */
export interface ParallelTuning {
  /** Smallest file matched in pieces. */
  readonly splitBytes: number;
  /** Bytes before each cut (and at the start of the log) read to predict a piece's carry. */
  readonly probeBytes: number;
  /** Share of the file the main thread matches when two threads do (the worker starts later). */
  readonly mainShare: number;
  /** Prints the plan and each piece's fate on stderr. */
  readonly debug: boolean;
}

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function parallelTuning(): ParallelTuning {
  return {
    splitBytes: envNumber('CLOUDJAIL_REGEX_SPLIT_BYTES', 32 << 20),
    probeBytes: Math.floor(envNumber('CLOUDJAIL_REGEX_PROBE_BYTES', 16 << 10)),
    mainShare: Math.min(0.9, Math.max(0.1, envNumber('CLOUDJAIL_REGEX_MAIN_SHARE', 0.55))),
    debug: (process.env.CLOUDJAIL_REGEX_DEBUG ?? '') !== '',
  };
}

export function debugLine(tuning: ParallelTuning, text: string): void {
  if (tuning.debug) process.stderr.write(`cloudjail regex: ${text}\n`);
}

/** Worker threads running pieces; a worker that fails leaves its pieces undone (undefined). */
export class PiecePool {
  private readonly workers: (Worker | undefined)[] = [];
  private readonly pending = new Map<number, { worker: number; done: (r?: WorkerPiece) => void }>();
  private readonly failures: (string | undefined)[] = [];
  private nextId = 0;

  /** Starts `count` workers on `moduleUrl` (the bundle), else on the TypeScript source with tsx. */
  constructor(count: number, setup: Omit<WorkerSetup, 'tag'>, moduleUrl: string | undefined) {
    const data: WorkerSetup = { tag: WORKER_TAG, ...setup };
    for (let i = 0; i < count; i++) {
      let worker: Worker | undefined;
      try {
        worker =
          moduleUrl !== undefined
            ? new Worker(new URL(moduleUrl), { workerData: data })
            : new Worker(tsxWorkerCode(), { eval: true, workerData: data });
      } catch (e) {
        this.failures[i] = (e as Error).message;
      }
      this.workers.push(worker);
      if (worker === undefined) continue;
      worker.on('message', (reply: WorkerReply) => {
        const p = this.pending.get(reply.id);
        if (p === undefined) return;
        this.pending.delete(reply.id);
        if ('error' in reply) this.failures[i] = reply.error;
        p.done('error' in reply ? undefined : { result: reply.result, assumed: reply.assumed });
      });
      const fail = (why: string) => {
        this.failures[i] ??= why;
        this.workers[i] = undefined;
        for (const [id, p] of this.pending) {
          if (p.worker !== i) continue;
          this.pending.delete(id);
          p.done(undefined);
        }
      };
      worker.on('error', (e) => fail(e.message));
      worker.on('exit', (code) => fail(`exited (${code})`));
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Why worker `i` failed, if it did. */
  failure(i: number): string | undefined {
    return this.failures[i];
  }

  /** Runs a piece on worker `i`: its result, or undefined if the worker failed. */
  run(i: number, job: Omit<PieceJob, 'id'>): Promise<WorkerPiece | undefined> {
    const worker = this.workers[i];
    if (worker === undefined) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((done) => {
      this.pending.set(id, { worker: i, done });
      worker.postMessage({ id, ...job } satisfies PieceJob);
    });
  }

  close(): void {
    for (const [i, w] of this.workers.entries()) {
      this.workers[i] = undefined;
      if (w === undefined) continue;
      w.removeAllListeners();
      w.on('error', () => {});
      void w.terminate();
    }
    for (const p of this.pending.values()) p.done(undefined);
    this.pending.clear();
  }
}

/**
 * A worker on this module's TypeScript source (`cloudjail regex` running through tsx): tsx's
 * loader is registered in the worker, which then imports cli/commands/regex.ts.
 */
function tsxWorkerCode(): string {
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./regex.ts', import.meta.url).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

/** Whether this thread is a piece worker (started by {@link PiecePool}). */
export function isPieceWorker(): boolean {
  return !isMainThread && (workerData as Partial<WorkerSetup> | null)?.tag === WORKER_TAG;
}

/** The piece worker: loads the filter, then matches each piece it is sent. */
export function runPieceWorker(): void {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (port === null) return;
  let ready: { filter: Filter; matcher: LogMatcher; sink: LogTextSink } | undefined;
  let broken: string | undefined;
  try {
    if (process.env.CLOUDJAIL_REGEX_TEST_FAIL === 'worker') throw new Error('test failure');
    const filter = loadRegexArgument(setup.spec, setup.ignoreregex);
    const matcher = filter.createMatcher(setup.matcherOptions);
    // The probe's sink is a counter like the piece's (what it counts is dropped): the matcher's
    // calls into its sink keep seeing one kind of sink.
    const { failregex, ignoreregex } = filter;
    const sink = createCounter(failregex.length, ignoreregex.length, setup.tally, () => {}).sink;
    ready = { filter, matcher, sink };
  } catch (e) {
    broken = (e as Error).message;
  }
  port.on('message', (job: PieceJob) => {
    if (ready === undefined) {
      port.postMessage({ id: job.id, error: broken ?? 'no matcher' } satisfies WorkerReply);
      return;
    }
    const { filter, matcher, sink } = ready;
    let assumed: MatcherCarry;
    try {
      assumed = predictCarry(matcher, sink, job.path, job.start, job.probeBytes, job.now);
    } catch (e) {
      port.postMessage({ id: job.id, error: (e as Error).message } satisfies WorkerReply);
      return;
    }
    matcher.resume(assumed);
    matchPiece(
      matcher,
      job.path,
      job.start,
      job.end,
      job.now,
      filter.failregex.length,
      filter.ignoreregex.length,
      setup.tally,
    ).then(
      (result) => port.postMessage({ id: job.id, result, assumed } satisfies WorkerReply),
      (e: unknown) =>
        port.postMessage({
          id: job.id,
          error: e instanceof Error ? e.message : String(e),
        } satisfies WorkerReply),
    );
  });
}

/** A piece of the log: bytes [start, end). */
export interface Piece {
  readonly start: number;
  readonly end: number;
}

/** Reads bytes [start, start + length) of an open file (fewer at its end). */
function readAt(fd: number, start: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buffer, got, length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return buffer.subarray(0, got);
}

/** The offset just after the first `\n` at or after `from`, or undefined if there is none. */
function lineStartAfter(fd: number, from: number, size: number): number | undefined {
  const WINDOW = 64 << 10;
  for (let at = from; at < size; at += WINDOW) {
    const bytes = readAt(fd, at, Math.min(WINDOW, size - at));
    const nl = bytes.indexOf(10);
    if (nl >= 0) return at + nl + 1;
  }
  return undefined;
}

/**
 * The text of the whole lines in bytes [from, to) of the file, and the offset after its last
 * `\n`. Unless `from` is known to start a line, the text starts after the first `\n`.
 */
function linesIn(fd: number, from: number, to: number, lineStart: boolean): [string, number] {
  if (to <= from) return ['', from];
  const bytes = readAt(fd, from, to - from);
  const skip = lineStart ? 0 : bytes.indexOf(10) + 1;
  const last = bytes.lastIndexOf(10);
  if ((!lineStart && skip === 0) || last < skip) return ['', lineStart ? from : to];
  return [decodeChunk(bytes, last + 1, skip), from + last + 1];
}

/**
 * Cuts the file (of `size` bytes) into `count` pieces (the first one `mainShare` of it when two
 * threads share the work) starting after a `\n`; fewer pieces when lines are too long to cut
 * there.
 */
export function planPieces(
  path: string,
  size: number,
  count: number,
  tuning: ParallelTuning,
): Piece[] {
  const fd = openSync(path, 'r');
  try {
    // The main thread starts at once; the workers, later: it takes a larger share.
    const first = count === 2 ? tuning.mainShare : Math.min(0.9, 1 / count + 0.05);
    const rest = (1 - first) / (count - 1);
    const pieces: Piece[] = [];
    let start = 0;
    for (let k = 1; k < count; k++) {
      const target = Math.floor(size * (first + rest * (k - 1)));
      const cut = lineStartAfter(fd, Math.max(target - 1, start), size);
      if (cut === undefined || cut >= size) break;
      pieces.push({ start, end: cut });
      start = cut;
    }
    // The last piece reads to the end of the file, as one thread would (a log may have grown).
    pieces.push({ start, end: Number.POSITIVE_INFINITY });
    return pieces;
  } finally {
    closeSync(fd);
  }
}

/**
 * The carry a piece starting at byte `start` (after a `\n`) most likely starts from: `matcher`'s
 * after reading the lines in the first `probeBytes` of the log, then those in the `probeBytes`
 * before `start`. Wrong only when the date format changed, or no dated line fell in the window.
 */
export function predictCarry(
  matcher: LogMatcher,
  sink: LogTextSink,
  path: string,
  start: number,
  probeBytes: number,
  now: number,
): MatcherCarry {
  const fd = openSync(path, 'r');
  try {
    // [0, probed) or the last window is what was read, and `probed` starts a line.
    let probed = 0;
    const probeTo = (from: number, to: number) => {
      const at = Math.max(from, probed);
      const [text, end] = linesIn(fd, at, to, at === probed);
      matcher.matchLogText(text, now, sink);
      probed = end;
    };
    probeTo(0, Math.min(probeBytes, start));
    probeTo(start - probeBytes, start);
    return matcher.carry();
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a piece matched from `assumed` has the outcomes it would have had from `actual`: the
 * same date template tried first, and the same carried time or none read.
 */
export function carryHolds(
  assumed: MatcherCarry,
  actual: MatcherCarry,
  readCarriedTime: boolean,
): boolean {
  return (
    assumed.dateTemplate === actual.dateTemplate &&
    (assumed.lastTime === actual.lastTime || !readCarriedTime)
  );
}

/**
 * Matches the log file `path` (of `size` bytes) in pieces: the first on this thread with
 * `matcher` (fresh), the others on the pool's workers, each checked against the carry its
 * predecessor really ended with and matched again here when it does not hold. `emit` receives
 * the `--json` records in order. The tally is the sequential run's.
 */
export async function matchInPieces(
  pool: PiecePool,
  filter: Filter,
  matcher: LogMatcher,
  path: string,
  size: number,
  now: number,
  options: TallyOptions,
  tuning: ParallelTuning,
  emit: (record: string) => void,
): Promise<Tally> {
  const t0 = performance.now();
  const ms = () => `${Math.round(performance.now() - t0)} ms`;
  const fails = filter.failregex.length;
  const ignores = filter.ignoreregex.length;
  const pieces = planPieces(path, size, pool.size + 1, tuning);
  const runs = pieces.map((p, k) =>
    k === 0
      ? Promise.resolve(undefined)
      : pool.run((k - 1) % pool.size, {
          path,
          start: p.start,
          end: p.end,
          now,
          probeBytes: tuning.probeBytes,
        }),
  );
  debugLine(
    tuning,
    `pieces ${pieces.map((p) => `[${p.start}, ${p.end})`).join(' ')} (planned in ${ms()})`,
  );
  const total = emptyTally(fails, ignores);
  let offset = 0;
  let carry: MatcherCarry | undefined;
  const take = (r: PieceResult) => {
    addTally(total, r.tally, options);
    const { failureLines, failureTails } = r;
    for (let i = 0; i < failureLines.length; i++) {
      emit(failureRecord((failureLines[i] as number) + offset, failureTails[i] as string));
    }
    offset += r.physicalLines;
    carry = r.carry;
  };
  for (const [k, piece] of pieces.entries()) {
    const what = `piece ${k} [${piece.start}, ${piece.end})`;
    if (carry === undefined) {
      take(await matchPiece(matcher, path, piece.start, piece.end, now, fails, ignores, options));
      debugLine(tuning, `${what}: matched here (${ms()})`);
      continue;
    }
    const w = await runs[k];
    const r = w?.result;
    const assumed = w?.assumed;
    if (r !== undefined && assumed !== undefined && carryHolds(assumed, carry, r.readCarriedTime)) {
      debugLine(
        tuning,
        `${what}: from a worker${r.readCarriedTime ? ', carried time read' : ''} (${ms()})`,
      );
      take(r);
      continue;
    }
    debugLine(
      tuning,
      r === undefined
        ? `${what}: the worker failed (${pool.failure((k - 1) % pool.size) ?? 'no result'}), matched here`
        : `${what}: assumed carry ${JSON.stringify(assumed)}, true ${JSON.stringify(carry)}${r.readCarriedTime ? ' (time read)' : ''}: matched again`,
    );
    matcher.resume(carry);
    take(await matchPiece(matcher, path, piece.start, piece.end, now, fails, ignores, options));
  }
  return total;
}
