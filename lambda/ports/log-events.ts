/**
 * The log event source port: reading what a log group already holds (CloudWatch Logs
 * FilterLogEvents), for backfill and diagnostics. Implemented by the CloudWatch Logs adapter
 * (lambda/adapters/cloudwatch-log-events.ts: the real SDK, pointed at AWS or at the local endpoint).
 */

/** One stored event, with the id CloudWatch Logs gives it (the id the subscription delivers). */
export interface StoredLogEvent {
  readonly logStream: string;
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
}

export interface LogEventQuery {
  readonly logGroup: string;
  /** Epoch ms, inclusive. */
  readonly startTime: number;
  /** Epoch ms, inclusive. */
  readonly endTime: number;
  /** CloudWatch Logs filter pattern (default: every event). */
  readonly filterPattern?: string;
}

export interface LogEventSource {
  /** Every event of the query, in time order, page after page. */
  events(query: LogEventQuery): AsyncIterable<StoredLogEvent>;
}
