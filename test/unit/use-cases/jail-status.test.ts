/**
 * `status` use case on the real DynamoDB adapters (dynalite): failures written by the store are
 * read back by the failure-window reader, bans and counters per jail, the banned list ordering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBanStore } from '../../../lambda/adapters/dynamodb-ban-store.js';
import { DynamoDbFailureWindows } from '../../../lambda/adapters/dynamodb-failure-windows.js';
import type { Ban } from '../../../lambda/core/ban.js';
import {
  enforcementView,
  jailStatus,
  statusOverview,
} from '../../../lambda/use-cases/jail-status.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../local/embedded-dynamodb.js';

const NOW = Date.UTC(2024, 10, 5, 3, 0, 0);
const MIN = 60_000;
let db: EmbeddedDynamoDb;
let store: DynamoDbBanStore;
let failures: DynamoDbFailureWindows;

const JAILS = [
  { name: 'freeswitch', filter: 'freeswitch[mode=normal]', logGroups: ['/fs'], findtime: 10 * MIN },
  { name: 'asterisk', filter: 'asterisk', logGroups: ['/ast'], findtime: 10 * MIN },
];

function ban(cidr: string, jail: string, expiresAt: number | null, extra: Partial<Ban> = {}): Ban {
  return {
    jail,
    cidr,
    createdAt: NOW - 5 * MIN,
    expiresAt,
    source: 'detector',
    failures: 5,
    banCount: 1,
    ...extra,
  };
}

beforeAll(async () => {
  db = await startEmbeddedDynamoDb();
  store = new DynamoDbBanStore(db.client(), db.tableName);
  failures = new DynamoDbFailureWindows(db.client(), db.tableName);
  const f = (id: string, minutesAgo: number) => ({ id, time: NOW - minutesAgo * MIN });
  // 203.0.113.1: 2 failures in the window; 203.0.113.2: only old ones; 203.0.113.3: banned.
  await store.recordFailures('freeswitch', '203.0.113.1', [f('a', 1), f('b', 2)], NOW + 60 * MIN);
  await store.recordFailures('freeswitch', '203.0.113.2', [f('c', 30)], NOW + 60 * MIN);
  await store.recordFailures('freeswitch', '203.0.113.3', [f('d', 3)], NOW + 60 * MIN);
  await store.addStats('freeswitch', 12, 3);
  await store.putBan(ban('203.0.113.3/32', 'freeswitch', NOW + 55 * MIN), NOW, undefined);
  await store.putBan(
    ban('198.51.100.0/24', 'freeswitch', null, { source: 'manual', reason: 'abuse' }),
    NOW,
    undefined,
  );
  await store.putBan(ban('203.0.113.4/32', 'freeswitch', NOW + 5 * MIN), NOW, undefined);
  // Expired: still stored, never counted as banned.
  await store.putBan(ban('203.0.113.5/32', 'freeswitch', NOW - MIN), NOW - 10 * MIN, undefined);
  await store.putBan(ban('2001:db8::7/128', 'asterisk', NOW + MIN), NOW, undefined);
});

afterAll(async () => {
  await db?.stop();
});

const deps = () => ({ store, failures, jails: JAILS, now: () => NOW });

describe('jail status', () => {
  it('failure windows: addresses with failures since a time, with count and last time', async () => {
    const rows = await failures.failingAddresses('freeswitch', NOW - 10 * MIN);
    expect([...rows].sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: '203.0.113.1', failures: 2, lastFailureAt: NOW - MIN },
      { address: '203.0.113.3', failures: 1, lastFailureAt: NOW - 3 * MIN },
    ]);
  });

  it('one jail: currently failing (not banned), counters, active bans by expiry', async () => {
    const s = await jailStatus('freeswitch', deps());
    expect(s).toMatchObject({
      jail: 'freeswitch',
      currentlyFailed: 1,
      totalFailed: 12,
      currentlyBanned: 3,
      totalBanned: 3,
      filter: 'freeswitch[mode=normal]',
      logGroups: ['/fs'],
      failing: [{ address: '203.0.113.1', failures: 2 }],
    });
    expect(s?.banned.map((b) => b.cidr)).toEqual([
      '203.0.113.4/32',
      '203.0.113.3/32',
      '198.51.100.0/24',
    ]);
    expect(s?.banned[2]).toMatchObject({ expiresAt: null, source: 'manual', reason: 'abuse' });
  });

  it('overview: every jail plus manual, active bans, the enforcement view passed in', async () => {
    const view = enforcementView({
      at: new Date(NOW).toISOString(),
      dryRun: true,
      activeBans: 4,
      notEnforced: 1,
      pending: 0,
      swept: 0,
      mutations: 0,
      throttles: 0,
      driftRepairs: 0,
      nacls: [
        {
          naclId: 'acl-0c10d0a1b2c3d4e5f',
          ipv4: { capacity: 2, enforced: 2, pending: 0, notEnforced: 1 },
          ipv6: { capacity: 18, enforced: 1, pending: 0, notEnforced: 0 },
          entries: [],
          mutations: [],
          foreign: [],
        },
      ],
    } as unknown as Parameters<typeof enforcementView>[0]);
    const o = await statusOverview(deps(), view);
    expect(o.activeBans).toBe(4);
    expect(o.jails.map((j) => [j.jail, j.currentlyBanned])).toEqual([
      ['freeswitch', 3],
      ['asterisk', 1],
      ['manual', 0],
    ]);
    expect(o.enforcement?.notEnforced).toBe(1);
    expect(o.enforcement?.nacls[0]?.ipv4).toEqual({
      capacity: 2,
      enforced: 2,
      pending: 0,
      notEnforced: 1,
    });
  });

  it('an unknown jail without bans is undefined', async () => {
    expect(await jailStatus('sshd', deps())).toBeUndefined();
  });
});
