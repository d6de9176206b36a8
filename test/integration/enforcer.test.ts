/**
 * The enforcer end to end, through the real AWS SDK v3 clients: the EC2 network ACL adapter against
 * the local EC2 endpoint (EC2 Query API over HTTP, real error codes, quota, injected throttling)
 * and the DynamoDB ban store against dynalite. Clocks and backoff sleeps are injected: no waiting.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { Ec2NetworkAcls } from '../../lambda/adapters/ec2-network-acls.js';
import type { NaclTarget } from '../../lambda/config/target-config.js';
import type { Ban } from '../../lambda/core/ban.js';
import { SIP_DENY } from '../../lambda/core/deny-spec.js';
import { matchKey } from '../../lambda/core/enforcement/acl-entries.js';
import { createEnforcerHandler, type EnforcerDeps } from '../../lambda/handlers/enforcer.js';
import type { NaclEntry } from '../../lambda/ports/network-acls.js';
import { type EnforcementReport, enforceBans } from '../../lambda/use-cases/enforce-bans.js';
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

function hostBans(n: number, extra: Partial<Ban> = {}): Ban[] {
  return Array.from({ length: n }, (_, i) => ({
    jail: 'sip',
    cidr: `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}/32`,
    createdAt: T0 - i,
    expiresAt: T0 + 60 * MINUTE,
    source: 'detector' as const,
    failures: n - i,
    banCount: 1,
    ...extra,
  }));
}

function target(naclId = ACL): NaclTarget {
  return {
    naclId,
    ipv4Band: { first: 1, last: 18 },
    ipv6Band: { first: 19, last: 36 },
    direction: 'inbound',
    adoptForeign: false,
  };
}

interface World {
  ec2: LocalEc2;
  db: EmbeddedDynamoDb;
  store: DynamoDbBanStore;
  nacls: Ec2NetworkAcls;
  clock: { now: number };
  deps: (over?: Partial<EnforcerDeps>) => EnforcerDeps;
}

async function world(
  bans: readonly Ban[],
  opts: { throttleRate?: number; maxMutationsPerRun?: number; extraAcls?: string[] } = {},
): Promise<World> {
  const ec2 = await startLocalEc2({
    acls: [sampleAcl(ACL), ...(opts.extraAcls ?? []).map(sampleAcl)],
    ruleQuota: 20,
    faults: { throttleRate: opts.throttleRate ?? 0, seed: 42 },
  });
  running.push(ec2);
  const db = await startEmbeddedDynamoDb();
  running.push(db);
  const store = new DynamoDbBanStore(db.client(), db.tableName);
  for (let i = 0; i < bans.length; i += 25) {
    const chunk = bans.slice(i, i + 25).map((b) => store.putBan(b, T0, undefined));
    expect(await Promise.all(chunk)).toEqual(Array(chunk.length).fill('created'));
  }
  const nacls = new Ec2NetworkAcls({ client: ec2.client() });
  const clock = { now: T0 };
  return {
    ec2,
    db,
    store,
    nacls,
    clock,
    deps: (over = {}) => ({
      store,
      nacls,
      jails: [{ name: 'sip', deny: { kind: 'all' } }],
      ignoreip: [],
      targets: [target()],
      settings: {
        schedule: 'rate(1 minute)',
        maxMutationsPerRun: opts.maxMutationsPerRun ?? 40,
        dryRun: false,
        ruleQuota: 20,
      },
      now: () => clock.now,
      sleep: async () => {},
      logger: { info: () => {}, warn: () => {} },
      ...over,
    }),
  };
}

const inbound = (entries: readonly NaclEntry[]) => entries.filter((e) => !e.egress);
const band = (entries: readonly NaclEntry[]) => inbound(entries).filter((e) => e.ruleNumber <= 36);

function expectNoDuplicates(entries: readonly NaclEntry[]) {
  const keys = inbound(entries)
    .filter((e) => e.ruleAction === 'deny' && e.ruleNumber <= 32766)
    .map(matchKey);
  expect(new Set(keys).size).toBe(keys.length);
}

function mutatingRequests(ec2: LocalEc2): number {
  const r = ec2.stats.requests;
  return (
    (r['CreateNetworkAclEntry'] ?? 0) +
    (r['ReplaceNetworkAclEntry'] ?? 0) +
    (r['DeleteNetworkAclEntry'] ?? 0)
  );
}

describe('enforcer against the local EC2 endpoint and dynalite', () => {
  it('200 bans, IPv4 band of 18: the top 18 are enforced, 182 reported and metered, allows untouched; expired slots go to the next', async () => {
    const bans = hostBans(200);
    const w = await world(bans);
    const allowsBefore = w.ec2.entries(ACL).filter((e) => e.ruleAction === 'allow');
    const handler = createEnforcerHandler(() => w.deps());
    const docs: Record<string, unknown>[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      for (const line of String(chunk).split('\n'))
        if (line.includes('"_aws"')) docs.push(JSON.parse(line));
      return true;
    });
    vi.spyOn(console, 'log').mockImplementation((...args) => {
      for (const line of args.join(' ').split('\n'))
        if (line.includes('"_aws"')) docs.push(JSON.parse(line));
    });
    vi.spyOn(console, 'info').mockImplementation(() => {});

    const report = await handler({ source: 'cloudjail.schedule' });
    const entries = w.ec2.entries(ACL);
    expect(
      band(entries)
        .map((e) => e.cidr)
        .sort(),
    ).toEqual(
      bans
        .slice(0, 18)
        .map((b) => b.cidr)
        .sort(),
    );
    expect(band(entries).every((e) => e.ruleAction === 'deny' && e.protocol === '-1')).toBe(true);
    expect(report.notEnforced).toBe(182);
    expect(report.nacls[0]?.ipv4).toEqual({
      capacity: 18,
      entriesUsed: 18,
      bans: 200,
      enforced: 18,
      pending: 0,
      notEnforced: 182,
    });
    const naclTier = (d: Record<string, unknown>) => d[METRICS.tierDimension] === METRICS.naclTier;
    expect(docs.findLast(naclTier)?.[METRICS.bansNotEnforced]).toBe(182);
    expect(docs.at(-1)?.[METRICS.activeBans]).toBe(200);
    expect(entries.filter((e) => e.ruleAction === 'allow')).toEqual(allowsBefore);

    // The top 5 are released: the next 5 take their slots, by replace, and the 5 are swept.
    w.clock.now = T0 + MINUTE;
    for (const b of bans.slice(0, 5)) {
      expect(await w.store.releaseBans({ cidr: b.cidr }, w.clock.now)).toHaveLength(1);
    }
    w.clock.now = T0 + 2 * MINUTE;
    const next = await handler({ source: 'cloudjail.schedule' });
    expect(
      band(w.ec2.entries(ACL))
        .map((e) => e.cidr)
        .sort(),
    ).toEqual(
      bans
        .slice(5, 23)
        .map((b) => b.cidr)
        .sort(),
    );
    expect(next.nacls[0]?.mutations.map((m) => m.op)).toEqual(Array(5).fill('replace'));
    expect(next.swept).toBe(5);
    expect(next.notEnforced).toBe(177);
    expect(docs.findLast(naclTier)?.[METRICS.bansNotEnforced]).toBe(177);
    const stored = await w.store.listBans();
    expect(
      stored
        .filter((b) => b.expired)
        .map((b) => b.cidr)
        .sort(),
    ).toEqual(
      bans
        .slice(0, 5)
        .map((b) => b.cidr)
        .sort(),
    );
    expect(w.ec2.entries(ACL).filter((e) => e.ruleAction === 'allow')).toEqual(allowsBefore);
  });

  it('converges under 30% RequestLimitExceeded within a bounded number of runs, never holding a duplicate', async () => {
    const bans = hostBans(40);
    const w = await world(bans, { throttleRate: 0.3 });
    // Start from a band that needs every kind of mutation: strays, a duplicate, evictions.
    await w.nacls.describe([ACL]);
    const reports: EnforcementReport[] = [];
    w.ec2.setFaults({ throttleRate: 0, seed: 42 });
    for (let i = 0; i < 6; i++) {
      await w.nacls.createEntry(ACL, {
        ruleNumber: i + 1,
        egress: false,
        ruleAction: 'deny',
        protocol: '-1',
        cidr: i < 4 ? bans[30 + i]!.cidr : `192.0.2.${i}/32`,
      });
    }
    await w.nacls.createEntry(ACL, {
      ruleNumber: 7,
      egress: false,
      ruleAction: 'deny',
      protocol: '-1',
      cidr: bans[30]!.cidr,
    });
    w.ec2.setFaults({ throttleRate: 0.3, seed: 42 });
    for (let run = 0; run < 8; run++) {
      const r = await enforceBans(w.deps({ throttleRetry: { retries: 1 } }));
      reports.push(r);
      expectNoDuplicates(w.ec2.entries(ACL));
      if (r.pending === 0 && r.nacls[0]?.mutations.length === 0) break;
    }
    expect(reports.length).toBeLessThanOrEqual(5);
    expect(
      band(w.ec2.entries(ACL))
        .map((e) => e.cidr)
        .sort(),
    ).toEqual(
      bans
        .slice(0, 18)
        .map((b) => b.cidr)
        .sort(),
    );
    expect(w.ec2.stats.throttled).toBeGreaterThan(0);
    expect(reports.reduce((n, r) => n + r.throttles, 0)).toBe(w.ec2.stats.throttled);
  });

  it('ends correct when two enforcer runs race', async () => {
    const bans = hostBans(30).map((b, i) => (i < 3 ? { ...b, expiresAt: T0 + MINUTE } : b));
    const w = await world(bans);
    await enforceBans(w.deps());
    w.clock.now = T0 + 2 * MINUTE;
    await w.nacls.deleteEntry(ACL, 4, false);
    const [a, b] = await Promise.all([enforceBans(w.deps()), enforceBans(w.deps())]);
    const entries = w.ec2.entries(ACL);
    expectNoDuplicates(entries);
    expect(
      band(entries)
        .map((e) => e.cidr)
        .sort(),
    ).toEqual(
      bans
        .slice(3, 21)
        .map((x) => x.cidr)
        .sort(),
    );
    expect(a.nacls[0]?.error ?? b.nacls[0]?.error).toBeUndefined();
    const settled = await enforceBans(w.deps());
    expect(settled.mutations).toBe(0);
    expect(settled.pending).toBe(0);
  });

  it('restores a manually deleted entry, never touches an entry outside the band, and dry-run mutates nothing', async () => {
    const bans = hostBans(9, { jail: 'sip' });
    const w = await world(bans);
    const deps = w.deps({ jails: [{ name: 'sip', deny: SIP_DENY }] });
    // An operator's entry outside the band (it also takes one rule of the IPv4 quota).
    const outside: NaclEntry = {
      ruleNumber: 50,
      egress: false,
      ruleAction: 'deny',
      protocol: '6',
      portRange: { from: 22, to: 22 },
      cidr: bans[8]!.cidr,
    };
    await w.nacls.createEntry(ACL, outside);
    const first = await enforceBans(deps);
    // 20 - default deny - allow 100 - rule 50 = 17 entries: 8 SIP bans of 2 entries.
    expect(first.nacls[0]?.ipv4).toMatchObject({ capacity: 17, enforced: 8, notEnforced: 1 });
    const deleted = band(w.ec2.entries(ACL))[2]!;
    await w.nacls.deleteEntry(ACL, deleted.ruleNumber, false);

    // Dry-run first: reports the repair, changes nothing.
    const before = w.ec2.entries(ACL);
    const mutatingBefore = mutatingRequests(w.ec2);
    w.clock.now = T0 + 10 * MINUTE;
    const dry = await enforceBans(deps, { dryRun: true });
    expect(w.ec2.entries(ACL)).toEqual(before);
    expect(mutatingRequests(w.ec2)).toBe(mutatingBefore);
    expect(dry.nacls[0]?.mutations).toEqual([
      expect.objectContaining({ op: 'create', ruleNumber: deleted.ruleNumber, status: 'planned' }),
    ]);

    const repaired = await enforceBans(deps);
    expect(repaired.driftRepairs).toBe(1);
    expect(w.ec2.entries(ACL)).toContainEqual(deleted);
    expect(w.ec2.entries(ACL)).toContainEqual(outside);
    expect(repaired.nacls[0]?.ipv4).toMatchObject({ enforced: 8, notEnforced: 1 });
    expect(band(w.ec2.entries(ACL))).toHaveLength(16);
  });

  it('reports a NACL that does not exist and still enforces the others', async () => {
    const other = 'acl-0a1b2c3d4e5f60719';
    const w = await world(hostBans(3), { extraAcls: [other] });
    const report = await enforceBans(
      w.deps({ targets: [target('acl-0fffffffffffffff0'), target(other)] }),
    );
    expect(report.nacls[0]?.error).toMatch(/InvalidNetworkAclID\.NotFound/);
    expect(band(w.ec2.entries(other))).toHaveLength(3);
    expect(band(w.ec2.entries(ACL))).toHaveLength(0);
  });
});
