import { describe, expect, it } from 'vitest';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import {
  defaultDenyEntries,
  MemoryNetworkAcls,
} from '../../../lambda/adapters/memory-network-acls.js';
import type { NaclTarget } from '../../../lambda/config/target-config.js';
import type { Ban } from '../../../lambda/core/ban.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';
import { matchKey } from '../../../lambda/core/enforcement/acl-entries.js';
import { Ec2ThrottledError, NaclEntryExistsError } from '../../../lambda/core/errors.js';
import type { NaclEntry } from '../../../lambda/ports/network-acls.js';
import {
  type EnforceBansDeps,
  type EnforcementReport,
  enforceBans,
  MAX_REPLANS,
} from '../../../lambda/use-cases/enforce-bans.js';
import { aBan, allow, deny, hostBans, MINUTE, T0 } from './helpers.js';

const ACL = 'acl-0123456789abcdef0';
const ACL2 = 'acl-0123456789abcdef1';

function target(naclId = ACL, extra: Partial<NaclTarget> = {}): NaclTarget {
  return {
    naclId,
    ipv4Band: { first: 1, last: 18 },
    ipv6Band: { first: 19, last: 36 },
    direction: 'inbound',
    adoptForeign: false,
    ...extra,
  };
}

const ALLOWS: NaclEntry[] = [allow(100, '0.0.0.0/0'), allow(101, '::/0')];

async function seed(store: MemoryBanStore, bans: readonly Ban[]) {
  for (const b of bans) expect(await store.putBan(b, T0, undefined)).toBe('created');
}

interface Fixture {
  store: MemoryBanStore;
  acls: MemoryNetworkAcls;
  clock: { now: number };
  sleeps: number[];
  deps: (over?: Partial<EnforceBansDeps>) => EnforceBansDeps;
}

function fixture(
  opts: { maxMutationsPerRun?: number; ruleQuota?: number; twinQuota?: number } = {},
): Fixture {
  const store = new MemoryBanStore();
  const acls = new MemoryNetworkAcls({
    acls: [{ naclId: ACL, entries: [...ALLOWS, ...defaultDenyEntries()] }],
    ruleQuota: opts.twinQuota ?? opts.ruleQuota ?? 20,
  });
  const clock = { now: T0 };
  const sleeps: number[] = [];
  return {
    store,
    acls,
    clock,
    sleeps,
    deps: (over = {}) => ({
      store,
      nacls: acls,
      jails: [{ name: 'sip', deny: { kind: 'all' } }],
      ignoreip: [],
      targets: [target()],
      settings: {
        schedule: 'rate(1 minute)',
        maxMutationsPerRun: opts.maxMutationsPerRun ?? 40,
        dryRun: false,
        ruleQuota: opts.ruleQuota ?? 20,
      },
      now: () => clock.now,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...over,
    }),
  };
}

function bandCidrs(acls: MemoryNetworkAcls, naclId = ACL): string[] {
  return acls
    .entries(naclId)
    .filter((e) => !e.egress && e.ruleNumber <= 36)
    .map((e) => e.cidr)
    .sort();
}

function expectNoDuplicates(acls: MemoryNetworkAcls, naclId = ACL) {
  const keys = acls
    .entries(naclId)
    .filter((e) => !e.egress && e.ruleAction === 'deny' && e.ruleNumber <= 32766)
    .map(matchKey);
  expect(new Set(keys).size).toBe(keys.length);
}

describe('enforceBans', () => {
  it('enforces the 18 highest-ranked of 200 bans and reports 182 not enforced', async () => {
    const f = fixture();
    const bans = hostBans(200);
    await seed(f.store, bans);
    const report = await enforceBans(f.deps());
    expect(bandCidrs(f.acls)).toEqual(
      bans
        .slice(0, 18)
        .map((b) => b.cidr)
        .sort(),
    );
    expect(report.activeBans).toBe(200);
    expect(report.notEnforced).toBe(182);
    expect(report.pending).toBe(0);
    expect(report.mutations).toBe(18);
    expect(report.nacls[0]?.ipv4).toEqual({
      capacity: 18,
      entriesUsed: 18,
      bans: 200,
      enforced: 18,
      pending: 0,
      notEnforced: 182,
    });
    expect(f.acls.entries(ACL).filter((e) => e.ruleAction === 'allow')).toEqual(ALLOWS);
    const again = await enforceBans(f.deps());
    expect(again.mutations).toBe(0);
    expect(f.acls.calls.describe).toBe(2);
  });

  it('gives the slots of expired bans to the next ones, by replace, and sweeps the expired', async () => {
    const f = fixture();
    const bans = hostBans(30).map((b, i) => (i < 5 ? { ...b, expiresAt: T0 + 2 * MINUTE } : b));
    await seed(f.store, bans);
    await enforceBans(f.deps());
    f.clock.now = T0 + 3 * MINUTE;
    const report = await enforceBans(f.deps());
    expect(bandCidrs(f.acls)).toEqual(
      bans
        .slice(5, 23)
        .map((b) => b.cidr)
        .sort(),
    );
    expect(report.nacls[0]?.mutations.map((m) => m.op)).toEqual(Array(5).fill('replace'));
    expect(report.swept).toBe(5);
    expect(report.driftRepairs).toBe(0);
    const stored = await f.store.listBans();
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
    expect(report.notEnforced).toBe(7);
  });

  it('does not sweep an expired ban while its entry is still in a NACL', async () => {
    const f = fixture({ maxMutationsPerRun: 1 });
    await seed(f.store, [aBan({ cidr: '203.0.113.1/32', expiresAt: T0 + MINUTE })]);
    await enforceBans(f.deps());
    f.clock.now = T0 + 2 * MINUTE;
    // Make the delete fail once: the entry stays, so the record must not be marked.
    let fail = true;
    f.acls.fault = (op) => {
      if (op === 'delete' && fail) {
        fail = false;
        return new Error('boom');
      }
      return undefined;
    };
    const first = await enforceBans(f.deps());
    expect(first.swept).toBe(0);
    expect(bandCidrs(f.acls)).toEqual(['203.0.113.1/32']);
    const second = await enforceBans(f.deps());
    expect(second.swept).toBe(1);
    expect(bandCidrs(f.acls)).toEqual([]);
  });

  it('caps mutations per run and reports the rest as pending', async () => {
    const f = fixture({ maxMutationsPerRun: 5 });
    await seed(f.store, hostBans(18));
    const first = await enforceBans(f.deps());
    expect(first.mutations).toBe(5);
    expect(first.pending).toBe(13);
    expect(first.nacls[0]?.ipv4).toMatchObject({ enforced: 5, pending: 13 });
    const runs = [first];
    while (runs.at(-1)!.pending > 0 && runs.length < 10) runs.push(await enforceBans(f.deps()));
    expect(runs).toHaveLength(4);
    expect(bandCidrs(f.acls)).toHaveLength(18);
  });

  it('expands a SIP ban into two entries and counts bans, not entries', async () => {
    const f = fixture();
    await seed(f.store, hostBans(10));
    const report = await enforceBans(f.deps({ jails: [{ name: 'sip', deny: SIP_DENY }] }));
    // Capacity and use count entries (18 of 18), the rest counts bans (9 of 10 enforced).
    expect(report.nacls[0]?.ipv4).toEqual({
      capacity: 18,
      entriesUsed: 18,
      bans: 10,
      enforced: 9,
      pending: 0,
      notEnforced: 1,
    });
    const protocols = f.acls
      .entries(ACL)
      .filter((e) => e.ruleNumber <= 18)
      .map((e) => e.protocol);
    expect(protocols.filter((p) => p === '6')).toHaveLength(9);
    expect(protocols.filter((p) => p === '17')).toHaveLength(9);
  });

  it('retries throttling with backoff through the injected sleep and converges without duplicates', async () => {
    const f = fixture();
    await seed(f.store, hostBans(40));
    let seed32 = 7;
    const random = () => {
      seed32 = (seed32 * 1103515245 + 12345) % 2 ** 31;
      return seed32 / 2 ** 31;
    };
    f.acls.fault = () => (random() < 0.3 ? new Ec2ThrottledError('test') : undefined);
    const reports: EnforcementReport[] = [];
    for (let run = 0; run < 5; run++) {
      reports.push(await enforceBans(f.deps()));
      expectNoDuplicates(f.acls);
      if (reports.at(-1)!.pending === 0 && reports.at(-1)!.mutations === 0) break;
    }
    expect(bandCidrs(f.acls)).toEqual(
      hostBans(40)
        .slice(0, 18)
        .map((b) => b.cidr)
        .sort(),
    );
    const throttles = reports.reduce((n, r) => n + r.throttles, 0);
    expect(throttles).toBeGreaterThan(0);
    expect(f.sleeps.length).toBeGreaterThan(0);
    expect(f.sleeps.every((ms) => ms >= 250 && ms <= 4000)).toBe(true);
    expect(f.sleeps).toContain(250);
  });

  it('stops a NACL when throttling outlasts the retries, and reports it', async () => {
    const f = fixture();
    await seed(f.store, hostBans(3));
    f.acls.fault = (op) =>
      op === 'create' ? new Ec2ThrottledError('CreateNetworkAclEntry') : undefined;
    const report = await enforceBans(f.deps({ throttleRetry: { retries: 2 } }));
    expect(report.throttles).toBe(3);
    expect(f.sleeps).toEqual([250, 500]);
    expect(report.pending).toBe(3);
    expect(report.nacls[0]?.warnings?.[0]).toMatch(/RequestLimitExceeded/);
    expect(report.nacls[0]?.error).toBeUndefined();
  });

  it('treats NaclEntryAlreadyExists as converge-and-verify: re-describes and re-plans', async () => {
    const f = fixture();
    const bans = hostBans(3);
    await seed(f.store, bans);
    // Another writer takes rule 1 with our first ban just before our create lands.
    let raced = false;
    f.acls.fault = (op) => {
      if (op === 'create' && !raced) {
        raced = true;
        f.acls.fault = undefined;
        void f.acls.createEntry(ACL, deny(1, bans[0]!.cidr));
        f.acls.fault = () => undefined;
      }
      return undefined;
    };
    const report = await enforceBans(f.deps());
    expect(report.nacls[0]?.mutations[0]).toMatchObject({ status: 'failed', op: 'create' });
    expect(report.nacls[0]?.mutations[0]?.error).toMatch(/already has an entry 1/);
    expect(bandCidrs(f.acls)).toEqual(bans.map((b) => b.cidr).sort());
    expectNoDuplicates(f.acls);
    expect(f.acls.calls.describe).toBe(2);
    expect(report.pending).toBe(0);
  });

  it('never loops forever on conflicts', async () => {
    const f = fixture();
    await seed(f.store, hostBans(3));
    f.acls.fault = (op) => (op === 'create' ? new NaclEntryExistsError(ACL, 1) : undefined);
    const report = await enforceBans(f.deps());
    expect(f.acls.calls.describe).toBe(MAX_REPLANS + 1);
    expect(report.nacls[0]?.warnings?.join()).toMatch(/re-plans/);
    expect(report.pending).toBe(3);
  });

  it('ends correct when two runs race on the same NACL', async () => {
    const f = fixture();
    const bans = hostBans(30).map((b, i) => (i < 4 ? { ...b, expiresAt: T0 + MINUTE } : b));
    await seed(f.store, bans);
    await f.acls.createEntry(ACL, deny(5, '192.0.2.5/32'));
    f.clock.now = T0 + 2 * MINUTE;
    const [a, b] = await Promise.all([enforceBans(f.deps()), enforceBans(f.deps())]);
    // The runs really interleaved: one of them hit the other's entries and re-planned.
    const failed = [a, b]
      .flatMap((r) => r.nacls[0]?.mutations ?? [])
      .filter((m) => m.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expectNoDuplicates(f.acls);
    expect(bandCidrs(f.acls)).toEqual(
      bans
        .slice(4, 22)
        .map((x) => x.cidr)
        .sort(),
    );
    expect(a.mutations + b.mutations).toBeGreaterThanOrEqual(18);
    const after = await enforceBans(f.deps());
    expect(after.mutations).toBe(0);
  });

  it('restores a manually deleted entry (drift repair) and removes a stray deny in the band', async () => {
    const f = fixture();
    const bans = hostBans(5);
    await seed(f.store, bans);
    await enforceBans(f.deps());
    const outside = deny(60, '192.0.2.60/32');
    await f.acls.createEntry(ACL, outside);
    await f.acls.deleteEntry(ACL, 3, false);
    await f.acls.createEntry(ACL, deny(10, '192.0.2.10/32'));
    f.clock.now = T0 + 10 * MINUTE;
    const report = await enforceBans(f.deps());
    expect(bandCidrs(f.acls)).toEqual(bans.map((b) => b.cidr).sort());
    expect(report.driftRepairs).toBe(2);
    expect(report.nacls[0]?.mutations.map((m) => [m.op, m.reason ?? null])).toEqual([
      ['replace', 'unknown'],
    ]);
    expect(f.acls.entries(ACL)).toContainEqual(outside);
  });

  it('keeps and reports a foreign allow inside the band', async () => {
    const f = fixture();
    const foreign = allow(2, '192.0.2.0/24');
    await f.acls.createEntry(ACL, foreign);
    await seed(f.store, hostBans(30));
    const report = await enforceBans(f.deps());
    expect(report.nacls[0]?.foreign).toEqual([foreign]);
    expect(f.acls.entries(ACL)).toContainEqual(foreign);
    expect(report.nacls[0]?.ipv4.capacity).toBe(17);
  });

  it('dry-run mutates nothing and writes nothing, but reports the plan', async () => {
    const f = fixture();
    await seed(f.store, [...hostBans(20), aBan({ cidr: '203.0.113.9/32', expiresAt: T0 - 1 })]);
    const before = f.acls.entries(ACL);
    const report = await enforceBans(f.deps(), { dryRun: true });
    expect(f.acls.entries(ACL)).toEqual(before);
    expect(f.acls.calls).toMatchObject({ create: 0, replace: 0, delete: 0 });
    expect(report.dryRun).toBe(true);
    expect(report.mutations).toBe(0);
    expect(report.swept).toBe(0);
    expect(report.pending).toBe(18);
    expect(report.nacls[0]?.mutations).toHaveLength(18);
    expect(report.nacls[0]?.mutations.every((m) => m.status === 'planned')).toBe(true);
    expect((await f.store.listBans()).some((b) => b.expired)).toBe(false);
  });

  it('reports a missing NACL and still enforces the others', async () => {
    const f = fixture();
    f.acls.addAcl(ACL2);
    await seed(f.store, hostBans(2));
    const report = await enforceBans(f.deps({ targets: [target('acl-00000000'), target(ACL2)] }));
    expect(report.nacls[0]?.error).toMatch(/acl-00000000 does not exist/);
    expect(report.nacls[1]?.error).toBeUndefined();
    expect(bandCidrs(f.acls, ACL2)).toHaveLength(2);
  });

  it('counts a ban not enforced when it misses on at least one NACL, once', async () => {
    const f = fixture();
    f.acls.addAcl(ACL2, [
      ...ALLOWS,
      allow(200, '10.0.0.0/8'),
      allow(201, '172.16.0.0/12'),
      ...defaultDenyEntries(),
    ]);
    await seed(f.store, hostBans(20));
    const report = await enforceBans(f.deps({ targets: [target(ACL), target(ACL2)] }));
    expect(report.nacls.map((n) => n.ipv4.notEnforced)).toEqual([2, 4]);
    expect(report.notEnforced).toBe(4);
  });

  it('shares the mutation cap between the NACLs of a run', async () => {
    const f = fixture({ maxMutationsPerRun: 10 });
    f.acls.addAcl(ACL2);
    await seed(f.store, hostBans(8));
    const report = await enforceBans(f.deps({ targets: [target(ACL), target(ACL2)] }));
    expect(report.mutations).toBe(10);
    expect(bandCidrs(f.acls, ACL)).toHaveLength(8);
    expect(bandCidrs(f.acls, ACL2)).toHaveLength(2);
    expect(report.nacls[1]?.ipv4.pending).toBe(6);
    expect(report.pending).toBe(6);
  });

  it('enforces IPv6 bans in the IPv6 band', async () => {
    const f = fixture();
    await seed(f.store, [aBan({ cidr: '2001:db8::7/128' }), aBan({ cidr: '203.0.113.7/32' })]);
    const report = await enforceBans(f.deps());
    const entries = f.acls.entries(ACL).filter((e) => e.ruleNumber <= 36);
    expect(entries.map((e) => [e.ruleNumber, e.cidr])).toEqual([
      [1, '203.0.113.7/32'],
      [19, '2001:db8::7/128'],
    ]);
    expect(report.nacls[0]?.ipv6).toMatchObject({ enforced: 1, notEnforced: 0 });
  });

  it('a quota smaller than configured lowers the capacity: the rest is not enforced, not pending', async () => {
    const f = fixture({ ruleQuota: 40, twinQuota: 6 });
    await seed(f.store, hostBans(10));
    const report = await enforceBans(f.deps());
    // 6 - default deny - 1 allow = 4 entries fit.
    expect(bandCidrs(f.acls)).toHaveLength(4);
    expect(report.nacls[0]?.warnings?.[0]).toMatch(/NetworkAclEntryLimitExceeded/);
    expect(report.pending).toBe(0);
    expect(report.notEnforced).toBe(6);
    expect(report.nacls[0]?.ipv4).toMatchObject({ capacity: 4, enforced: 4, notEnforced: 6 });
  });

  it('aggregates bans sharing a /24 when configured', async () => {
    const f = fixture();
    await seed(
      f.store,
      [1, 2, 3, 4].map((i) => aBan({ cidr: `203.0.113.${i}/32` })),
    );
    const deps = f.deps();
    const report = await enforceBans({
      ...deps,
      settings: { ...deps.settings, aggregate: { ipv4Prefix: 24, ipv6Prefix: 64, minBans: 3 } },
    });
    expect(bandCidrs(f.acls)).toEqual(['203.0.113.0/24']);
    expect(report.nacls[0]?.ipv4).toMatchObject({ enforced: 4 });
  });

  it('fails when the ban store cannot be read', async () => {
    const f = fixture();
    f.store.listBans = async () => {
      throw new Error('store down');
    };
    await expect(enforceBans(f.deps())).rejects.toThrow('store down');
  });
});
