/**
 * A local CloudWatch Logs endpoint: a `node:http` server on 127.0.0.1 speaking the CloudWatch Logs
 * JSON 1.1 protocol (`POST /`, `X-Amz-Target: Logs_20140328.<Operation>`, JSON bodies, errors as
 * `{"__type": code, "message"}` with HTTP 400), used through the real
 * `@aws-sdk/client-cloudwatch-logs`. Operations: CreateLogGroup, DeleteLogGroup,
 * PutRetentionPolicy, CreateLogStream, DescribeLogGroups, DescribeLogStreams, PutLogEvents,
 * FilterLogEvents, GetLogEvents, PutSubscriptionFilter, DescribeSubscriptionFilters,
 * DeleteSubscriptionFilter.
 *
 * It behaves like CloudWatch Logs where cloudjail depends on it:
 * - PutLogEvents: at most 10,000 events and 1,048,576 bytes per batch (UTF-8 message bytes + 26
 *   per event), events in chronological order, spanning at most 24 h (each an
 *   `InvalidParameterException` for the whole batch); events older than 14 days, older than the
 *   group's retention, or more than 2 h in the future are rejected one by one
 *   (`rejectedLogEventsInfo`: `tooOldLogEventEndIndex`, `expiredLogEventEndIndex`, exclusive;
 *   `tooNewLogEventStartIndex`, inclusive), the rest is stored;
 * - missing groups and streams: `ResourceNotFoundException`; duplicates:
 *   `ResourceAlreadyExistsException`; a third subscription filter on a group:
 *   `LimitExceededException`; a bad filter pattern or unknown destination:
 *   `InvalidParameterException`;
 * - every stored event has an id (56 decimal digits, unique, as CloudWatch's);
 * - subscription filters apply their filter pattern (lambda/core/logs/filter-pattern.ts) and
 *   deliver matching events to their destination (a callback registered under a Lambda ARN) with
 *   the real payload: base64 of gzip of `{messageType: "DATA_MESSAGE", owner, logGroup,
 *   logStream, subscriptionFilters: [name], logEvents: [{id, timestamp, message}]}`, one log
 *   stream per payload, batched by size and time; a `CONTROL_MESSAGE` is delivered when a filter is
 *   created (an unreachable destination makes PutSubscriptionFilter fail, as in AWS); a batch the
 *   destination rejects is delivered again later (at-least-once), with backoff.
 * - FilterLogEvents pages by `nextToken` (at most `limit` events and 1 MB per page), with
 *   `startTime`/`endTime` (ms, inclusive) and `filterPattern`.
 *
 * Not modelled: authentication (signatures are not checked), metric filters, JSON/space-delimited
 * filter patterns, Logs Insights, KMS, throttling.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  CloudWatchLogsClient,
  type CloudWatchLogsClientConfig,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type FilterPattern,
  FilterPatternError,
  parseFilterPattern,
} from '../lambda/core/logs/filter-pattern.js';
import { closeServer, LOCAL_CREDENTIALS, listenOnLoopback } from './loopback-server.js';

export const MAX_BATCH_BYTES = 1_048_576;
export const EVENT_OVERHEAD_BYTES = 26;
export const MAX_BATCH_EVENTS = 10_000;
/** One event's message: the batch limit less its overhead (the API reference's 1 MB event). */
export const MAX_EVENT_BYTES = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES;
export const MAX_BATCH_SPAN_MS = 24 * 3_600_000;
export const MAX_AGE_MS = 14 * 24 * 3_600_000;
export const MAX_FUTURE_MS = 2 * 3_600_000;
export const MAX_SUBSCRIPTION_FILTERS = 2;
const PAGE_BYTES = 1_048_576;
const DAY_MS = 24 * 3_600_000;

/** A subscription destination: what the Lambda function behind the ARN does with an event. */
export type LogsDestination = (event: { awslogs: { data: string } }) => Promise<unknown>;

export interface DeliveryOptions {
  /** A batch is delivered this long after its first event arrived (ms). @default 1000 */
  readonly flushAfterMs?: number;
  /** …or as soon as it holds this many bytes (messages + 26 per event). @default 262144 */
  readonly maxBatchBytes?: number;
  /** …or this many events. @default 10000 */
  readonly maxBatchEvents?: number;
  /** First redelivery delay after a destination failure (doubles up to maxRetryDelayMs). @default 1000 */
  readonly retryDelayMs?: number;
  /** Longest redelivery delay (ms). @default 60000 */
  readonly maxRetryDelayMs?: number;
  /** Attempts before a batch is dropped (counted in `dropped`). @default 50 */
  readonly maxAttempts?: number;
}

export interface LocalLogsOptions {
  /** The endpoint's clock (epoch ms): ingestion times and the age limits. @default Date.now */
  readonly now?: () => number;
  readonly region?: string;
  /** `owner` of the payloads and account of the ARNs. @default 123456789012 */
  readonly accountId?: string;
  /** Destinations by ARN (e.g. `arn:aws:lambda:…:function:cloudjail-detector`). */
  readonly destinations?: Readonly<Record<string, LogsDestination>>;
  readonly delivery?: DeliveryOptions;
  /** Largest FilterLogEvents page (events), below `limit`. @default 10000 */
  readonly pageEvents?: number;
}

export interface StoredEvent {
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
  readonly ingestionTime: number;
}

/** What the endpoint knows about one subscription filter's deliveries. */
export interface SubscriptionDeliveryStats {
  readonly logGroup: string;
  readonly filterName: string;
  readonly destinationArn: string;
  readonly filterPattern: string;
  /** Events that matched the pattern. */
  readonly matchedEvents: number;
  readonly deliveredBatches: number;
  readonly deliveredEvents: number;
  /** Delivery attempts the destination rejected. */
  readonly failedAttempts: number;
  readonly lastError?: string;
  readonly lastDeliveryAt?: number;
  /** Events waiting for delivery (new or to be retried). */
  readonly pendingEvents: number;
  /** Events given up after maxAttempts (the twin of a dead-letter queue). */
  readonly droppedEvents: number;
}

export interface LocalLogs {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** A client for this endpoint (destroyed on stop). */
  client(config?: Partial<CloudWatchLogsClientConfig>): CloudWatchLogsClient;
  /** Registers (or replaces) a destination. */
  setDestination(arn: string, destination: LogsDestination): void;
  /** Delivers every pending batch now (one attempt each; failed ones stay pending). */
  flush(): Promise<void>;
  deliveryStats(): SubscriptionDeliveryStats[];
  /** Events of one stream, for tests. */
  events(logGroup: string, logStream: string): readonly StoredEvent[];
  /** Requests served, by operation. */
  readonly requests: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

class LogsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Stream {
  readonly name: string;
  readonly createdAt: number;
  readonly events: StoredEvent[];
  lastIngestionTime?: number;
  sequence: number;
}

interface Batch {
  readonly logStream: string;
  events: StoredEvent[];
  bytes: number;
  readonly since: number;
  attempts: number;
  notBefore: number;
  /** An event did not fit: deliver without waiting. */
  full?: boolean;
}

interface Subscription {
  readonly filterName: string;
  readonly logGroup: string;
  filterPattern: string;
  pattern: FilterPattern;
  destinationArn: string;
  readonly createdAt: number;
  batches: Batch[];
  stats: {
    matchedEvents: number;
    deliveredBatches: number;
    deliveredEvents: number;
    failedAttempts: number;
    droppedEvents: number;
    lastError?: string;
    lastDeliveryAt?: number;
  };
}

interface Group {
  readonly name: string;
  readonly createdAt: number;
  retentionInDays?: number;
  readonly streams: Map<string, Stream>;
  readonly subscriptions: Map<string, Subscription>;
}

const RETENTION_DAYS = new Set([
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
]);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body ?? {}));
}

function str(params: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) {
    if (required) {
      throw new LogsFault(
        'InvalidParameterException',
        `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return undefined;
  }
  if (typeof v !== 'string') {
    throw new LogsFault('SerializationException', `${key} must be a string`);
  }
  return v;
}

function num(params: Record<string, unknown>, key: string): number | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new LogsFault('SerializationException', `${key} must be a number`);
  }
  return v;
}

function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeToken<T>(token: string | undefined): T | undefined {
  if (token === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as T;
  } catch {
    throw new LogsFault('InvalidParameterException', 'The specified nextToken is invalid.');
  }
}

function eventBytes(message: string): number {
  return Buffer.byteLength(message, 'utf8') + EVENT_OVERHEAD_BYTES;
}

export async function startLocalLogs(options: LocalLogsOptions = {}): Promise<LocalLogs> {
  const now = options.now ?? (() => Date.now());
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const destinations = new Map(Object.entries(options.destinations ?? {}));
  const delivery = {
    flushAfterMs: options.delivery?.flushAfterMs ?? 1000,
    maxBatchBytes: options.delivery?.maxBatchBytes ?? 262_144,
    maxBatchEvents: options.delivery?.maxBatchEvents ?? MAX_BATCH_EVENTS,
    retryDelayMs: options.delivery?.retryDelayMs ?? 1000,
    maxAttempts: options.delivery?.maxAttempts ?? 50,
    maxRetryDelayMs: options.delivery?.maxRetryDelayMs ?? 60_000,
  };
  const pageEvents = options.pageEvents ?? MAX_BATCH_EVENTS;
  const groups = new Map<string, Group>();
  const requests: Record<string, number> = {};
  let eventSeq = 0n;
  let timer: NodeJS.Timeout | undefined;
  let delivering: Promise<void> = Promise.resolve();
  let stopped = false;

  const groupArn = (name: string) => `arn:aws:logs:${region}:${accountId}:log-group:${name}`;
  const group = (params: Record<string, unknown>): Group => {
    const name =
      str(params, 'logGroupName', false) ?? str(params, 'logGroupIdentifier', false) ?? undefined;
    if (name === undefined) {
      throw new LogsFault('InvalidParameterException', 'Missing required parameter logGroupName');
    }
    const bare = name.startsWith('arn:')
      ? name.replace(/^.*:log-group:/, '').replace(/:\*$/, '')
      : name;
    const g = groups.get(bare);
    if (!g)
      throw new LogsFault('ResourceNotFoundException', 'The specified log group does not exist.');
    return g;
  };
  const nextId = (timestamp: number): string => {
    eventSeq++;
    const id = (BigInt(Math.max(0, Math.trunc(timestamp))) << 64n) | eventSeq;
    return id.toString().padStart(56, '0');
  };

  // ---- subscription delivery ----
  const payload = (sub: Subscription, batch: Batch, type: 'DATA_MESSAGE' | 'CONTROL_MESSAGE') => {
    const body =
      type === 'CONTROL_MESSAGE'
        ? {
            messageType: type,
            owner: 'CloudwatchLogs',
            logGroup: '',
            logStream: '',
            subscriptionFilters: [],
            logEvents: [
              {
                id: '',
                timestamp: now(),
                message: 'CWL CONTROL MESSAGE: Checking health of destination Lambda function.',
              },
            ],
          }
        : {
            messageType: type,
            owner: accountId,
            logGroup: sub.logGroup,
            logStream: batch.logStream,
            subscriptionFilters: [sub.filterName],
            logEvents: batch.events.map((e) => ({
              id: e.id,
              timestamp: e.timestamp,
              message: e.message,
            })),
          };
    return { awslogs: { data: gzipSync(JSON.stringify(body)).toString('base64') } };
  };
  const subscriptions = () => [...groups.values()].flatMap((g) => [...g.subscriptions.values()]);
  const due = (batch: Batch, at: number, force: boolean) =>
    at >= batch.notBefore &&
    (force ||
      batch.attempts > 0 ||
      batch.full === true ||
      batch.bytes >= delivery.maxBatchBytes ||
      batch.events.length >= delivery.maxBatchEvents ||
      at - batch.since >= delivery.flushAfterMs);
  const deliverDue = async (force: boolean): Promise<void> => {
    for (const sub of subscriptions()) {
      const ready = sub.batches.filter((b) => due(b, Date.now(), force));
      for (const batch of ready) {
        const destination = destinations.get(sub.destinationArn);
        try {
          if (!destination) throw new Error(`no destination ${sub.destinationArn}`);
          await destination(payload(sub, batch, 'DATA_MESSAGE'));
          sub.batches = sub.batches.filter((b) => b !== batch);
          sub.stats.deliveredBatches++;
          sub.stats.deliveredEvents += batch.events.length;
          sub.stats.lastDeliveryAt = now();
        } catch (e) {
          batch.attempts++;
          sub.stats.failedAttempts++;
          sub.stats.lastError = e instanceof Error ? e.message : String(e);
          if (batch.attempts >= delivery.maxAttempts) {
            sub.batches = sub.batches.filter((b) => b !== batch);
            sub.stats.droppedEvents += batch.events.length;
          } else {
            batch.notBefore =
              Date.now() +
              Math.min(delivery.maxRetryDelayMs, delivery.retryDelayMs * 2 ** (batch.attempts - 1));
          }
        }
      }
    }
  };
  const runDelivery = (force: boolean): Promise<void> => {
    delivering = delivering.then(() => deliverDue(force)).catch(() => undefined);
    return delivering;
  };
  const schedule = () => {
    if (stopped || timer) return;
    const pending = subscriptions().flatMap((s) => s.batches);
    if (pending.length === 0) return;
    const at = Date.now();
    const wait = Math.max(
      0,
      Math.min(
        ...pending.map(
          (b) =>
            Math.max(b.notBefore, b.attempts > 0 ? b.notBefore : b.since + delivery.flushAfterMs) -
            at,
        ),
      ),
    );
    timer = setTimeout(() => {
      timer = undefined;
      void runDelivery(false).then(schedule);
    }, wait);
    timer.unref?.();
  };
  const enqueue = (g: Group, stream: string, events: readonly StoredEvent[]) => {
    for (const sub of g.subscriptions.values()) {
      for (const e of events) {
        if (!sub.pattern.matches(e.message)) continue;
        sub.stats.matchedEvents++;
        const size = eventBytes(e.message);
        let batch = sub.batches.find(
          (b) =>
            b.logStream === stream &&
            b.attempts === 0 &&
            b.bytes + size <= delivery.maxBatchBytes &&
            b.events.length < delivery.maxBatchEvents,
        );
        if (!batch) {
          for (const b of sub.batches)
            if (b.logStream === stream && b.attempts === 0) b.full = true;
          batch = {
            logStream: stream,
            events: [],
            bytes: 0,
            since: Date.now(),
            attempts: 0,
            notBefore: 0,
          };
          sub.batches.push(batch);
        }
        batch.events.push(e);
        batch.bytes += size;
      }
    }
    if (subscriptions().some((s) => s.batches.some((b) => due(b, Date.now(), false)))) {
      void runDelivery(false).then(schedule);
    } else schedule();
  };

  // ---- operations ----
  const ops: Record<string, (p: Record<string, unknown>) => unknown | Promise<unknown>> = {
    CreateLogGroup(p) {
      const name = str(p, 'logGroupName') as string;
      if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
        throw new LogsFault(
          'InvalidParameterException',
          `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
        );
      }
      if (groups.has(name)) {
        throw new LogsFault(
          'ResourceAlreadyExistsException',
          'The specified log group already exists',
        );
      }
      groups.set(name, { name, createdAt: now(), streams: new Map(), subscriptions: new Map() });
      return {};
    },
    DeleteLogGroup(p) {
      const g = group(p);
      groups.delete(g.name);
      return {};
    },
    PutRetentionPolicy(p) {
      const g = group(p);
      const days = num(p, 'retentionInDays');
      if (days === undefined || !RETENTION_DAYS.has(days)) {
        throw new LogsFault(
          'InvalidParameterException',
          `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${[...RETENTION_DAYS].join(', ')}]`,
        );
      }
      g.retentionInDays = days;
      return {};
    },
    CreateLogStream(p) {
      const g = group(p);
      const name = str(p, 'logStreamName') as string;
      if (name === '' || name.includes(':') || name.includes('*')) {
        throw new LogsFault(
          'InvalidParameterException',
          `1 validation error detected: Value '${name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`,
        );
      }
      if (g.streams.has(name)) {
        throw new LogsFault(
          'ResourceAlreadyExistsException',
          'The specified log stream already exists',
        );
      }
      g.streams.set(name, { name, createdAt: now(), events: [], sequence: 0 });
      return {};
    },
    DescribeLogGroups(p) {
      const prefix = str(p, 'logGroupNamePrefix', false) ?? '';
      const limit = Math.min(num(p, 'limit') ?? 50, 50);
      const start = decodeToken<{ after: string }>(str(p, 'nextToken', false));
      const names = [...groups.keys()]
        .filter((n) => n.startsWith(prefix))
        .sort()
        .filter((n) => !start || n > start.after);
      const page = names.slice(0, limit);
      return {
        logGroups: page.map((n) => {
          const g = groups.get(n) as Group;
          return {
            logGroupName: n,
            creationTime: g.createdAt,
            ...(g.retentionInDays !== undefined ? { retentionInDays: g.retentionInDays } : {}),
            metricFilterCount: 0,
            arn: `${groupArn(n)}:*`,
            logGroupArn: groupArn(n),
            storedBytes: 0,
          };
        }),
        ...(names.length > limit
          ? { nextToken: encodeToken({ after: page[page.length - 1] }) }
          : {}),
      };
    },
    DescribeLogStreams(p) {
      const g = group(p);
      const prefix = str(p, 'logStreamNamePrefix', false);
      const orderBy = str(p, 'orderBy', false) ?? 'LogStreamName';
      if (prefix !== undefined && orderBy === 'LastEventTime') {
        throw new LogsFault(
          'InvalidParameterException',
          'Cannot order by LastEventTime with a logStreamNamePrefix.',
        );
      }
      const limit = Math.min(num(p, 'limit') ?? 50, 50);
      const offset = decodeToken<{ offset: number }>(str(p, 'nextToken', false))?.offset ?? 0;
      const last = (s: Stream) => s.events[s.events.length - 1]?.timestamp ?? 0;
      let streams = [...g.streams.values()].filter((s) => s.name.startsWith(prefix ?? ''));
      streams.sort((a, b) =>
        orderBy === 'LastEventTime'
          ? last(a) - last(b)
          : a.name < b.name
            ? -1
            : a.name > b.name
              ? 1
              : 0,
      );
      if (p['descending'] === true) streams = streams.reverse();
      const page = streams.slice(offset, offset + limit);
      return {
        logStreams: page.map((s) => ({
          logStreamName: s.name,
          creationTime: s.createdAt,
          ...(s.events.length > 0
            ? {
                firstEventTimestamp: s.events[0]?.timestamp,
                lastEventTimestamp: last(s),
              }
            : {}),
          ...(s.lastIngestionTime !== undefined ? { lastIngestionTime: s.lastIngestionTime } : {}),
          uploadSequenceToken: String(s.sequence),
          arn: `${groupArn(g.name)}:log-stream:${s.name}`,
          storedBytes: 0,
        })),
        ...(offset + limit < streams.length
          ? { nextToken: encodeToken({ offset: offset + limit }) }
          : {}),
      };
    },
    PutLogEvents(p) {
      const g = group(p);
      const streamName = str(p, 'logStreamName') as string;
      const stream = g.streams.get(streamName);
      if (!stream) {
        throw new LogsFault(
          'ResourceNotFoundException',
          'The specified log stream does not exist.',
        );
      }
      const raw = p['logEvents'];
      if (!Array.isArray(raw) || raw.length === 0) {
        throw new LogsFault(
          'InvalidParameterException',
          "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      if (raw.length > MAX_BATCH_EVENTS) {
        throw new LogsFault(
          'InvalidParameterException',
          `1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to ${MAX_BATCH_EVENTS}`,
        );
      }
      let bytes = 0;
      const events = raw.map((e: unknown, i) => {
        const ev = e as { timestamp?: unknown; message?: unknown };
        if (typeof ev?.timestamp !== 'number' || typeof ev.message !== 'string') {
          throw new LogsFault(
            'InvalidParameterException',
            `logEvents.${i + 1}: timestamp (number) and message (string) are required`,
          );
        }
        if (ev.message.length === 0) {
          throw new LogsFault(
            'InvalidParameterException',
            `1 validation error detected: Value '' at 'logEvents.${i + 1}.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1`,
          );
        }
        const size = eventBytes(ev.message);
        if (size - EVENT_OVERHEAD_BYTES > MAX_EVENT_BYTES) {
          throw new LogsFault(
            'InvalidParameterException',
            `Log event too large: ${size - EVENT_OVERHEAD_BYTES} bytes exceeds limit of ${MAX_EVENT_BYTES}`,
          );
        }
        bytes += size;
        return { timestamp: ev.timestamp, message: ev.message };
      });
      if (bytes > MAX_BATCH_BYTES) {
        throw new LogsFault(
          'InvalidParameterException',
          `Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`,
        );
      }
      for (let i = 1; i < events.length; i++) {
        if ((events[i]?.timestamp as number) < (events[i - 1]?.timestamp as number)) {
          throw new LogsFault(
            'InvalidParameterException',
            'Log events in a single PutLogEvents request must be in chronological order.',
          );
        }
      }
      const first = events[0]?.timestamp as number;
      const lastTs = events[events.length - 1]?.timestamp as number;
      if (lastTs - first > MAX_BATCH_SPAN_MS) {
        throw new LogsFault(
          'InvalidParameterException',
          'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
        );
      }
      const at = now();
      const retentionLimit =
        g.retentionInDays !== undefined ? at - g.retentionInDays * DAY_MS : -Infinity;
      let tooOldEnd = 0;
      let expiredEnd = 0;
      let tooNewStart = events.length;
      events.forEach((e, i) => {
        if (e.timestamp < at - MAX_AGE_MS) tooOldEnd = i + 1;
        else if (e.timestamp < retentionLimit) expiredEnd = i + 1;
        if (e.timestamp > at + MAX_FUTURE_MS && tooNewStart === events.length) tooNewStart = i;
      });
      const accepted: StoredEvent[] = [];
      events.forEach((e, i) => {
        if (i < tooOldEnd || i < expiredEnd || i >= tooNewStart) return;
        accepted.push({
          id: nextId(e.timestamp),
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: at,
        });
      });
      for (const e of accepted) {
        // Stored by timestamp; equal timestamps keep their arrival order.
        let k = stream.events.length;
        while (k > 0 && (stream.events[k - 1] as StoredEvent).timestamp > e.timestamp) k--;
        stream.events.splice(k, 0, e);
      }
      if (accepted.length > 0) stream.lastIngestionTime = at;
      stream.sequence++;
      enqueue(g, stream.name, accepted);
      const rejected = {
        ...(tooOldEnd > 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}),
        ...(expiredEnd > 0 ? { expiredLogEventEndIndex: expiredEnd } : {}),
        ...(tooNewStart < events.length ? { tooNewLogEventStartIndex: tooNewStart } : {}),
      };
      return {
        nextSequenceToken: String(stream.sequence),
        ...(Object.keys(rejected).length > 0 ? { rejectedLogEventsInfo: rejected } : {}),
      };
    },
    FilterLogEvents(p) {
      const g = group(p);
      const names = p['logStreamNames'] as string[] | undefined;
      const prefix = str(p, 'logStreamNamePrefix', false);
      if (names !== undefined && prefix !== undefined) {
        throw new LogsFault(
          'InvalidParameterException',
          'logStreamNames and logStreamNamePrefix are mutually exclusive',
        );
      }
      const startTime = num(p, 'startTime') ?? -Infinity;
      const endTime = num(p, 'endTime') ?? Infinity;
      const limit = Math.min(num(p, 'limit') ?? MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, pageEvents);
      let pattern: FilterPattern;
      try {
        pattern = parseFilterPattern(str(p, 'filterPattern', false) ?? '');
      } catch (e) {
        throw new LogsFault('InvalidParameterException', (e as Error).message);
      }
      const token = decodeToken<{ offset: number }>(str(p, 'nextToken', false));
      const streams = [...g.streams.values()].filter(
        (s) => (names ? names.includes(s.name) : true) && s.name.startsWith(prefix ?? ''),
      );
      const all: (StoredEvent & { logStreamName: string })[] = [];
      for (const s of streams) {
        for (const e of s.events) {
          if (e.timestamp >= startTime && e.timestamp <= endTime && pattern.matches(e.message)) {
            all.push({ ...e, logStreamName: s.name });
          }
        }
      }
      // Interleaved by time across streams (stable: one stream's order is kept).
      all.sort((a, b) => a.timestamp - b.timestamp);
      const offset = token?.offset ?? 0;
      let end = offset;
      let size = 0;
      while (end < all.length && end - offset < limit) {
        size += eventBytes((all[end] as StoredEvent).message);
        if (size > PAGE_BYTES && end > offset) break;
        end++;
      }
      return {
        events: all.slice(offset, end).map((e) => ({
          logStreamName: e.logStreamName,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.ingestionTime,
          eventId: e.id,
        })),
        searchedLogStreams: streams.map((s) => ({
          logStreamName: s.name,
          searchedCompletely: true,
        })),
        ...(end < all.length ? { nextToken: encodeToken({ offset: end }) } : {}),
      };
    },
    GetLogEvents(p) {
      const g = group(p);
      const name = str(p, 'logStreamName') as string;
      const stream = g.streams.get(name);
      if (!stream) {
        throw new LogsFault(
          'ResourceNotFoundException',
          'The specified log stream does not exist.',
        );
      }
      const startTime = num(p, 'startTime') ?? -Infinity;
      const endTime = num(p, 'endTime') ?? Infinity;
      const limit = Math.min(num(p, 'limit') ?? MAX_BATCH_EVENTS, MAX_BATCH_EVENTS);
      const events = stream.events.filter((e) => e.timestamp >= startTime && e.timestamp < endTime);
      const token = str(p, 'nextToken', false);
      const parsed = token ? /^([fb])\/(\d+)$/.exec(token) : null;
      if (token && !parsed) {
        throw new LogsFault('InvalidParameterException', 'The specified nextToken is invalid.');
      }
      let from: number;
      let to: number;
      if (parsed) {
        const at = Number(parsed[2]);
        if (parsed[1] === 'f') {
          from = at;
          to = Math.min(events.length, at + limit);
        } else {
          to = at;
          from = Math.max(0, at - limit);
        }
      } else if (p['startFromHead'] === true) {
        from = 0;
        to = Math.min(events.length, limit);
      } else {
        to = events.length;
        from = Math.max(0, to - limit);
      }
      return {
        events: events.slice(from, to).map((e) => ({
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.ingestionTime,
        })),
        // At the end, the forward token is the one given (how callers know they are done).
        nextForwardToken: `f/${to}`,
        nextBackwardToken: `b/${from}`,
      };
    },
    async PutSubscriptionFilter(p) {
      const g = group(p);
      const filterName = str(p, 'filterName') as string;
      const filterPattern = str(p, 'filterPattern') as string;
      const destinationArn = str(p, 'destinationArn') as string;
      let pattern: FilterPattern;
      try {
        pattern = parseFilterPattern(filterPattern);
      } catch (e) {
        if (e instanceof FilterPatternError) {
          throw new LogsFault('InvalidParameterException', `Invalid filter pattern: ${e.message}`);
        }
        throw e;
      }
      const existing = g.subscriptions.get(filterName);
      if (!existing && g.subscriptions.size >= MAX_SUBSCRIPTION_FILTERS) {
        throw new LogsFault('LimitExceededException', 'Resource limit exceeded.');
      }
      const destination = destinations.get(destinationArn);
      if (!destination) {
        throw new LogsFault(
          'InvalidParameterException',
          'Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function.',
        );
      }
      const sub: Subscription = existing ?? {
        filterName,
        logGroup: g.name,
        filterPattern,
        pattern,
        destinationArn,
        createdAt: now(),
        batches: [],
        stats: {
          matchedEvents: 0,
          deliveredBatches: 0,
          deliveredEvents: 0,
          failedAttempts: 0,
          droppedEvents: 0,
        },
      };
      try {
        await destination(
          payload(
            sub,
            { logStream: '', events: [], bytes: 0, since: 0, attempts: 0, notBefore: 0 },
            'CONTROL_MESSAGE',
          ),
        );
      } catch {
        throw new LogsFault(
          'InvalidParameterException',
          'Could not deliver test message to specified destination. Check if the destination is valid.',
        );
      }
      sub.filterPattern = filterPattern;
      sub.pattern = pattern;
      sub.destinationArn = destinationArn;
      g.subscriptions.set(filterName, sub);
      return {};
    },
    DescribeSubscriptionFilters(p) {
      const g = group(p);
      const prefix = str(p, 'filterNamePrefix', false) ?? '';
      return {
        subscriptionFilters: [...g.subscriptions.values()]
          .filter((s) => s.filterName.startsWith(prefix))
          .map((s) => ({
            filterName: s.filterName,
            logGroupName: g.name,
            filterPattern: s.filterPattern,
            destinationArn: s.destinationArn,
            distribution: 'ByLogStream',
            creationTime: s.createdAt,
          })),
      };
    },
    DeleteSubscriptionFilter(p) {
      const g = group(p);
      const name = str(p, 'filterName') as string;
      if (!g.subscriptions.delete(name)) {
        throw new LogsFault(
          'ResourceNotFoundException',
          'The specified subscription filter does not exist.',
        );
      }
      return {};
    },
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const match = /^Logs_20140328\.(\w+)$/.exec(target);
        const op = match ? ops[match[1] as string] : undefined;
        if (req.method !== 'POST' || !match || !op) {
          throw new LogsFault('UnknownOperationException', `Unknown operation ${target}`);
        }
        requests[match[1] as string] = (requests[match[1] as string] ?? 0) + 1;
        let params: Record<string, unknown>;
        try {
          params = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        } catch {
          throw new LogsFault(
            'SerializationException',
            'Start of structure or map found where not expected.',
          );
        }
        send(res, 200, await op(params));
      })
      .catch((error: unknown) => {
        const fault =
          error instanceof LogsFault
            ? error
            : new LogsFault('ServiceUnavailableException', `internal error: ${String(error)}`, 500);
        send(res, fault.status, { __type: fault.code, message: fault.message });
      });
  });
  const endpoint = await listenOnLoopback(server);
  const clients: CloudWatchLogsClient[] = [];

  return {
    endpoint,
    region,
    accountId,
    requests,
    client(config = {}) {
      const client = new CloudWatchLogsClient({
        region,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
        ...config,
        endpoint,
      });
      clients.push(client);
      return client;
    },
    setDestination(arn, destination) {
      destinations.set(arn, destination);
    },
    async flush() {
      await runDelivery(true);
    },
    deliveryStats: () =>
      subscriptions().map((s) => ({
        logGroup: s.logGroup,
        filterName: s.filterName,
        destinationArn: s.destinationArn,
        filterPattern: s.filterPattern,
        ...s.stats,
        pendingEvents: s.batches.reduce((n, b) => n + b.events.length, 0),
      })),
    events: (logGroup, logStream) => groups.get(logGroup)?.streams.get(logStream)?.events ?? [],
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await delivering;
      for (const c of clients) c.destroy();
      await closeServer(server);
    },
  };
}
