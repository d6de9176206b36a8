/**
 * The detector Lambda: target of the CloudWatch Logs subscription filters. Thin: decode the
 * payload, build dependencies once per container, call the ingest use case, publish metrics.
 * A malformed payload is logged and skipped; only a store outage fails the invocation (so Lambda
 * retries the batch, which is safe: counting is idempotent).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDbBanStore } from '../adapters/dynamodb-ban-store.js';
import { BUILTIN_FILTER_DIR, loadBuiltinOrFileFilter } from '../adapters/filter-files.js';
import { LambdaEnforcementTrigger } from '../adapters/lambda-enforcement-trigger.js';
import { ENV } from '../config/env-names.js';
import { parseIgnoreList, parseJails } from '../config/jail-config.js';
import { ConfigError } from '../core/errors.js';
import type { BanStore, IgnoreEntry, JailOverride } from '../ports/ban-store.js';
import type { EnforcementTrigger } from '../ports/enforcement-trigger.js';
import {
  type IngestDeps,
  IngestFailedError,
  type IngestReport,
  ingestLogEvents,
  type JailRuntime,
} from '../use-cases/ingest-log-events.js';
import { decodeSubscription, isControlMessage, PayloadError } from './decode-subscription.js';

export interface DetectorDeps {
  readonly store: BanStore;
  readonly trigger: EnforcementTrigger;
  readonly jails: readonly JailRuntime[];
  readonly ignoreip: readonly string[];
  readonly now: () => number;
  /** How long the runtime allowlist is cached per container (ms). */
  readonly ignoreCacheMs?: number;
  /** Structured logger (default: a Powertools Logger, service `cloudjail-detector`). */
  readonly logger?: DetectorLogger;
  /** EMF metrics (default: a Powertools Metrics, namespace `cloudjail`). */
  readonly metrics?: Metrics;
}

/** The part of Powertools' Logger the detector uses. */
export interface DetectorLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface DetectorResult {
  readonly status: 'ingested' | 'control-message' | 'malformed' | 'unrouted';
  readonly report?: IngestReport;
}

const defaultLogger = new Logger({ serviceName: 'cloudjail-detector' });
const defaultMetrics = new Metrics({ namespace: 'cloudjail', serviceName: 'detector' });

/** Builds jails (filters loaded once) from the JSON configuration the stack sets. */
export function jailsFromConfig(
  rawConfig: string | undefined,
  filterDir: string,
): { jails: JailRuntime[]; ignoreip: string[] } {
  let config: { jails?: unknown; ignoreip?: unknown };
  try {
    config = JSON.parse(rawConfig ?? '');
  } catch {
    throw new ConfigError([`${ENV.config} is not JSON`], 'detector configuration');
  }
  const jails = parseJails(config.jails);
  const ignore = parseIgnoreList(config.ignoreip, 'ignoreip');
  const problems = [...jails.problems, ...ignore.problems];
  if (problems.length > 0 || !jails.value)
    throw new ConfigError(problems, 'detector configuration');
  return {
    // Jails for manual bans only (no filter, no log group) are not the detector's.
    jails: jails.value
      .filter((cfg) => cfg.filter !== '')
      .map((cfg) => {
        const filter = loadBuiltinOrFileFilter(cfg.filter, undefined, filterDir);
        return {
          config: cfg,
          createMatcher: () => filter.createMatcher({ timeZone: cfg.timezone }),
        };
      }),
    ignoreip: ignore.value ?? [],
  };
}

/** Factory: tests inject in-memory dependencies; production builds them from the environment. */
export function createDetectorHandler(build: () => DetectorDeps) {
  let deps: DetectorDeps | undefined;
  let ignores: { at: number; entries: readonly IgnoreEntry[] } | undefined;
  let overrides: { at: number; entries: readonly JailOverride[] } | undefined;
  return async (event: unknown): Promise<DetectorResult> => {
    deps ??= build();
    const d = deps;
    const logger = d.logger ?? defaultLogger;
    const metrics = d.metrics ?? defaultMetrics;
    let batch: ReturnType<typeof decodeSubscription>;
    try {
      batch = decodeSubscription(event);
    } catch (e) {
      if (!(e instanceof PayloadError)) throw e;
      // Context, never the payload itself: it is attacker-influenced and up to 1 MB.
      const data = (event as { awslogs?: { data?: unknown } } | null)?.awslogs?.data;
      logger.error('malformed subscription payload skipped', {
        error: e.message,
        dataLength: typeof data === 'string' ? data.length : undefined,
      });
      metrics.addMetric('PayloadsMalformed', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return { status: 'malformed' };
    }
    if (isControlMessage(batch)) {
      // CloudWatch's reachability check: never data. Events in it that are not the check's own
      // text would be lost silently, so they are reported.
      if (batch.unexpectedEvents > 0) {
        logger.warn('CONTROL_MESSAGE carries log events; not ingested', {
          events: batch.events,
          unexpectedEvents: batch.unexpectedEvents,
        });
        metrics.addMetric('ControlMessageEventsIgnored', MetricUnit.Count, batch.unexpectedEvents);
      } else {
        logger.info('CONTROL_MESSAGE (CloudWatch reachability check) skipped', {
          events: batch.events,
        });
      }
      metrics.addMetric('ControlMessages', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return { status: 'control-message' };
    }
    const logGroup = batch.logGroup;
    if (!d.jails.some((j) => j.config.logGroups.includes(logGroup))) {
      // A subscription the configuration does not know (a stale or hand-made filter): its
      // failures would count nowhere, so say so instead of reporting zero failures.
      logger.warn('no jail reads this log group; batch not counted', {
        logGroup,
        logStream: batch.logStream,
        events: batch.events.length,
      });
      metrics.addDimension('logGroup', logGroup);
      metrics.addMetric('BatchesUnrouted', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return { status: 'unrouted' };
    }
    const ingestDeps: IngestDeps = {
      store: d.store,
      trigger: d.trigger,
      jails: d.jails,
      ignoreip: d.ignoreip,
      now: d.now,
      logger: {
        info: (message, extra) => logger.info(message, extra ?? {}),
        warn: (message, extra) => logger.warn(message, extra ?? {}),
      },
      runtimeIgnores: async () => {
        const now = d.now();
        if (!ignores || now - ignores.at > (d.ignoreCacheMs ?? 60_000)) {
          ignores = { at: now, entries: await d.store.listIgnores() };
        }
        return ignores.entries;
      },
      // `cloudjail set` overrides: cached per container like the runtime allowlist.
      jailOverrides: async () => {
        const now = d.now();
        if (!overrides || now - overrides.at > (d.ignoreCacheMs ?? 60_000)) {
          overrides = { at: now, entries: await d.store.listJailOverrides() };
        }
        return overrides.entries;
      },
    };
    let report: IngestReport;
    try {
      report = await ingestLogEvents(batch, ingestDeps);
    } catch (e) {
      // A store outage: fail the invocation so Lambda retries the batch (counting is idempotent).
      // What was recorded before it is published: the retry will not count it again.
      if (e instanceof IngestFailedError) publishReport(metrics, logGroup, e.report);
      logger.error('batch failed; it will be retried', {
        logGroup: batch.logGroup,
        logStream: batch.logStream,
        events: batch.events.length,
        ...(e instanceof IngestFailedError
          ? { newFailures: e.report.newFailures, bans: e.report.bans.length }
          : {}),
        error: (e as Error).message,
      });
      throw e;
    }
    publishReport(metrics, logGroup, report);
    logger.info('batch ingested', {
      logGroup: batch.logGroup,
      logStream: batch.logStream,
      events: report.events,
      failures: report.failures,
      newFailures: report.newFailures,
      allowlisted: report.allowlisted,
      skippedEvents: report.skippedEvents,
      clampedFailures: report.clampedFailures,
      pairs: report.pairs,
      alreadyBanned: report.alreadyBanned,
      bans: report.bans.length,
    });
    return { status: 'ingested', report };
  };
}

/** The batch's EMF metrics (dimension logGroup). */
function publishReport(metrics: Metrics, logGroup: string, report: IngestReport): void {
  metrics.addDimension('logGroup', logGroup);
  metrics.addMetric('FailuresMatched', MetricUnit.Count, report.failures);
  metrics.addMetric('FailuresAllowlisted', MetricUnit.Count, report.allowlisted);
  metrics.addMetric('FailuresNew', MetricUnit.Count, report.newFailures);
  metrics.addMetric('BansCreated', MetricUnit.Count, report.bans.length);
  metrics.addMetric('EventsSkipped', MetricUnit.Count, report.skippedEvents);
  metrics.addMetric('FailuresClamped', MetricUnit.Count, report.clampedFailures);
  metrics.publishStoredMetrics();
}

function buildFromEnvironment(): DetectorDeps {
  const tableName = process.env[ENV.tableName];
  const enforcer = process.env[ENV.enforcerFunction];
  if (!tableName || !enforcer) {
    throw new ConfigError(
      [`${ENV.tableName} and ${ENV.enforcerFunction} must be set`],
      'detector environment',
    );
  }
  const { jails, ignoreip } = jailsFromConfig(
    process.env[ENV.config],
    process.env[ENV.filterDir] ?? BUILTIN_FILTER_DIR,
  );
  return {
    store: new DynamoDbBanStore(new DynamoDBClient({}), tableName),
    trigger: new LambdaEnforcementTrigger(new LambdaClient({}), enforcer),
    jails,
    ignoreip,
    now: () => Date.now(),
  };
}

export const handler = createDetectorHandler(buildFromEnvironment);
