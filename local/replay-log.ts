/**
 * Log replay on the embedded pipeline: log files become CloudWatch-style batches, the clock follows
 * the log's own timestamps, the detector ingests each batch, and the enforcer runs whenever a ban
 * is created and whenever a ban expires (as the scheduled run would), so the NACL table at the end
 * is what the deployed system would hold at the log's last moment.
 *
 * Several files are merged by time (each with its own log group), so FreeSWITCH and Asterisk
 * attacks interleave as they would in a fleet.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Ban } from '../lambda/core/ban.js';
import { createDateDetector } from '../lambda/core/filters/date/index.js';
import type { EnforcementReport } from '../lambda/use-cases/enforce-bans.js';
import type { IngestReport, LogBatch, LogEvent } from '../lambda/use-cases/ingest-log-events.js';
import type { AclRow, PipelineCore } from './embedded.js';

export interface ReplaySource {
  readonly path: string;
  /** Log group the events are delivered under (selects the jails reading it). */
  readonly logGroup: string;
  /** Zone of dates written without one (IANA name or UTC+hhmm). */
  readonly timeZone?: string;
}

export interface ReplayHooks {
  /** A ban the detector created, at log time `at`. */
  onBan?(ban: Ban, at: number): void;
  /** An enforcer run that changed the NACLs; `entries` is the inbound table after it. */
  onNaclChange?(entries: readonly AclRow[], report: EnforcementReport, at: number): void;
  /** Bytes read so far of `total` (every source). */
  onProgress?(bytes: number, total: number): void;
  /**
   * How a batch reaches the detector (default: straight into `pipeline.ingest`). The demo sends it
   * through the local CloudWatch Logs endpoint (local/embedded-logs.ts) instead.
   */
  deliver?(batch: LogBatch): Promise<readonly IngestReport[]>;
  /**
   * Publish the host tier's ban list at every enforcer run, as the deployed enforcer does (the
   * demo, whose local S3 an agent may poll). Default: only the last run, at the log's end,
   * publishes; the lists between are never read, and building one per run (serialized, hashed,
   * compressed) was a third of a busy log's replay.
   */
  readonly publishEveryRun?: boolean;
}

export interface ReplayResult {
  readonly lines: number;
  readonly failures: number;
  readonly allowlisted: number;
  /** Every ban created during the replay, in order. */
  readonly bans: readonly Ban[];
  /** Log time of the first and last line with a date (null: no dated line). */
  readonly from: number | null;
  readonly to: number | null;
  /** The enforcer's report at the end of the log. */
  readonly report: EnforcementReport;
  /** Inbound NACL entries at the end. */
  readonly entries: readonly AclRow[];
  /** Every CIDR in the ban list published (local S3) at the end, sorted, each once. */
  readonly published: readonly string[];
  readonly enforcerRuns: number;
}

interface TimedEvent extends LogEvent {
  readonly source: number;
}

/**
 * Batch limits. A subscription delivers up to ~10,000 events per invocation, buffered for a few
 * seconds; 5 s of log time keeps ban times within the delivery latency of the real pipeline while
 * keeping the store requests per line low.
 */
const MAX_BATCH_EVENTS = 2000;
const MAX_BATCH_SPAN_MS = 5000;

/** Lines of a file, read in large chunks: one array per chunk; reports bytes read. */
async function* fileLines(
  path: string,
  onBytes: (n: number) => void,
): AsyncGenerator<string[], void, undefined> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let rest = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    onBytes(chunk.length);
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    yield parts;
  }
  if (rest !== '') yield [rest];
}

/**
 * Events of one file with their log time, an array per chunk read (a line's trip through async
 * generators costs more than its date): a line's own date, else the previous line's time
 * (continuation lines), else `fallback` until the first dated line. A line dated before the one
 * above it keeps its own date (rotated files concatenated out of order, a restored backup), as
 * the CloudWatch agent's `timestamp_format` would: each failure keeps its own time.
 */
async function* timedEvents(
  source: ReplaySource,
  index: number,
  fallback: number,
  onBytes: (n: number) => void,
  seen: { lines: number; from: number | null; to: number | null },
): AsyncGenerator<TimedEvent[], void, undefined> {
  const detector = createDateDetector(undefined, {
    ...(source.timeZone ? { timeZone: source.timeZone } : {}),
  });
  let last: number | undefined;
  let n = 0;
  for await (const lines of fileLines(source.path, onBytes)) {
    const events: TimedEvent[] = [];
    for (const raw of lines) {
      n++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      // As fail2ban-regex: blank lines and comments are not log lines.
      if (line.trim() === '' || line.startsWith('#')) continue;
      seen.lines++;
      const date = detector.detect(line, last ?? fallback);
      if (date && Number.isFinite(date.time)) {
        last = date.time;
        seen.from = seen.from === null ? date.time : Math.min(seen.from, date.time);
        seen.to = seen.to === null ? date.time : Math.max(seen.to, date.time);
      }
      events.push({
        source: index,
        id: `${index}:${n}`,
        timestamp: last ?? fallback,
        message: line,
      });
    }
    yield events;
  }
}

/** One file's events, one at a time, reading the next chunk only when the last is used up. */
class EventCursor {
  private events: TimedEvent[] = [];
  private at = 0;
  constructor(private readonly chunks: AsyncGenerator<TimedEvent[], void, undefined>) {}

  /** The next event when its chunk is at hand, else undefined (then call fill()). */
  current(): TimedEvent | undefined {
    return this.events[this.at];
  }

  /** Reads until an event is at hand; the event, or undefined at the end of the file. */
  async fill(): Promise<TimedEvent | undefined> {
    while (this.at >= this.events.length) {
      const next = await this.chunks.next();
      if (next.done) return undefined;
      this.events = next.value;
      this.at = 0;
    }
    return this.events[this.at];
  }

  /** Consumes the current event. */
  take(): TimedEvent {
    return this.events[this.at++] as TimedEvent;
  }
}

/**
 * Merges per-file event streams by timestamp (stable: ties keep file order), as arrays: one file
 * passes through whole; several are merged an event at a time.
 */
async function* mergeByTime(
  streams: AsyncGenerator<TimedEvent[], void, undefined>[],
): AsyncGenerator<readonly TimedEvent[], void, undefined> {
  if (streams.length === 1) {
    yield* streams[0] as AsyncGenerator<TimedEvent[], void, undefined>;
    return;
  }
  const cursors = streams.map((s) => new EventCursor(s));
  const heads: (TimedEvent | undefined)[] = [];
  for (const c of cursors) heads.push(await c.fill());
  for (;;) {
    const out: TimedEvent[] = [];
    for (let k = 0; k < 4096; k++) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h && (best < 0 || h.timestamp < (heads[best] as TimedEvent).timestamp)) best = i;
      }
      if (best < 0) break;
      const cursor = cursors[best] as EventCursor;
      out.push(cursor.take());
      heads[best] = cursor.current() ?? (await cursor.fill());
    }
    if (out.length === 0) return;
    yield out;
  }
}

function denyKey(entries: readonly AclRow[]): string {
  return entries
    .map((e) => `${e.naclId}|${e.ruleNumber}|${e.ruleAction}|${e.cidr}|${e.protocol}`)
    .join('\n');
}

/**
 * Replays `sources` through `pipeline`.
 * @param fallbackTime log time of lines before the first dated one (default: now).
 */
export async function replayLogs(
  pipeline: PipelineCore,
  sources: readonly ReplaySource[],
  hooks: ReplayHooks = {},
  fallbackTime: number = Date.now(),
): Promise<ReplayResult> {
  const total = sources.reduce((sum, s) => sum + statSync(s.path).size, 0);
  let bytes = 0;
  const onBytes = (n: number) => {
    bytes += n;
    hooks.onProgress?.(bytes, total);
  };
  const seen = { lines: 0, from: null as number | null, to: null as number | null };
  const events = mergeByTime(sources.map((s, i) => timedEvents(s, i, fallbackTime, onBytes, seen)));

  const bans: Ban[] = [];
  let failures = 0;
  let allowlisted = 0;
  let enforcerRuns = 0;
  let lastReport: EnforcementReport | undefined;
  let lastTable = denyKey(pipeline.inboundEntries());
  /** Expiry times of bans created so far (the enforcer must run at each). */
  const expiries: number[] = [];

  const enforceAt = async (at: number, publish = hooks.publishEveryRun === true) => {
    pipeline.clock.set(at);
    lastReport = await pipeline.enforce({ publish });
    enforcerRuns++;
    const entries = pipeline.inboundEntries();
    const key = denyKey(entries);
    if (key !== lastTable) {
      lastTable = key;
      hooks.onNaclChange?.(entries, lastReport, at);
    }
  };
  const sweepUntil = async (t: number) => {
    expiries.sort((a, b) => a - b);
    while (expiries.length > 0 && (expiries[0] as number) <= t) {
      const at = expiries[0] as number;
      while (expiries.length > 0 && (expiries[0] as number) <= at) expiries.shift();
      await enforceAt(at);
    }
  };

  let batch: TimedEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const first = batch[0] as TimedEvent;
    let at = first.timestamp;
    for (const e of batch) if (e.timestamp > at) at = e.timestamp;
    await sweepUntil(at);
    pipeline.clock.set(at);
    const source = sources[first.source] as ReplaySource;
    const delivery: LogBatch = {
      logGroup: source.logGroup,
      logStream: source.path,
      // The events as they are (a TimedEvent is a LogEvent); a copy of the three fields only
      // for a delivery that sends them on.
      events: hooks.deliver
        ? batch.map(({ id, timestamp, message }) => ({ id, timestamp, message }))
        : batch,
    };
    const reports = hooks.deliver
      ? await hooks.deliver(delivery)
      : [await pipeline.ingest(delivery)];
    batch = [];
    let banned = false;
    for (const report of reports) {
      failures += report.failures;
      allowlisted += report.allowlisted;
      for (const ban of report.bans) {
        bans.push(ban);
        banned = true;
        if (ban.expiresAt !== null) expiries.push(ban.expiresAt);
        hooks.onBan?.(ban, at);
      }
    }
    if (banned) await enforceAt(at);
  };

  for await (const chunk of events) {
    for (const event of chunk) {
      const first = batch[0];
      if (
        first &&
        (event.source !== first.source ||
          Math.abs(event.timestamp - first.timestamp) > MAX_BATCH_SPAN_MS ||
          batch.length >= MAX_BATCH_EVENTS)
      ) {
        await flush();
      }
      batch.push(event);
    }
  }
  await flush();
  const end = seen.to ?? fallbackTime;
  await sweepUntil(end);
  // A last run at the log's end: the report and table of the final state.
  await enforceAt(Math.max(end, pipeline.clock.now()), true);
  // Read back from the local S3 API: what an agent polling it would enforce.
  const list = await pipeline.banList.read();
  const published = [...new Set(list?.groups.flatMap((g) => g.bans.map(([cidr]) => cidr)))].sort();
  return {
    lines: seen.lines,
    failures,
    allowlisted,
    bans,
    from: seen.from,
    to: seen.to,
    report: lastReport as EnforcementReport,
    entries: pipeline.inboundEntries(),
    published,
    enforcerRuns,
  };
}
