/**
 * Backfill and live delivery of the same events, on the embedded mode with its local CloudWatch
 * Logs endpoint: the sample logs shipped through PutLogEvents and the stack's subscription
 * filters (live), read again with FilterLogEvents by the backfill use case, in both orders.
 * Counting is idempotent by CloudWatch event id: counters and bans equal a single delivery.
 */
import {
  DeleteSubscriptionFilterCommand,
  PutSubscriptionFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, SAMPLE_LOGS } from '../../cli/config-file.js';
import { CloudWatchLogEvents } from '../../lambda/adapters/cloudwatch-log-events.js';
import { backfillLogGroups } from '../../lambda/use-cases/backfill-log-groups.js';
import { statusOverview } from '../../lambda/use-cases/jail-status.js';
import { subscriptionPlan } from '../../lib/filter-patterns.js';
import { startEmbedded } from '../../local/embedded.js';
import { startEmbeddedLogs } from '../../local/embedded-logs.js';
import { replayLogs } from '../../local/replay-log.js';

type Mode = 'live' | 'live+backfill' | 'backfill+live' | 'backfill' | 'pattern drops all';

const DAY = 24 * 3_600_000;

async function run(mode: Mode) {
  const { config } = loadConfigFile();
  const pipeline = await startEmbedded({ config });
  const embeddedLogs = await startEmbeddedLogs(pipeline);
  try {
    const client = embeddedLogs.logs.client();
    const plan = subscriptionPlan(config.jails);
    const sources = Object.entries(SAMPLE_LOGS).map(([name, path]) => ({
      path,
      logGroup: config.jails.find((j) => j.name === name)?.logGroups[0] as string,
    }));
    const backfill = () =>
      backfillLogGroups(
        {
          source: new CloudWatchLogEvents(client),
          ingest: (batch) => pipeline.ingest(batch),
          jails: config.jails,
          now: () => pipeline.clock.now(),
        },
        { since: DAY, batchEvents: 7 },
      );
    if (mode === 'backfill' || mode === 'backfill+live') {
      // Shipped but not delivered (no subscription yet): only backfill sees the events.
      for (const s of plan) {
        await client.send(
          new DeleteSubscriptionFilterCommand({
            logGroupName: s.logGroup,
            filterName: s.filterName,
          }),
        );
      }
    }
    if (mode === 'pattern drops all') {
      for (const s of plan) {
        await client.send(
          new PutSubscriptionFilterCommand({
            logGroupName: s.logGroup,
            filterName: s.filterName,
            filterPattern: '%no such words%',
            destinationArn: embeddedLogs.detectorArn,
          }),
        );
      }
    }
    const replay = await replayLogs(pipeline, sources, { deliver: (b) => embeddedLogs.ship(b) });
    let backfilled: Awaited<ReturnType<typeof backfill>> | undefined;
    if (mode === 'live+backfill' || mode === 'backfill' || mode === 'backfill+live') {
      backfilled = await backfill();
    }
    const stored = sources.map((src) => ({
      ...src,
      events: embeddedLogs.logs.events(src.logGroup, src.path),
    }));
    if (mode === 'backfill+live') {
      // The same events delivered live afterwards: a redelivery of every stored event.
      for (const src of stored) {
        const events = src.events.map(({ id, timestamp, message }) => ({ id, timestamp, message }));
        await pipeline.ingest({ logGroup: src.logGroup, logStream: src.path, events });
      }
    }
    const status = await statusOverview({
      store: pipeline.store,
      failures: pipeline.failures,
      jails: config.jails,
      now: () => pipeline.clock.now(),
    });
    const bans = [...replay.bans, ...(backfilled?.bans ?? [])].map((b) => `${b.jail} ${b.cidr}`);
    return {
      totals: status.jails.map((j) => [j.jail, j.totalFailed, j.totalBanned]),
      activeBans: status.activeBans,
      bans: bans.sort(),
      backfilled,
      stored: stored.reduce((n, src) => n + src.events.length, 0),
    };
  } finally {
    await embeddedLogs.stop();
    await pipeline.stop();
  }
}

describe('backfill + live delivery of the same events', () => {
  it('counts nothing twice: counters and bans equal a single delivery, in either order', async () => {
    const live = await run('live');
    expect(live.activeBans).toBe(9);
    expect(live.bans).toHaveLength(9);
    const liveThenBackfill = await run('live+backfill');
    expect(liveThenBackfill.totals).toEqual(live.totals);
    expect(liveThenBackfill.activeBans).toBe(live.activeBans);
    expect(liveThenBackfill.bans).toEqual(live.bans);
    // The backfill read every event again, found the failures, and counted none of them anew.
    const groups = liveThenBackfill.backfilled?.groups ?? [];
    expect(liveThenBackfill.stored).toBe(86);
    expect(groups.reduce((n, g) => n + g.events, 0)).toBe(86);
    expect(groups.reduce((n, g) => n + g.failures, 0)).toBeGreaterThan(0);
    expect(groups.reduce((n, g) => n + g.newFailures, 0)).toBe(0);

    const backfillThenLive = await run('backfill+live');
    expect(backfillThenLive.totals).toEqual(live.totals);
    expect(backfillThenLive.activeBans).toBe(live.activeBans);
    expect(backfillThenLive.bans).toEqual(live.bans);
  }, 120_000);

  it('backfill alone finds the attack already in the log; a pattern dropping failures bans nobody', async () => {
    const live = await run('live');
    const only = await run('backfill');
    expect(only.bans).toEqual(live.bans);
    expect(only.totals).toEqual(live.totals);
    const dropped = await run('pattern drops all');
    expect(dropped.activeBans).toBe(0);
    expect(dropped.totals.every(([, failed]) => failed === 0)).toBe(true);
  }, 120_000);
});
