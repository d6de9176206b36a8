/**
 * The enforcer Lambda: the single NACL writer (architecture invariant 1, reserved concurrency 1).
 * Thin: build dependencies once per container, run the enforce-bans use case, publish metrics,
 * return the report (a synchronous CLI invoke prints it).
 *
 * Events: anything. The schedule sends `{ source: 'cloudjail.schedule' }`, the detector
 * `{ source, reason }`, the CLI `{ source: 'cloudjail.cli', reason, dryRun? }`. Only `dryRun: true`
 * is read: it can make a run safer (report only), never less safe — `dryRun: false` does not
 * override a configured `enforcement.dryRun: true`.
 *
 * Throws only when the ban store cannot be read or every NACL failed, so Lambda records an error
 * (and the DLQ gets async failures); one failing NACL is reported and the others are still enforced.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { METRICS } from '../../lib/runtime-contract.js';
import { DynamoDbBanStore } from '../adapters/dynamodb-ban-store.js';
import { DynamoDbEnforcerState } from '../adapters/dynamodb-enforcer-state.js';
import { createEc2Client, Ec2NetworkAcls } from '../adapters/ec2-network-acls.js';
import { S3AgentHeartbeats } from '../adapters/s3-agent-heartbeats.js';
import { S3BanListPublisher } from '../adapters/s3-ban-list-publisher.js';
import { loadCloudjailConfig } from '../config/cloudjail-config.js';
import { ENV } from '../config/env-names.js';
import type { AgentHealth } from '../core/agent-health.js';
import { CloudjailError, ConfigError } from '../core/errors.js';
import { readAgentHealth } from '../use-cases/agent-fleet-health.js';
import {
  type EnforceBansDeps,
  type EnforcementReport,
  enforceBans,
} from '../use-cases/enforce-bans.js';
import { PublicationMemory } from '../use-cases/publish-ban-list.js';

export type EnforcerDeps = EnforceBansDeps & {
  /** The host tier's health (agents enabled): emitted as AgentsCurrent/Behind/Silent. */
  readonly agentHealth?: () => Promise<AgentHealth>;
};

/** Every NACL failed: nothing was enforced in this run. */
export class EnforcementFailedError extends CloudjailError {}

const logger = new Logger({ serviceName: 'cloudjail-enforcer' });

/** `dryRun: true` in the event, whatever its source. */
export function eventRequestsDryRun(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as Record<string, unknown>)['dryRun'] === true
  );
}

function eventSource(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const source = (event as Record<string, unknown>)['source'];
  return typeof source === 'string' ? source.slice(0, 100) : undefined;
}

/** Factory: tests inject in-memory dependencies; production builds them from the environment. */
export function createEnforcerHandler(
  build: () => EnforcerDeps | Promise<EnforcerDeps>,
  options: { readonly metricsNamespace?: string } = {},
) {
  let deps: Promise<EnforcerDeps> | undefined;
  return async (event: unknown): Promise<EnforcementReport> => {
    deps ??= Promise.resolve().then(build);
    let d: EnforcerDeps;
    try {
      d = await deps;
    } catch (e) {
      deps = undefined; // a later invocation may succeed (e.g. a transient cold-start failure)
      throw e;
    }
    const dryRun = d.settings.dryRun || eventRequestsDryRun(event);
    const report = await enforceBans(
      {
        ...d,
        logger: d.logger ?? {
          info: (message, extra) => logger.info(message, extra ?? {}),
          warn: (message, extra) => logger.warn(message, extra ?? {}),
        },
      },
      { dryRun },
    );
    const metrics = new Metrics({
      namespace: options.metricsNamespace ?? METRICS.namespace,
      serviceName: METRICS.enforcerService,
    });
    // A run skipped for the lease knows nothing about the bans: publish no ban counts for it.
    if (!report.skipped) {
      // BansNotEnforced per tier: `nacl` = no NACL capacity (expected with many bans when host
      // agents run), `hosts` = admitted bans missing from the last successful publication.
      const tiers: [string, number | undefined][] = [
        [METRICS.naclTier, report.notEnforced],
        [METRICS.hostsTier, report.publication?.notPublished],
      ];
      for (const [tier, value] of tiers) {
        if (value === undefined) continue;
        const single = metrics.singleMetric();
        single.addDimension(METRICS.tierDimension, tier);
        single.addMetric(METRICS.bansNotEnforced, MetricUnit.Count, value);
      }
      metrics.addMetric(METRICS.activeBans, MetricUnit.Count, report.activeBans);
      metrics.addMetric(METRICS.bansRefused, MetricUnit.Count, report.refused);
    }
    metrics.addMetric(METRICS.naclMutations, MetricUnit.Count, report.mutations);
    metrics.addMetric(METRICS.ec2Throttles, MetricUnit.Count, report.throttles);
    metrics.addMetric(METRICS.driftRepairs, MetricUnit.Count, report.driftRepairs);
    if (d.agentHealth) {
      try {
        const agents = await d.agentHealth();
        metrics.addMetric(METRICS.agentsCurrent, MetricUnit.Count, agents.current);
        metrics.addMetric(METRICS.agentsBehind, MetricUnit.Count, agents.behind);
        metrics.addMetric(METRICS.agentsSilent, MetricUnit.Count, agents.silent);
      } catch (e) {
        logger.warn('agent health unavailable', {
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    metrics.publishStoredMetrics();
    logger.info('enforcement run', {
      source: eventSource(event),
      dryRun: report.dryRun,
      activeBans: report.activeBans,
      notEnforced: report.notEnforced,
      pending: report.pending,
      mutations: report.mutations,
      throttles: report.throttles,
      driftRepairs: report.driftRepairs,
      swept: report.swept,
      ...(report.publication ? { publication: report.publication } : {}),
      refused: report.refused,
      ...(report.skipped ? { skipped: report.skipped } : {}),
      ...(report.leaseLost ? { leaseLost: true } : {}),
      nacls: report.nacls.map((n) => ({
        naclId: n.naclId,
        ipv4: n.ipv4,
        ipv6: n.ipv6,
        ...(n.error ? { error: n.error } : {}),
      })),
    });
    const failed = report.nacls.filter((n) => n.error !== undefined);
    if (report.nacls.length > 0 && failed.length === report.nacls.length) {
      throw new EnforcementFailedError(
        `every network ACL failed: ${failed.map((n) => `${n.naclId}: ${n.error}`).join('; ')}`,
      );
    }
    return report;
  };
}

function buildFromEnvironment(): EnforcerDeps {
  const tableName = process.env[ENV.tableName];
  const rawConfig = process.env[ENV.config];
  if (!tableName || !rawConfig) {
    throw new ConfigError(
      [`${ENV.tableName} and ${ENV.config} must be set`],
      'enforcer environment',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(rawConfig);
  } catch {
    throw new ConfigError([`${ENV.config} is not JSON`], 'enforcer configuration');
  }
  const config = loadCloudjailConfig(raw);
  const bucket = process.env[ENV.banListBucket];
  const dynamo = new DynamoDBClient({});
  return {
    store: new DynamoDbBanStore(dynamo, tableName),
    nacls: new Ec2NetworkAcls({ client: createEc2Client() }),
    ...(bucket
      ? {
          publisher: new S3BanListPublisher({ client: new S3Client({}), bucket }),
          publicationMemory: new PublicationMemory(),
        }
      : {}),
    jails: config.jails,
    ignoreip: config.ignoreip,
    state: new DynamoDbEnforcerState(dynamo, tableName),
    targets: config.targets,
    settings: config.enforcement,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    ...agentHealthFromEnvironment(config.agents.staleAfterMs),
  };
}

function agentHealthFromEnvironment(staleAfterMs: number): Pick<EnforcerDeps, 'agentHealth'> {
  const bucket = process.env[ENV.agentHealthBucket];
  if (!bucket) return {};
  const reader = new S3AgentHeartbeats(new S3Client({}), bucket);
  return { agentHealth: () => readAgentHealth(reader, staleAfterMs, Date.now()) };
}

export const handler = createEnforcerHandler(buildFromEnvironment);
