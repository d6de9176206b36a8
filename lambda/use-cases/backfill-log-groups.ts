/**
 * Backfill: what fail2ban does when it starts (it reads what is already in the log). Reads each
 * jail's log groups over a window (default: the longest findtime of the jails reading the group,
 * so an attack in progress at deploy time needs no `maxretry` new failures) and feeds the events,
 * with their CloudWatch Logs event ids, through the detector's ingest use case, one log stream per
 * batch as a subscription delivers them. Counting is idempotent by event id: events the
 * subscription delivered too are counted once, whatever the order.
 */
import type { JailConfig } from '../config/jail-config.js';
import type { Ban } from '../core/ban.js';
import type { LogEventSource, StoredLogEvent } from '../ports/log-events.js';
import type { IngestReport, LogBatch } from './ingest-log-events.js';

export interface BackfillDeps {
  readonly source: LogEventSource;
  /** The detector's ingest use case, with the jails to run. */
  ingest(batch: LogBatch): Promise<IngestReport>;
  /** The jails to backfill (their log groups are read). */
  readonly jails: readonly Pick<JailConfig, 'name' | 'logGroups' | 'findtime'>[];
  readonly now: () => number;
}

export interface BackfillOptions {
  /** Window length (ms); default: per log group, the longest findtime of its jails. */
  readonly since?: number;
  /** Events per ingested batch (a subscription delivers up to 10,000). @default 10000 */
  readonly batchEvents?: number;
}

export interface BackfillGroupReport {
  readonly logGroup: string;
  readonly jails: readonly string[];
  readonly startTime: number;
  readonly endTime: number;
  readonly events: number;
  readonly batches: number;
  readonly failures: number;
  /** Failures not counted before (0 when live delivery already counted them). */
  readonly newFailures: number;
  readonly bans: readonly Ban[];
}

export interface BackfillReport {
  readonly groups: readonly BackfillGroupReport[];
  readonly bans: readonly Ban[];
}

export async function backfillLogGroups(
  deps: BackfillDeps,
  options: BackfillOptions = {},
): Promise<BackfillReport> {
  const now = deps.now();
  const batchEvents = options.batchEvents ?? 10_000;
  const groups = new Map<string, Pick<JailConfig, 'name' | 'findtime'>[]>();
  for (const jail of deps.jails) {
    for (const g of jail.logGroups) groups.set(g, [...(groups.get(g) ?? []), jail]);
  }
  const reports: BackfillGroupReport[] = [];
  for (const [logGroup, jails] of groups) {
    const since = options.since ?? Math.max(...jails.map((j) => j.findtime));
    const startTime = now - since;
    const report = {
      logGroup,
      jails: jails.map((j) => j.name),
      startTime,
      endTime: now,
      events: 0,
      batches: 0,
      failures: 0,
      newFailures: 0,
      bans: [] as Ban[],
    };
    const pending = new Map<string, StoredLogEvent[]>();
    const flush = async (logStream: string) => {
      const events = pending.get(logStream);
      if (!events || events.length === 0) return;
      pending.delete(logStream);
      const r = await deps.ingest({
        logGroup,
        logStream,
        events: events.map(({ id, timestamp, message }) => ({ id, timestamp, message })),
      });
      report.batches++;
      report.failures += r.failures;
      report.newFailures += r.newFailures;
      report.bans.push(...r.bans);
    };
    for await (const event of deps.source.events({ logGroup, startTime, endTime: now })) {
      report.events++;
      const list = pending.get(event.logStream) ?? [];
      list.push(event);
      pending.set(event.logStream, list);
      if (list.length >= batchEvents) await flush(event.logStream);
    }
    for (const stream of [...pending.keys()]) await flush(stream);
    reports.push(report);
  }
  return { groups: reports, bans: reports.flatMap((r) => r.bans) };
}
