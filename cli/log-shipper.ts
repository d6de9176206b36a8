/**
 * The shipping half of `cloudjail ship`: a log file read as the CloudWatch agent reads it (event
 * splitting and timestamps from the very `collect_list` entry `agent-config` prints, through
 * lambda/core/logs/agent-events.ts) and sent with PutLogEvents in batches within the API limits
 * (≤ 10,000 events, ≤ 1,048,576 bytes counting 26 per event, chronological, ≤ 24 h span). The
 * same code ships to a deployed log group and to the local endpoint: only the client differs.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
// Types only at load time: every CLI command loads this module's command; the SDK is imported
// when something is shipped.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  type AgentEvent,
  type AgentEventFormat,
  createAgentSplitter,
} from '../lambda/core/logs/agent-events.js';
import { type AgentJail, buildAgentConfig } from './agent-config.js';

export const PUT_MAX_EVENTS = 10_000;
export const PUT_MAX_BYTES = 1_048_576;
export const PUT_EVENT_OVERHEAD = 26;
export const PUT_MAX_SPAN_MS = 24 * 3_600_000;

/** The agent's event format for a jail: read from the configuration agent-config generates. */
export function agentEventFormat(jail: AgentJail): AgentEventFormat & { flushSeconds: number } {
  const config = buildAgentConfig({ jail, file: '/var/log/cloudjail-ship.log' });
  const entry = config.logs.logs_collected.files.collect_list[0];
  if (!entry) throw new Error('agent-config produced no collect_list entry');
  return {
    multiLineStartPattern: entry.multi_line_start_pattern,
    timestampFormat: entry.timestamp_format,
    // `Local` is the host's zone: the jail's timezone is what the host runs in.
    timeZone: entry.timezone === 'UTC' ? 'UTC' : (jail.timezone ?? 'UTC'),
    flushSeconds: config.logs.force_flush_interval,
  };
}

/** Every event of a file (read to its end), with the physical lines read. */
export async function readAgentEvents(
  path: string,
  format: AgentEventFormat,
  now: number,
): Promise<{ events: AgentEvent[]; lines: number }> {
  const splitter = createAgentSplitter(format, { now });
  const events: AgentEvent[] = [];
  let lines = 0;
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) {
    lines++;
    events.push(...splitter.push(line));
  }
  events.push(...splitter.end());
  return { events, lines };
}

export interface ShipStats {
  events: number;
  batches: number;
  /** Events PutLogEvents refused one by one (too old, expired, too new). */
  rejected: { tooOld: number; expired: number; tooNew: number };
}

/** Batches events into PutLogEvents calls within the limits; `flush` sends what is buffered. */
export class LogShipper {
  readonly stats: ShipStats = {
    events: 0,
    batches: 0,
    rejected: { tooOld: 0, expired: 0, tooNew: 0 },
  };
  private batch: { timestamp: number; message: string }[] = [];
  private bytes = 0;
  private streamReady = false;

  constructor(
    private readonly client: CloudWatchLogsClient,
    readonly logGroup: string,
    readonly logStream: string,
  ) {}

  /** Adds one event; sends the buffered batch first when this one would break a limit. */
  async add(event: { timestamp: number; message: string }): Promise<void> {
    const size = Buffer.byteLength(event.message, 'utf8') + PUT_EVENT_OVERHEAD;
    const first = this.batch[0];
    const last = this.batch[this.batch.length - 1];
    if (
      first &&
      last &&
      (this.batch.length >= PUT_MAX_EVENTS ||
        this.bytes + size > PUT_MAX_BYTES ||
        event.timestamp < last.timestamp ||
        event.timestamp - first.timestamp > PUT_MAX_SPAN_MS)
    ) {
      await this.flush();
    }
    this.batch.push({ timestamp: event.timestamp, message: event.message });
    this.bytes += size;
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const logEvents = this.batch;
    this.batch = [];
    this.bytes = 0;
    await this.ensureStream();
    const { PutLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
    const out = await this.client.send(
      new PutLogEventsCommand({
        logGroupName: this.logGroup,
        logStreamName: this.logStream,
        logEvents,
      }),
    );
    this.stats.batches++;
    const info = out.rejectedLogEventsInfo;
    const tooOld = info?.tooOldLogEventEndIndex ?? 0;
    const expired = info?.expiredLogEventEndIndex ?? 0;
    const tooNew =
      info?.tooNewLogEventStartIndex !== undefined
        ? logEvents.length - info.tooNewLogEventStartIndex
        : 0;
    const refused = Math.max(tooOld, expired) + tooNew;
    this.stats.rejected.tooOld += tooOld;
    this.stats.rejected.expired += Math.max(0, expired - tooOld);
    this.stats.rejected.tooNew += tooNew;
    this.stats.events += logEvents.length - refused;
  }

  private async ensureStream(): Promise<void> {
    if (this.streamReady) return;
    const { CreateLogStreamCommand } = await import('@aws-sdk/client-cloudwatch-logs');
    try {
      await this.client.send(
        new CreateLogStreamCommand({ logGroupName: this.logGroup, logStreamName: this.logStream }),
      );
    } catch (e) {
      if ((e as { name?: string }).name !== 'ResourceAlreadyExistsException') throw e;
    }
    this.streamReady = true;
  }
}
