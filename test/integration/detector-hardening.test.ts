/**
 * Issue 12 items 3–6 through the real detector handler, real gzipped payloads and the DynamoDB
 * store on dynalite: exact counters under concurrency, redelivery and partial failure; one bad
 * event or payload never costs the good ones; times from the future are clamped; decompression is
 * bounded. Faults are injected as SDK middleware (the request never reaches dynalite).
 */
import { gzipSync } from 'node:zlib';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { createTableInput } from '../../lambda/adapters/dynamodb-table.js';
import { MAX_INFLATED_BYTES } from '../../lambda/handlers/decode-subscription.js';
import { createDetectorHandler } from '../../lambda/handlers/detector.js';
import { RecordingEnforcementTrigger } from '../../lambda/ports/enforcement-trigger.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import {
  aJail,
  FS_GROUP,
  HOUR,
  MINUTE,
  RecordingLogger,
  RequestCounter,
  runtimeOf,
  SECOND,
  T0,
} from '../helpers/detection.js';
import {
  encodeAwslogsData,
  eventId,
  freeswitchFailure,
  subscriptionEvent,
} from '../helpers/subscription-payload.js';

let db: EmbeddedDynamoDb;
let tables = 0;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb('hardening-seed');
});
afterAll(async () => {
  await db?.stop();
});

async function freshTable(): Promise<string> {
  const name = `hardening-${++tables}`;
  await db.client().send(new CreateTableCommand(createTableInput(name)));
  return name;
}

function capturingMetrics() {
  const metrics = new Metrics({ namespace: 'cloudjail', serviceName: 'detector' });
  const emitted: Record<string, unknown>[] = [];
  metrics.publishStoredMetrics = function publish(this: Metrics) {
    if (this.hasStoredMetrics()) emitted.push(this.serializeMetrics() as Record<string, unknown>);
    this.clearMetrics();
    this.clearDimensions();
    return this;
  };
  return { metrics, emitted };
}

/** Fails every `command` whose input mentions each of `needles` while `armed` (a store error). */
function injectFault(client: DynamoDBClient, command: string, needles: readonly string[]) {
  const fault = { armed: true, hits: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = JSON.stringify(args.input);
      if (
        fault.armed &&
        context.commandName === command &&
        needles.every((n) => input.includes(n))
      ) {
        fault.hits++;
        throw Object.assign(new Error('injected: InternalServerError'), {
          name: 'InternalServerError',
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectFault' },
  );
  return fault;
}

/** One "container": its own DynamoDB client, store, trigger and handler. */
function container(tableName: string) {
  const client = db.client();
  const requests = new RequestCounter(client);
  const store = new DynamoDbBanStore(client, tableName);
  const trigger = new RecordingEnforcementTrigger();
  const logger = new RecordingLogger();
  const { metrics, emitted } = capturingMetrics();
  const clock = { now: T0 };
  const handler = createDetectorHandler(() => ({
    store,
    trigger,
    jails: [runtimeOf(aJail())],
    ignoreip: [],
    now: () => clock.now,
    logger,
    metrics,
  }));
  return { client, requests, store, trigger, logger, emitted, clock, handler };
}

function attack(opts: { address: string; count: number; from: number; firstId: number }) {
  return Array.from({ length: opts.count }, (_, i) => {
    const t = opts.from + i * SECOND;
    return {
      id: eventId(opts.firstId + i),
      timestamp: t,
      message: freeswitchFailure(t, opts.address),
    };
  });
}

const payload = (events: readonly unknown[]) =>
  subscriptionEvent({ logGroup: FS_GROUP, logStream: 'i-0abc', events });

describe('exact counters (issue 12.3)', () => {
  it('the same 12-failure batch delivered to 4 containers at once: one ban, totalFailed 12', async () => {
    const table = await freshTable();
    const containers = Array.from({ length: 4 }, () => container(table));
    const batch = payload(
      attack({ address: '203.0.113.7', count: 12, from: T0 - MINUTE, firstId: 0 }),
    );
    const results = await Promise.all(containers.map((c) => c.handler(batch)));
    expect(results.flatMap((r) => r.report?.bans ?? [])).toHaveLength(1);
    expect(results.reduce((n, r) => n + (r.report?.newFailures ?? 0), 0)).toBe(12);
    expect(await containers[0]!.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 12, totalBanned: 1 },
    ]);
  });

  it('a first batch redelivered after a re-ban counts nothing: totalFailed stays 10', async () => {
    const c = container(await freshTable());
    const first = payload(
      attack({ address: '203.0.113.8', count: 5, from: T0 - 2 * MINUTE, firstId: 0 }),
    );
    await c.handler(first);
    c.clock.now = T0 + 2 * HOUR; // the 1 h ban has ended
    await c.handler(
      payload(
        attack({ address: '203.0.113.8', count: 5, from: c.clock.now - MINUTE, firstId: 10 }),
      ),
    );
    expect(await c.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 10, totalBanned: 2 },
    ]);
    const again = await c.handler(first);
    expect(again.report).toMatchObject({ newFailures: 0, bans: [] });
    expect(await c.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 10, totalBanned: 2 },
    ]);
    expect((await c.store.bansOf('203.0.113.8/32'))[0]).toMatchObject({ banCount: 2 });
  });

  it('an event id repeated inside one batch counts once, in the stats as in the window', async () => {
    const c = container(await freshTable());
    const events = attack({ address: '203.0.113.9', count: 3, from: T0 - MINUTE, firstId: 0 });
    const result = await c.handler(payload([...events, ...events, events[0]]));
    expect(result.report).toMatchObject({ failures: 3, newFailures: 3, skippedEvents: 4 });
    expect(await c.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 3, totalBanned: 0 },
    ]);
    expect(
      c.logger.entries.filter(
        (e) =>
          e.message === 'skipping malformed log event' &&
          e.extra.problem === 'duplicate event id in the batch',
      ),
    ).toHaveLength(4);
  });

  it('a store error mid-batch: counters hold what was written (21 / 3), the enforcer is triggered, the retry completes exactly', async () => {
    const c = container(await freshTable());
    const banned = ['203.0.113.21', '203.0.113.22', '203.0.113.23'];
    const events = [
      ...banned.flatMap((address, i) =>
        attack({ address, count: 7, from: T0 - 5 * MINUTE + i * 10 * SECOND, firstId: i * 10 }),
      ),
      ...attack({ address: '198.51.100.99', count: 2, from: T0 - MINUTE, firstId: 90 }),
    ];
    const batch = payload(events);
    // The window write of 198.51.100.99 fails (throttled, a 500: whatever it is, it is an error).
    const fault = injectFault(c.client, 'UpdateItemCommand', ['FAIL#freeswitch', '198.51.100.99']);
    await expect(c.handler(batch)).rejects.toThrow(/injected/);
    expect(fault.hits).toBeGreaterThan(0);
    expect(await c.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 21, totalBanned: 3 },
    ]);
    expect((await c.store.listBans()).map((b) => b.cidr).sort()).toEqual(
      banned.map((a) => `${a}/32`),
    );
    expect(c.trigger.reasons).toEqual([`3 new ban(s) from ${FS_GROUP}`]);
    expect(c.logger.messages('error')).toContain('batch failed; it will be retried');
    // What was recorded is published too (the dashboard's bans created).
    expect(c.emitted).toEqual([expect.objectContaining({ BansCreated: 3, FailuresNew: 21 })]);

    // Lambda retries the batch: only what was not recorded counts.
    fault.armed = false;
    const retry = await c.handler(batch);
    expect(retry.report).toMatchObject({ newFailures: 2, bans: [] });
    expect(await c.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 23, totalBanned: 3 },
    ]);
    expect(c.trigger.reasons).toHaveLength(1);
  });
});

describe('one bad event or payload never costs the good ones (issue 12.4)', () => {
  it('an event timestamp of 1e300 is skipped with a warning; the rest of the batch bans', async () => {
    const c = container(await freshTable());
    const good = attack({ address: '203.0.113.30', count: 5, from: T0 - MINUTE, firstId: 0 });
    const bad = {
      id: eventId(99),
      timestamp: 1e300,
      message: freeswitchFailure(T0, '203.0.113.31'),
    };
    const result = await c.handler(payload([bad, ...good]));
    expect(result.status).toBe('ingested');
    expect(result.report).toMatchObject({ skippedEvents: 1, failures: 5 });
    expect(result.report?.bans.map((b) => b.cidr)).toEqual(['203.0.113.30/32']);
    const warn = c.logger.entries.find((e) => e.message === 'skipping malformed log event');
    expect(warn?.extra).toMatchObject({ eventId: eventId(99), problem: 'timestamp out of range' });
    expect(c.emitted[0]).toMatchObject({ EventsSkipped: 1, BansCreated: 1 });
  });

  it('a payload that is JSON null is malformed (logged, metric), not a TypeError', async () => {
    const c = container(await freshTable());
    const result = await c.handler({ awslogs: { data: encodeAwslogsData(null) } });
    expect(result).toEqual({ status: 'malformed' });
    const entry = c.logger.entries.find(
      (e) => e.message === 'malformed subscription payload skipped',
    );
    expect(String(entry?.extra.error)).toContain('payload is null');
    expect(c.emitted).toEqual([expect.objectContaining({ PayloadsMalformed: 1 })]);
    expect(c.requests.total).toBe(0);
  });

  it('a CONTROL_MESSAGE carrying log events is reported, not skipped silently', async () => {
    const c = container(await freshTable());
    const data = encodeAwslogsData({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: FS_GROUP,
      logStream: 'i-0abc',
      subscriptionFilters: [],
      logEvents: attack({ address: '203.0.113.40', count: 5, from: T0 - MINUTE, firstId: 0 }),
    });
    expect(await c.handler({ awslogs: { data } })).toEqual({ status: 'control-message' });
    const warn = c.logger.entries.find(
      (e) => e.message === 'CONTROL_MESSAGE carries log events; not ingested',
    );
    expect(warn?.level).toBe('warn');
    expect(warn?.extra).toMatchObject({ events: 5, unexpectedEvents: 5 });
    expect(c.emitted).toEqual([
      expect.objectContaining({ ControlMessages: 1, ControlMessageEventsIgnored: 5 }),
    ]);
    expect(c.requests.total).toBe(0);
  });

  it('a batch from a log group no jail reads is reported, not ingested as zero failures', async () => {
    const c = container(await freshTable());
    const result = await c.handler(
      subscriptionEvent({
        logGroup: '/sbc/unknown',
        events: attack({ address: '203.0.113.50', count: 5, from: T0 - MINUTE, firstId: 0 }),
      }),
    );
    expect(result).toEqual({ status: 'unrouted' });
    const warn = c.logger.entries.find(
      (e) => e.message === 'no jail reads this log group; batch not counted',
    );
    expect(warn?.extra).toMatchObject({ logGroup: '/sbc/unknown', events: 5 });
    expect(c.emitted).toEqual([
      expect.objectContaining({ logGroup: '/sbc/unknown', BatchesUnrouted: 1 }),
    ]);
  });
});

describe('time from the future (issue 12.5)', () => {
  it('a failure dated 10 years ahead counts at arrival time and does not block real re-bans', async () => {
    const c = container(await freshTable());
    const future = T0 + 10 * 365 * 24 * HOUR;
    const first = await c.handler(
      payload(attack({ address: '203.0.113.60', count: 5, from: future, firstId: 0 })),
    );
    const [ban] = first.report?.bans ?? [];
    expect(ban?.lastFailureAt).toBe(T0);
    expect(first.report?.clampedFailures).toBe(5);
    expect(c.logger.messages('warn')).toContain(
      'failures dated in the future counted at arrival time',
    );
    expect(c.emitted[0]).toMatchObject({ FailuresClamped: 5 });

    // The ban ends; the same attacker fails 5 more times: a second ban, as for any re-offender.
    c.clock.now = T0 + 2 * HOUR;
    const again = await c.handler(
      payload(
        attack({ address: '203.0.113.60', count: 5, from: c.clock.now - MINUTE, firstId: 10 }),
      ),
    );
    expect(again.report?.bans).toEqual([expect.objectContaining({ banCount: 2 })]);
  });
});

describe('decompression is bounded (issue 12.6)', () => {
  it('a payload inflating beyond 16 MB is malformed: logged, counted, never retried, no store request', async () => {
    expect(MAX_INFLATED_BYTES).toBe(16 * 1024 * 1024);
    const c = container(await freshTable());
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20));
    const data = bomb.toString('base64');
    expect(data.length).toBeLessThan(100_000);
    expect(await c.handler({ awslogs: { data } })).toEqual({ status: 'malformed' });
    const entry = c.logger.entries.find(
      (e) => e.message === 'malformed subscription payload skipped',
    );
    expect(String(entry?.extra.error)).toMatch(/inflates beyond 16777216 bytes/);
    expect(c.emitted).toEqual([expect.objectContaining({ PayloadsMalformed: 1 })]);
    expect(c.requests.total).toBe(0);
  });
});
