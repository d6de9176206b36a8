/**
 * Edge cases of the DynamoDB store that dynalite never produces (throttled batch reads, errors that
 * are not condition failures), with aws-sdk-client-mock. The behaviour on a real engine is in the
 * contract suite (test/contract/ban-store.test.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  banFromItem,
  banToItem,
  DynamoDbBanStore,
} from '../../../lambda/adapters/dynamodb-ban-store.js';
import type { Ban } from '../../../lambda/core/ban.js';

const doc = mockClient(DynamoDBDocumentClient);
afterEach(() => doc.reset());

const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);
const ban: Ban = {
  jail: 'freeswitch',
  cidr: '203.0.113.7/32',
  createdAt: T0,
  expiresAt: T0 + 3_600_000,
  source: 'detector',
  failures: 5,
  banCount: 1,
};

function store() {
  const sleeps: number[] = [];
  const s = new DynamoDbBanStore(new DynamoDBClient({ region: 'us-east-1' }), 't', {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { s, sleeps };
}

describe('DynamoDbBanStore edge cases', () => {
  it('retries unprocessed BatchGetItem keys with backoff', async () => {
    const item = banToItem(ban);
    const other = banToItem({ ...ban, cidr: '203.0.113.8/32' });
    doc
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { t: [item] },
        UnprocessedKeys: { t: { Keys: [{ pk: 'BAN', sk: '203.0.113.8/32#freeswitch' }] } },
      })
      .resolvesOnce({ Responses: { t: [other] } });
    const { s, sleeps } = store();
    const got = await s.getBans([
      { jail: 'freeswitch', cidr: '203.0.113.7/32' },
      { jail: 'freeswitch', cidr: '203.0.113.8/32' },
    ]);
    expect(got.map((b) => b.cidr)).toEqual(['203.0.113.7/32', '203.0.113.8/32']);
    expect(sleeps).toEqual([25]);
    const second = doc.commandCalls(BatchGetCommand)[1]?.args[0].input;
    expect(second?.RequestItems?.t?.Keys).toEqual([{ pk: 'BAN', sk: '203.0.113.8/32#freeswitch' }]);
    expect(second?.RequestItems?.t?.ConsistentRead).toBe(true);
  });

  it('fails (so the batch is retried) when keys stay unprocessed', async () => {
    doc.on(BatchGetCommand).resolves({
      Responses: { t: [] },
      UnprocessedKeys: { t: { Keys: [{ pk: 'BAN', sk: '203.0.113.7/32#freeswitch' }] } },
    });
    const { s, sleeps } = store();
    await expect(s.getBans([{ jail: 'freeswitch', cidr: '203.0.113.7/32' }])).rejects.toThrow(
      '1 ban key(s) unprocessed after 8 BatchGetItem rounds',
    );
    expect(sleeps).toEqual([25, 50, 100, 200, 400, 800, 1600]);
  });

  it('reads at most 100 distinct keys per BatchGetItem', async () => {
    doc.on(BatchGetCommand).resolves({ Responses: { t: [] } });
    const keys = Array.from({ length: 250 }, (_, i) => ({
      jail: 'freeswitch',
      cidr: `198.51.100.${i % 230}/32`,
    }));
    await store().s.getBans(keys);
    const sizes = doc
      .commandCalls(BatchGetCommand)
      .map((c) => c.args[0].input.RequestItems?.t?.Keys?.length);
    expect(sizes).toEqual([100, 100, 30]);
  });

  it('passes errors other than a failed condition through (a store outage fails the batch)', async () => {
    doc.on(PutCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    await expect(store().s.putBan(ban, T0, undefined)).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
  });

  it('writes a window as one idempotent set ADD with a TTL in epoch seconds', async () => {
    doc.on(UpdateCommand).resolves({ Attributes: { ev: new Set(['1|old:0']) } });
    const out = await store().s.recordFailures(
      'freeswitch',
      '203.0.113.7',
      [
        { id: 'new:0', time: T0 },
        { id: 'old:0', time: 1 },
      ],
      T0 + 1500,
    );
    expect(out.added).toBe(1);
    expect(out.failures).toEqual([
      { id: 'old:0', time: 1 },
      { id: 'new:0', time: T0 },
    ]);
    const input = doc.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Key: { pk: 'FAIL#freeswitch', sk: '203.0.113.7' },
      UpdateExpression: 'ADD #ev :ev SET #ttl = :ttl',
      ReturnValues: 'ALL_OLD',
    });
    expect(input?.ExpressionAttributeValues?.[':ttl']).toBe(Math.ceil((T0 + 1500) / 1000));
    expect([...((input?.ExpressionAttributeValues?.[':ev'] ?? []) as Set<string>)].sort()).toEqual([
      `${T0}|new:0`,
      '1|old:0',
    ]);
  });

  it('maps ban items both ways; a foreign or broken item is no ban', () => {
    const full: Ban = {
      ...ban,
      reason: 'r',
      matches: ['a'],
      logGroup: '/g',
      logStream: 's',
      lastFailureAt: T0 - 1,
      expired: true,
    };
    expect(banFromItem(banToItem(full))).toEqual(full);
    const permanent = banToItem({ ...ban, expiresAt: null });
    expect(permanent.expiresAt).toBeUndefined();
    expect(permanent.ttl).toBeUndefined();
    expect(banToItem(ban).ttl).toBe(Math.ceil((T0 + 3_600_000 + 30 * 86_400_000) / 1000));
    expect(banFromItem({ pk: 'IGNORE', sk: 'x', cidr: 'x', jail: 'y' })).toBeUndefined();
    expect(banFromItem({ pk: 'BAN', sk: 'x' })).toBeUndefined();
  });
});
