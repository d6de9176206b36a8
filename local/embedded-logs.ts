/**
 * CloudWatch Logs in the embedded mode: a local CloudWatch Logs endpoint (local/logs-endpoint.ts)
 * whose log groups and subscription filters are exactly the ones the stack installs
 * (lib/filter-patterns.ts `subscriptionPlan`), delivering to the local detector: the subscription
 * payload is decoded by the detector's own decoder and ingested by the embedded pipeline's
 * detector use case. So `cloudjail local` + `cloudjail ship` (and `npm start`) run the whole chain
 * log file → PutLogEvents → subscription filter pattern → detector → table → enforcer.
 */
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  PutSubscriptionFilterCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';
import type { JailConfig } from '../lambda/config/jail-config.js';
import { decodeSubscription, isControlMessage } from '../lambda/handlers/decode-subscription.js';
import type { IngestReport, LogBatch } from '../lambda/use-cases/ingest-log-events.js';
import { subscriptionPlan } from '../lib/filter-patterns.js';
import type { EmbeddedPipeline, PipelineCore } from './embedded.js';
import {
  type DeliveryOptions,
  EVENT_OVERHEAD_BYTES,
  type LocalLogs,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  startLocalLogs,
} from './logs-endpoint.js';

/** Name the local detector is known under (its ARN is the subscription destination). */
export const DETECTOR_FUNCTION = 'cloudjail-detector';

export function detectorArn(region: string, accountId: string): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${DETECTOR_FUNCTION}`;
}

export interface EmbeddedLogsOptions {
  /** Called with each report of the local detector (e.g. to run the enforcer on new bans). */
  readonly onReport?: (report: IngestReport, batch: LogBatch) => void | Promise<void>;
  /** Called before each ingestion (e.g. to set the pipeline's clock). */
  readonly beforeIngest?: (batch: LogBatch) => void;
  readonly delivery?: DeliveryOptions;
  /** Called when the local detector fails on a delivery (the endpoint delivers it again). */
  readonly onError?: (error: Error, batch: LogBatch) => void;
  /** The endpoint's clock (default: the pipeline's clock). */
  readonly now?: () => number;
}

export interface EmbeddedLogs {
  readonly logs: LocalLogs;
  readonly detectorArn: string;
  /**
   * Sends one batch as a shipper would (PutLogEvents into `batch.logStream`, created on first
   * use), delivers it through the subscription filters at once, and returns the detector reports
   * it produced. For replays, where the log's own clock drives everything.
   */
  ship(batch: LogBatch): Promise<IngestReport[]>;
  stop(): Promise<void>;
}

/** Events cut into PutLogEvents batches within the size and count limits (empty messages dropped). */
function putBatches(
  events: readonly { readonly timestamp: number; readonly message: string }[],
): { timestamp: number; message: string }[][] {
  const out: { timestamp: number; message: string }[][] = [];
  let current: { timestamp: number; message: string }[] = [];
  let bytes = 0;
  for (const e of events) {
    if (e.message === '') continue;
    const size = Buffer.byteLength(e.message, 'utf8') + EVENT_OVERHEAD_BYTES;
    if (
      current.length > 0 &&
      (bytes + size > MAX_BATCH_BYTES || current.length >= MAX_BATCH_EVENTS)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push({ timestamp: e.timestamp, message: e.message });
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Creates the log groups and subscription filters the stack would for these jails. */
export async function installSubscriptions(
  logs: LocalLogs,
  jails: readonly JailConfig[],
  destinationArn: string,
): Promise<void> {
  const client = logs.client();
  for (const spec of subscriptionPlan(jails)) {
    try {
      await client.send(new CreateLogGroupCommand({ logGroupName: spec.logGroup }));
    } catch (e) {
      if (!(e instanceof ResourceAlreadyExistsException)) throw e;
    }
    await client.send(
      new PutSubscriptionFilterCommand({
        logGroupName: spec.logGroup,
        filterName: spec.filterName,
        filterPattern: spec.filterPattern,
        destinationArn,
      }),
    );
  }
}

export async function startEmbeddedLogs(
  // The in-memory pipeline (replay, demo) has no EC2 endpoint: its region is the default one.
  pipeline: PipelineCore & { readonly ec2?: Pick<EmbeddedPipeline['ec2'], 'region'> },
  options: EmbeddedLogsOptions = {},
): Promise<EmbeddedLogs> {
  let collecting: IngestReport[] | undefined;
  const logs = await startLocalLogs({
    now: options.now ?? (() => pipeline.clock.now()),
    region: pipeline.ec2?.region ?? 'us-east-1',
    // Local redeliveries come back within seconds (CloudWatch Logs backs off for longer).
    delivery: { maxRetryDelayMs: 5000, ...options.delivery },
  });
  const arn = detectorArn(logs.region, logs.accountId);
  // The local detector: the handler's decoding, the pipeline's detector use case. A rejection
  // (store error) makes the endpoint deliver the batch again, as CloudWatch Logs retries Lambda.
  logs.setDestination(arn, async (event) => {
    const batch = decodeSubscription(event);
    if (isControlMessage(batch)) return { status: 'control-message' };
    options.beforeIngest?.(batch);
    let report: IngestReport;
    try {
      report = await pipeline.ingest(batch);
    } catch (e) {
      options.onError?.(e instanceof Error ? e : new Error(String(e)), batch);
      throw e;
    }
    collecting?.push(report);
    await options.onReport?.(report, batch);
    return { status: 'ingested', report };
  });
  try {
    await installSubscriptions(logs, pipeline.config.jails, arn);
  } catch (e) {
    await logs.stop();
    throw e;
  }
  const client = logs.client();
  const streams = new Set<string>();
  return {
    logs,
    detectorArn: arn,
    async ship(original) {
      // Log stream names cannot hold ':' or '*'.
      const batch = { ...original, logStream: original.logStream.replace(/[:*]/g, '_') };
      const key = `${batch.logGroup}\n${batch.logStream}`;
      if (!streams.has(key)) {
        try {
          await client.send(
            new CreateLogStreamCommand({
              logGroupName: batch.logGroup,
              logStreamName: batch.logStream,
            }),
          );
        } catch (e) {
          if (!(e instanceof ResourceAlreadyExistsException)) throw e;
        }
        streams.add(key);
      }
      for (const logEvents of putBatches(batch.events)) {
        await client.send(
          new PutLogEventsCommand({
            logGroupName: batch.logGroup,
            logStreamName: batch.logStream,
            logEvents,
          }),
        );
      }
      const reports: IngestReport[] = [];
      collecting = reports;
      try {
        await logs.flush();
      } finally {
        collecting = undefined;
      }
      return reports;
    },
    stop: () => logs.stop(),
  };
}
