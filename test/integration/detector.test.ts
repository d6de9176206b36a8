/**
 * The detector handler end to end: real gzipped base64 subscription payloads, the real built-in
 * filters, DynamoDbBanStore on dynalite through the real @aws-sdk/client-dynamodb, a recording
 * enforcement trigger. Every DynamoDB request is counted by an SDK middleware.
 */
import { readFileSync } from 'node:fs';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { createTableInput, ITEM, TABLE_KEYS } from '../../lambda/adapters/dynamodb-table.js';
import { BUILTIN_FILTER_DIR } from '../../lambda/adapters/filter-files.js';
import type { JailConfig } from '../../lambda/config/jail-config.js';
import { ConfigError } from '../../lambda/core/errors.js';
import { createDetectorHandler, jailsFromConfig } from '../../lambda/handlers/detector.js';
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
import { zurichWallClock } from '../helpers/sample-harness.js';
import {
  controlMessageEvent,
  eventId,
  freeswitchFailure,
  freeswitchNoise,
  subscriptionEvent,
} from '../helpers/subscription-payload.js';

let db: EmbeddedDynamoDb;
let admin: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb('detector-seed');
  admin = db.client();
});
afterAll(async () => {
  await db?.stop();
});

async function freshTable(): Promise<string> {
  const name = `detector-${++tables}`;
  await admin.send(new CreateTableCommand(createTableInput(name)));
  return name;
}

/** Metrics that keep what they would print (EMF objects) instead of writing to stdout. */
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

/** One "container": its own DynamoDB client (counted), store, trigger and handler. */
function container(
  tableName: string,
  jails: readonly JailConfig[] = [aJail()],
  ignoreip: string[] = [],
) {
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
    jails: jails.map(runtimeOf),
    ignoreip,
    now: () => clock.now,
    logger,
    metrics,
  }));
  return { client, requests, store, trigger, logger, emitted, clock, handler };
}

const ATTACKER = '203.0.113.7';

function attackPayload(opts: {
  from?: number;
  count?: number;
  gap?: number;
  address?: string;
  firstId?: number;
  stream?: number;
}) {
  const {
    from = T0 - 2 * MINUTE,
    count = 5,
    gap = SECOND,
    address = ATTACKER,
    firstId = 0,
    stream = 0,
  } = opts;
  const events = Array.from({ length: count }, (_, i) => {
    const t = from + i * gap;
    return {
      id: eventId(firstId + i, stream),
      timestamp: t,
      message: freeswitchFailure(t, address),
    };
  });
  return subscriptionEvent({ logGroup: FS_GROUP, logStream: `i-${stream}`, events });
}

async function windowItem(tableName: string, address: string) {
  const out = await admin.send(
    new GetItemCommand({
      TableName: tableName,
      Key: {
        [TABLE_KEYS.partitionKey]: { S: `${ITEM.failurePrefix}freeswitch` },
        [TABLE_KEYS.sortKey]: { S: address },
      },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

describe('detector handler on dynalite', () => {
  it('decodes a gzipped payload, bans, writes the ban record and triggers the enforcer', async () => {
    const table = await freshTable();
    const c = container(table);
    const noise = Array.from({ length: 20 }, (_, i) => ({
      id: eventId(100 + i),
      timestamp: T0 - MINUTE,
      message: freeswitchNoise(T0 - MINUTE, i),
    }));
    const attack = Array.from({ length: 5 }, (_, i) => ({
      id: eventId(i),
      timestamp: T0 - MINUTE + i * SECOND,
      message: freeswitchFailure(T0 - MINUTE + i * SECOND, ATTACKER),
    }));
    const result = await c.handler(
      subscriptionEvent({ logGroup: FS_GROUP, logStream: 'i-0abc', events: [...noise, ...attack] }),
    );
    expect(result.status).toBe('ingested');
    expect(result.report).toMatchObject({ events: 25, failures: 5, pairs: 1 });
    // The batch banned on its own: allowlist and jail-override Queries (each cached a minute per
    // container), BatchGetItem, one conditional PutItem, and the jail's counters (UpdateItem).
    expect([...c.requests.byCommand].sort()).toEqual([
      ['BatchGetItemCommand', 1],
      ['PutItemCommand', 1],
      ['QueryCommand', 2],
      ['UpdateItemCommand', 1],
    ]);
    const bans = await c.store.listBans();
    expect(bans).toHaveLength(1);
    expect(bans[0]).toMatchObject({
      jail: 'freeswitch',
      cidr: '203.0.113.7/32',
      createdAt: T0,
      expiresAt: T0 + HOUR,
      failures: 5,
      banCount: 1,
      reason: '5 failures in 10m',
      logGroup: FS_GROUP,
      logStream: 'i-0abc',
    });
    expect(bans[0]?.matches?.length).toBeGreaterThan(0);
    expect(c.trigger.reasons).toEqual([`1 new ban(s) from ${FS_GROUP}`]);
    // The ban keeps the ids of the failures it consumed; no failure window was written.
    expect(bans[0]?.consumedFailureIds).toHaveLength(5);
    expect(await windowItem(table, ATTACKER)).toBeUndefined();
  });

  it('leaves counts unchanged when the same payload is delivered twice', async () => {
    const table = await freshTable();
    const c = container(table);
    const payload = attackPayload({ count: 3 });
    await c.handler(payload);
    const before = await windowItem(table, ATTACKER);
    const statsBefore = await c.store.listStats();
    c.requests.reset();
    // TTL attributes are epoch seconds: the window item outlives its last failure by findtime + 1h.
    expect(Number(before?.ttl?.N)).toBe(Math.ceil((T0 + 10 * MINUTE + HOUR) / 1000));
    expect(before?.ev?.SS).toHaveLength(3);
    const again = await c.handler(payload);
    // The ban state read and one window write; the runtime allowlist is cached per container; no
    // stats write.
    expect([...c.requests.byCommand].sort()).toEqual([
      ['BatchGetItemCommand', 1],
      ['UpdateItemCommand', 1],
    ]);
    expect(again.report).toMatchObject({ failures: 3, newFailures: 0, bans: [] });
    expect((await windowItem(table, ATTACKER))?.ev?.SS?.sort()).toEqual(before?.ev?.SS?.sort());
    expect(await c.store.listStats()).toEqual(statsBefore);
    expect(statsBefore).toEqual([{ jail: 'freeswitch', totalFailed: 3, totalBanned: 0 }]);

    // A banning payload delivered twice: one ban, one trigger.
    const banning = attackPayload({ count: 5, address: '198.51.100.9', firstId: 50 });
    await c.handler(banning);
    c.requests.reset();
    const redelivered = await c.handler(banning);
    expect(redelivered.report).toMatchObject({ bans: [], alreadyBanned: 5, newFailures: 0 });
    // The ban recognises the failures it consumed: only the ban state is read.
    expect([...c.requests.byCommand]).toEqual([['BatchGetItemCommand', 1]]);
    expect(await c.store.bansOf('198.51.100.9/32')).toHaveLength(1);
    expect(c.trigger.reasons).toHaveLength(1);
  });

  it('8 concurrent invocations (separate containers) for one attacker create exactly one ban', async () => {
    const table = await freshTable();
    const containers = Array.from({ length: 8 }, () => container(table));
    // Each invocation carries its own 5 failures of the attacker: each alone would ban.
    const results = await Promise.all(
      containers.map((c, i) =>
        c.handler(attackPayload({ stream: i, firstId: i * 10, from: T0 - MINUTE + i * 100 })),
      ),
    );
    const created = results.flatMap((r) => r.report?.bans ?? []);
    expect(created).toHaveLength(1);
    expect(await containers[0]!.store.bansOf('203.0.113.7/32')).toHaveLength(1);
    expect(containers.reduce((n, c) => n + c.trigger.reasons.length, 0)).toBe(1);
    // No failure lost: each of the 40 was new to exactly one invocation.
    expect(results.reduce((n, r) => n + (r.report?.newFailures ?? 0), 0)).toBe(40);
    expect(await containers[0]!.store.listStats()).toEqual([
      { jail: 'freeswitch', totalFailed: 40, totalBanned: 1 },
    ]);
  });

  it('8 concurrent invocations with one failure each reach maxretry together: exactly one ban', async () => {
    const table = await freshTable();
    const containers = Array.from({ length: 8 }, () => container(table));
    const results = await Promise.all(
      containers.map((c, i) =>
        c.handler(
          attackPayload({ count: 1, stream: i, firstId: i, from: T0 - MINUTE + i * SECOND }),
        ),
      ),
    );
    expect(results.flatMap((r) => r.report?.bans ?? [])).toHaveLength(1);
    expect(await containers[0]!.store.listBans()).toHaveLength(1);
    const stats = await containers[0]!.store.listStats();
    expect(stats).toEqual([{ jail: 'freeswitch', totalFailed: 8, totalBanned: 1 }]);
  });

  it('a 10,000-event batch with 100 attackers makes ~one DynamoDB request per attacker', async () => {
    const table = await freshTable();
    const c = container(table);
    const attackers = Array.from(
      { length: 100 },
      (_, i) => `198.51.${100 + Math.floor(i / 50)}.${(i % 50) + 1}`,
    );
    const events = Array.from({ length: 10_000 }, (_, i) => {
      const t = T0 - 5 * MINUTE + i * 20;
      const message =
        i % 2 ? freeswitchNoise(t, i) : freeswitchFailure(t, attackers[(i / 2) % 100] as string);
      return { id: eventId(i, 3), timestamp: t, message };
    });
    const payload = subscriptionEvent({ logGroup: FS_GROUP, logStream: 'busy', events });
    const first = await c.handler(payload);
    expect(first.report).toMatchObject({ events: 10_000, failures: 5000, pairs: 100 });
    const bans = first.report?.bans.length ?? 0;
    expect(bans).toBe(100);
    // Counted on the wire: 2 Queries (allowlist, jail overrides; cached a minute per container) +
    // 1 BatchGetItem (ban state) + 100 conditional PutItem (each attacker's batch bans on its own)
    // + 1 UpdateItem (stats).
    expect(c.requests.count('QueryCommand')).toBe(2);
    expect(c.requests.count('BatchGetItemCommand')).toBe(1);
    expect(c.requests.count('PutItemCommand')).toBe(bans);
    expect(c.requests.total).toBeLessThanOrEqual(100 + 4);

    // Delivered again: every failure was consumed by a ban; only the ban state is read.
    c.requests.reset();
    const again = await c.handler(payload);
    expect(again.report?.bans).toEqual([]);
    expect(again.report?.newFailures).toBe(0);
    expect(c.requests.total).toBeLessThanOrEqual(3);
  });

  it('skips a malformed payload with context, without touching the table', async () => {
    const table = await freshTable();
    const c = container(table);
    const result = await c.handler({ awslogs: { data: 'bm90IGd6aXA=' } });
    expect(result).toEqual({ status: 'malformed' });
    expect(c.requests.total).toBe(0);
    const entry = c.logger.entries.find(
      (e) => e.message === 'malformed subscription payload skipped',
    );
    expect(entry?.level).toBe('error');
    expect(entry?.extra).toMatchObject({ dataLength: 12 });
    expect(String(entry?.extra.error)).toContain('not base64 gzip JSON');
    expect(await c.handler({ hello: 'world' })).toEqual({ status: 'malformed' });
  });

  it('ignores CONTROL_MESSAGE', async () => {
    const c = container(await freshTable());
    expect(await c.handler(controlMessageEvent())).toEqual({ status: 'control-message' });
    expect(c.requests.total).toBe(0);
  });

  it('skips malformed events and still counts the rest of the batch', async () => {
    const c = container(await freshTable());
    const good = Array.from({ length: 5 }, (_, i) => ({
      id: eventId(i),
      timestamp: T0 - MINUTE + i,
      message: freeswitchFailure(T0 - MINUTE + i, ATTACKER),
    }));
    const payload = subscriptionEvent({
      logGroup: FS_GROUP,
      events: [{ id: 'x' }, 'junk', { id: 'y', timestamp: T0, message: 42 }, ...good],
    });
    const result = await c.handler(payload);
    expect(result.report).toMatchObject({ skippedEvents: 3, failures: 5 });
    expect(result.report?.bans).toHaveLength(1);
    expect(
      c.logger.entries.filter((e) => e.message === 'skipping malformed log event'),
    ).toHaveLength(3);
  });

  it('drops addresses on the static and the runtime allowlist', async () => {
    const table = await freshTable();
    const c = container(table, [aJail()], ['192.0.2.0/24']);
    await c.store.addIgnore({ cidr: '198.51.100.0/24', jail: 'freeswitch' });
    const r1 = await c.handler(attackPayload({ count: 10, address: '192.0.2.50' }));
    const r2 = await c.handler(attackPayload({ count: 10, address: '198.51.100.50', firstId: 20 }));
    expect(r1.report).toMatchObject({ allowlisted: 10, bans: [] });
    expect(r2.report).toMatchObject({ allowlisted: 10, bans: [] });
    expect(await c.store.listBans()).toEqual([]);
    expect(await windowItem(table, '192.0.2.50')).toBeUndefined();
  });

  it('publishes EMF metrics and logs counts, never whole payloads at info level', async () => {
    const c = container(await freshTable(), [aJail()], ['192.0.2.0/24']);
    await c.handler(attackPayload({ count: 5 }));
    await c.handler(attackPayload({ count: 2, address: '192.0.2.1', firstId: 30 }));
    expect(c.emitted).toHaveLength(2);
    const [first, second] = c.emitted as Record<string, unknown>[];
    expect(first).toMatchObject({
      logGroup: FS_GROUP,
      FailuresMatched: 5,
      FailuresAllowlisted: 0,
      BansCreated: 1,
    });
    expect(second).toMatchObject({ FailuresMatched: 2, FailuresAllowlisted: 2, BansCreated: 0 });
    const aws = (
      first as { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] } }
    )._aws;
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('cloudjail');
    expect(aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining(['FailuresMatched', 'FailuresAllowlisted', 'BansCreated']),
    );
    const info = c.logger.entries.filter((e) => e.level === 'info');
    expect(info.map((e) => e.message)).toEqual(['ban created', 'batch ingested', 'batch ingested']);
    expect(info[0]?.extra).toMatchObject({ jail: 'freeswitch', address: ATTACKER, failures: 5 });
    expect(JSON.stringify(info)).not.toContain('sofia_reg');
  });

  it('fails the invocation on a store outage so Lambda retries it', async () => {
    const dead = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9', // discard port: connection refused
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const logger = new RecordingLogger();
    const handler = createDetectorHandler(() => ({
      store: new DynamoDbBanStore(dead, 'cloudjail'),
      trigger: new RecordingEnforcementTrigger(),
      jails: [runtimeOf(aJail())],
      ignoreip: [],
      now: () => T0,
      logger,
      metrics: capturingMetrics().metrics,
    }));
    await expect(handler(attackPayload({}))).rejects.toThrow();
    expect(logger.messages('error')).toContain('batch failed; it will be retried');
    dead.destroy();
  });
});

describe('detector handler on the annotated sample logs', () => {
  /** Every log line of a fixture as an event, and the hosts its `failJSON` lines expect. */
  function fixture(name: string) {
    const text = readFileSync(new URL(`../fixtures/logs/${name}`, import.meta.url), 'utf8');
    const expected = new Set<string>();
    const events: { id: string; timestamp: number; message: string }[] = [];
    let time = T0;
    for (const line of text.split('\n')) {
      const json = /^#+ ?failJSON:(.+)$/.exec(line);
      if (json) {
        const spec = JSON.parse(json[1] as string) as {
          time?: string;
          match?: boolean;
          host?: string;
        };
        if (spec.time) time = zurichWallClock(spec.time.replace(/\.\d+$/, ''));
        if (spec.match && spec.host) expected.add(spec.host);
        continue;
      }
      if (line.startsWith('#') || line.trim() === '') continue;
      events.push({ id: eventId(events.length, 9), timestamp: time, message: line });
    }
    return { events, expected };
  }

  it.each([
    ['freeswitch', 'freeswitch[mode=extra]'],
    ['freeswitch-cloudjail', 'freeswitch'],
    ['asterisk', 'asterisk'],
    ['asterisk-cloudjail', 'asterisk'],
  ])('%s: every ban is an address the server wrote as the failing one', async (file, filter) => {
    const group = `/sbc/${file}`;
    const jail = aJail({
      name: 'sample',
      filter,
      logGroups: [group],
      maxretry: 1,
      timezone: 'Europe/Zurich',
    });
    const c = container(await freshTable(), [jail]);
    const { events, expected } = fixture(file);
    const result = await c.handler(subscriptionEvent({ logGroup: group, events }));
    const banned = (result.report?.bans ?? []).map((b) => b.cidr.replace(/\/(32|128)$/, ''));
    expect(banned.length).toBeGreaterThan(3);
    // Exactly the addresses the annotations expect: attackers write addresses into user parts,
    // Call-IDs and display names, and none of those gets banned.
    expect(new Set(banned)).toEqual(expected);
  });
});

describe('jailsFromConfig', () => {
  it('builds jails with their filters from the JSON configuration', () => {
    const { jails, ignoreip } = jailsFromConfig(
      JSON.stringify({
        jails: [{ name: 'freeswitch', logGroups: [FS_GROUP] }],
        ignoreip: ['10.0.0.0/8'],
      }),
      BUILTIN_FILTER_DIR,
    );
    expect(jails.map((j) => j.config.name)).toEqual(['freeswitch']);
    expect(ignoreip).toEqual(['10.0.0.0/8']);
    const outcome = jails[0]
      ?.createMatcher()
      .matchEvent(freeswitchFailure(T0, ATTACKER), { now: T0 });
    expect(outcome?.[0]?.failures[0]?.host).toBe(ATTACKER);
  });

  it('reports every problem at cold start', () => {
    expect(() => jailsFromConfig('not json', BUILTIN_FILTER_DIR)).toThrow(ConfigError);
    try {
      jailsFromConfig(
        JSON.stringify({ jails: [{ name: 'X', maxretry: 0 }], ignoreip: ['nope'] }),
        BUILTIN_FILTER_DIR,
      );
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).problems.length).toBeGreaterThanOrEqual(3);
    }
  });
});
