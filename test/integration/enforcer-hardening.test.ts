/**
 * Issue 12, items 1, 2, 10 and 11, through the real adapters: the DynamoDB ban store and the
 * enforcer's lease/quota items on dynalite, the EC2 network ACL adapter against the local EC2
 * endpoint (real error codes and quota).
 *
 * - 12.1 an aggregate never covers an allowlisted range;
 * - 12.2 a ban record written straight into the table that overlaps the allowlist or is broader
 *   than the minimum prefix is refused (report, metric, log), never a deny entry;
 * - 12.10 `NetworkAclEntryLimitExceeded` lowers the capacity used: the rest is not enforced, in the
 *   report, the metric and later dry runs (`status`);
 * - 12.11 two overlapping runs, one of them with a stale ban list, leave the NACL on the fresh plan.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { banToItem, DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { DynamoDbEnforcerState } from '../../lambda/adapters/dynamodb-enforcer-state.js';
import { Ec2NetworkAcls } from '../../lambda/adapters/ec2-network-acls.js';
import type { NaclTarget } from '../../lambda/config/target-config.js';
import type { Ban } from '../../lambda/core/ban.js';
import { createEnforcerHandler, type EnforcerDeps } from '../../lambda/handlers/enforcer.js';
import { enforceBans } from '../../lambda/use-cases/enforce-bans.js';
import { METRICS } from '../../lib/runtime-contract.js';
import { type LocalEc2, sampleAcl, startLocalEc2 } from '../../local/ec2-endpoint.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';

const ACL = 'acl-0a1b2c3d4e5f60718';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

function ban(cidr: string, extra: Partial<Ban> = {}): Ban {
  return {
    jail: 'sip',
    cidr,
    createdAt: T0,
    expiresAt: T0 + 60 * MINUTE,
    source: 'detector',
    failures: 5,
    banCount: 1,
    ...extra,
  };
}

const TARGET: NaclTarget = {
  naclId: ACL,
  ipv4Band: { first: 1, last: 18 },
  ipv6Band: { first: 19, last: 36 },
  direction: 'inbound',
  adoptForeign: false,
};

interface World {
  ec2: LocalEc2;
  db: EmbeddedDynamoDb;
  store: DynamoDbBanStore;
  /** Writes a record as any table writer could (no cloudjail checks). */
  writeRaw(b: Ban): Promise<void>;
  deps(over?: Partial<EnforcerDeps>): EnforcerDeps;
}

async function world(opts: { ec2Quota?: number } = {}): Promise<World> {
  const ec2 = await startLocalEc2({ acls: [sampleAcl(ACL)], ruleQuota: opts.ec2Quota ?? 20 });
  running.push(ec2);
  const db = await startEmbeddedDynamoDb();
  running.push(db);
  const store = new DynamoDbBanStore(db.client(), db.tableName);
  const doc = DynamoDBDocumentClient.from(db.client());
  const nacls = new Ec2NetworkAcls({ client: ec2.client() });
  const state = new DynamoDbEnforcerState(db.client(), db.tableName);
  return {
    ec2,
    db,
    store,
    async writeRaw(b) {
      await doc.send(new PutCommand({ TableName: db.tableName, Item: banToItem(b) }));
    },
    deps: (over = {}) => ({
      store,
      nacls,
      state,
      jails: [{ name: 'sip', deny: { kind: 'all' }, ignoreip: ['198.51.100.64/26'] }],
      ignoreip: ['192.0.2.0/28'],
      targets: [TARGET],
      settings: {
        schedule: 'rate(1 minute)',
        maxMutationsPerRun: 40,
        dryRun: false,
        ruleQuota: 20,
      },
      now: () => T0,
      sleep: async () => {},
      logger: { info: () => {}, warn: () => {} },
      ...over,
    }),
  };
}

const bandCidrs = (ec2: LocalEc2) =>
  ec2
    .entries(ACL)
    .filter((e) => !e.egress && e.ruleNumber <= 36)
    .map((e) => e.cidr)
    .sort();

function captureMetrics(): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  const take = (text: string) => {
    for (const line of text.split('\n')) if (line.includes('"_aws"')) docs.push(JSON.parse(line));
  };
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    take(String(chunk));
    return true;
  });
  vi.spyOn(console, 'log').mockImplementation((...args) => take(args.join(' ')));
  vi.spyOn(console, 'info').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  return docs;
}

describe('the enforcer never denies an allowlisted address (issue 12.1, 12.2)', () => {
  it('three attackers next to the allowlisted trunk: no /24 aggregate over 192.0.2.0/28', async () => {
    const w = await world();
    for (const host of [100, 101, 102])
      await w.store.putBan(ban(`192.0.2.${host}/32`), T0, undefined);
    // Elsewhere aggregation still works.
    for (const host of [1, 2, 3]) await w.store.putBan(ban(`203.0.113.${host}/32`), T0, undefined);
    const report = await enforceBans(
      w.deps({
        settings: {
          schedule: 'rate(1 minute)',
          maxMutationsPerRun: 40,
          dryRun: false,
          ruleQuota: 20,
          aggregate: { ipv4Prefix: 24, ipv6Prefix: 64, minBans: 3 },
        },
      }),
    );
    expect(bandCidrs(w.ec2)).toEqual([
      '192.0.2.100/32',
      '192.0.2.101/32',
      '192.0.2.102/32',
      '203.0.113.0/24',
    ]);
    expect(report.notEnforced).toBe(0);
  });

  it('records written straight into the table: 0.0.0.0/0, an allowlisted CIDR, a jail-allowlisted host and a /12 are refused, reported, metered and logged', async () => {
    const w = await world();
    await w.writeRaw(ban('0.0.0.0/0', { jail: 'manual', source: 'manual', expiresAt: null }));
    await w.writeRaw(ban('192.0.2.0/28'));
    await w.writeRaw(ban('198.51.100.70/32'));
    await w.writeRaw(ban('10.16.0.0/12'));
    await w.writeRaw(ban('::/0', { jail: 'manual', source: 'manual' }));
    // A runtime allowlist entry scoped to the jail counts too.
    await w.store.addIgnore({ cidr: '203.0.113.9/32', jail: 'sip' });
    await w.writeRaw(ban('203.0.113.0/24'));
    await w.writeRaw(ban('203.0.113.9/32', { jail: 'other' }));
    await w.writeRaw(ban('198.51.100.7/32'));
    const warnings: { message: string; extra?: Record<string, unknown> }[] = [];
    const docs = captureMetrics();
    const handler = createEnforcerHandler(() =>
      w.deps({
        logger: { info: () => {}, warn: (message, extra) => warnings.push({ message, extra }) },
      }),
    );
    const report = await handler({ source: 'cloudjail.schedule' });
    // Only the ordinary ban, and the ban of another jail that a sip-scoped entry does not cover
    // (jail `other` is not configured: it denies all traffic, so the sip entry applies: refused).
    expect(bandCidrs(w.ec2)).toEqual(['198.51.100.7/32']);
    expect(report.refused).toBe(7);
    const reasons = Object.fromEntries(report.refusedBans.map((r) => [r.cidr, r.reason]));
    expect(reasons).toEqual({
      '0.0.0.0/0': 'allowlisted',
      '192.0.2.0/28': 'allowlisted',
      '198.51.100.70/32': 'allowlisted',
      '10.16.0.0/12': 'too-broad',
      '::/0': 'too-broad',
      '203.0.113.0/24': 'allowlisted',
      '203.0.113.9/32': 'allowlisted',
    });
    expect(report.refusedBans.find((r) => r.cidr === '198.51.100.70/32')?.allowlist).toEqual([
      { cidr: '198.51.100.64/26', source: 'jail', jail: 'sip' },
    ]);
    expect(report.notEnforced).toBe(0);
    expect(docs.at(-1)?.[METRICS.bansRefused]).toBe(7);
    expect(warnings.map((x) => x.message)).toContain(
      'ban records refused: allowlisted or broader than the minimum prefix',
    );
  });

  it('a deny entry already in the NACL for a ban that becomes allowlisted goes (reason refused)', async () => {
    const w = await world();
    await w.store.putBan(ban('203.0.113.7/32'), T0, undefined);
    await enforceBans(w.deps());
    expect(bandCidrs(w.ec2)).toEqual(['203.0.113.7/32']);
    await w.store.addIgnore({ cidr: '203.0.113.0/24' });
    const report = await enforceBans(w.deps());
    expect(bandCidrs(w.ec2)).toEqual([]);
    expect(report.nacls[0]?.mutations).toMatchObject([{ op: 'delete', reason: 'refused' }]);
  });
});

describe('the enforcer reports what it cannot do (issue 12.10)', () => {
  it('EC2 quota 8, configured 20, 12 bans: 6 enforced, 6 not enforced in the report, the metric and a later dry run', async () => {
    const w = await world({ ec2Quota: 8 });
    for (let i = 1; i <= 12; i++) {
      await w.store.putBan(ban(`198.51.100.${i}/32`, { failures: 100 - i }), T0, undefined);
    }
    const docs = captureMetrics();
    const handler = createEnforcerHandler(() => w.deps());
    const report = await handler({ source: 'cloudjail.schedule' });
    expect(bandCidrs(w.ec2)).toHaveLength(6);
    expect(report.notEnforced).toBe(6);
    expect(report.pending).toBe(0);
    expect(report.nacls[0]?.ipv4).toMatchObject({ capacity: 6, enforced: 6, notEnforced: 6 });
    expect(report.nacls[0]?.warnings?.join(' ')).toMatch(/NetworkAclEntryLimitExceeded/);
    // BansNotEnforced is per tier: the NACL tier's figure carries Tier=nacl.
    const naclTier = docs.find((d) => d[METRICS.tierDimension] === METRICS.naclTier);
    expect(naclTier?.[METRICS.bansNotEnforced]).toBe(6);
    // `status` is a dry run: it knows the learned quota.
    const dry = await enforceBans(w.deps(), { dryRun: true });
    expect(dry.notEnforced).toBe(6);
    expect(dry.nacls[0]?.ipv4).toMatchObject({ capacity: 6, enforced: 6, notEnforced: 6 });
    // The next run does not retry the failing create, and converges.
    const again = await enforceBans(w.deps());
    expect(again.mutations).toBe(0);
    expect(again.nacls[0]?.warnings).toBeUndefined();
    expect(again.notEnforced).toBe(6);
  });
});

describe('overlapping runs (issue 12.11)', () => {
  it('a run that read a stale ban list does not leave the NACL on its plan', async () => {
    const w = await world();
    await w.store.putBan(ban('198.51.100.1/32'), T0, undefined);
    await enforceBans(w.deps());
    // Run A reads the ban list, then stalls (a slow container) before mutating.
    let releaseA!: () => void;
    const gate = new Promise<void>((r) => {
      releaseA = r;
    });
    let aRead!: () => void;
    const aHasRead = new Promise<void>((r) => {
      aRead = r;
    });
    const staleStore: EnforcerDeps['store'] = {
      listBans: async () => {
        const bans = await w.store.listBans();
        aRead();
        await gate;
        return bans;
      },
      listIgnores: () => w.store.listIgnores(),
      markExpired: (b, now) => w.store.markExpired(b, now),
    };
    const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    const runA = enforceBans(w.deps({ store: staleStore }));
    await aHasRead;
    // Meanwhile: a new ban, and run B (fresh list).
    await w.store.putBan(ban('198.51.100.2/32'), T0, undefined);
    const runB = enforceBans(
      w.deps({ sleep: realSleep, lease: { waitAttempts: 400, waitDelayMs: 25 } }),
    );
    // A resumes once B finished, or after 1.5 s if B waits for A (the lease).
    await Promise.race([runB, realSleep(1500)]);
    releaseA();
    const [a, b] = await Promise.all([runA, runB]);
    expect(bandCidrs(w.ec2)).toEqual(['198.51.100.1/32', '198.51.100.2/32']);
    expect(a.skipped ?? b.skipped).toBeUndefined();
    const settled = await enforceBans(w.deps());
    expect(settled.mutations).toBe(0);
  });

  it('a run that cannot get the lease reports skipped, and a run whose lease was taken over stops mutating', async () => {
    const w = await world();
    await w.store.putBan(ban('198.51.100.1/32'), T0, undefined);
    const state = new DynamoDbEnforcerState(w.db.client(), w.db.tableName);
    const held = await state.acquire(T0, 60_000);
    expect(held).toBeDefined();
    const skipped = await enforceBans(w.deps({ lease: { waitAttempts: 2, waitDelayMs: 0 } }));
    expect(skipped.skipped).toBe('lease-held');
    expect(bandCidrs(w.ec2)).toEqual([]);
    // Expired lease: taken over; the old holder can no longer renew it.
    const taken = await state.acquire(T0 + 61_000, 60_000);
    expect(taken?.token).toBeGreaterThan(held?.token ?? 0);
    expect(held && (await state.renew(held, T0 + 61_500, 60_000))).toBeUndefined();
    await state.release(held!);
    const still = await enforceBans(
      w.deps({ now: () => T0 + 62_000, lease: { waitAttempts: 0, waitDelayMs: 0 } }),
    );
    expect(still.skipped).toBe('lease-held');
    if (taken) await state.release(taken);
    const ran = await enforceBans(w.deps({ now: () => T0 + 62_000 }));
    expect(ran.skipped).toBeUndefined();
    expect(bandCidrs(w.ec2)).toEqual(['198.51.100.1/32']);
  });

  it('a run that outlived its lease (taken over meanwhile) stops mutating: leaseLost', async () => {
    const w = await world();
    await w.store.putBan(ban('198.51.100.1/32'), T0, undefined);
    const state = new DynamoDbEnforcerState(w.db.client(), w.db.tableName);
    // The run acquires at T0 for 5 s; by the time it reaches the NACL it is T0 + 10 s and
    // another run holds the lease.
    let calls = 0;
    const now = () => (calls++ === 0 ? T0 : T0 + 10_000);
    const slowStore: EnforcerDeps['store'] = {
      listBans: async () => {
        const other = await state.acquire(T0 + 6_000, 60_000);
        expect(other).toBeDefined();
        return w.store.listBans();
      },
      listIgnores: () => w.store.listIgnores(),
      markExpired: (b, t) => w.store.markExpired(b, t),
    };
    const report = await enforceBans(
      w.deps({ store: slowStore, now, lease: { leaseMs: 5_000, waitAttempts: 0 } }),
    );
    expect(report.leaseLost).toBe(true);
    expect(report.mutations).toBe(0);
    expect(report.nacls[0]?.warnings?.join(' ')).toMatch(/lease was taken over/);
    expect(bandCidrs(w.ec2)).toEqual([]);
  });
});
