import { describe, expect, it } from 'vitest';
import { decodeBanListBody, serializeBanList } from '../../../lambda/adapters/ban-list-codec.js';
import { MemoryBanListPublisher } from '../../../lambda/adapters/memory-ban-list-publisher.js';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import {
  defaultDenyEntries,
  MemoryNetworkAcls,
} from '../../../lambda/adapters/memory-network-acls.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';
import { type EnforceBansDeps, enforceBans } from '../../../lambda/use-cases/enforce-bans.js';
import { PublicationMemory } from '../../../lambda/use-cases/publish-ban-list.js';
import { aBan, allow, hostBans, MINUTE, T0 } from './helpers.js';

const ACL = 'acl-0123456789abcdef0';

async function world(n: number) {
  const store = new MemoryBanStore();
  for (const b of hostBans(n)) await store.putBan(b, T0, undefined);
  const acls = new MemoryNetworkAcls({
    acls: [{ naclId: ACL, entries: [allow(100, '0.0.0.0/0'), ...defaultDenyEntries()] }],
  });
  const publisher = new MemoryBanListPublisher();
  const clock = { now: T0 };
  const memory = new PublicationMemory();
  const deps = (over: Partial<EnforceBansDeps> = {}): EnforceBansDeps => ({
    store,
    nacls: acls,
    jails: [{ name: 'sip', deny: SIP_DENY, blocktype: 'reject', ignoreip: ['192.0.2.0/28'] }],
    ignoreip: ['203.0.113.0/24'],
    targets: [
      {
        naclId: ACL,
        ipv4Band: { first: 1, last: 18 },
        ipv6Band: { first: 19, last: 36 },
        direction: 'inbound',
        adoptForeign: false,
      },
    ],
    settings: { schedule: 'rate(1 minute)', maxMutationsPerRun: 40, dryRun: false, ruleQuota: 20 },
    now: () => clock.now,
    sleep: async () => {},
    publisher,
    publicationMemory: memory,
    ...over,
  });
  return { store, acls, publisher, clock, deps };
}

describe('the enforcer publishes the complete ban list (host tier)', () => {
  it('publishes all 200 bans while the NACL holds a few and reports the rest not enforced there', async () => {
    const w = await world(200);
    await w.store.addIgnore({ cidr: '198.51.100.0/24', jail: 'sip' });
    const report = await enforceBans(w.deps());
    // SIP_DENY takes two entries (tcp, udp) per ban: 9 bans fill the 18-rule IPv4 band.
    expect(report.nacls[0]!.ipv4.enforced).toBe(9);
    expect(report.notEnforced).toBe(191);
    expect(report.publication).toMatchObject({
      serial: T0,
      bans: 200,
      changed: true,
      notPublished: 0,
    });
    expect(report.publication?.bytes).toBeGreaterThan(100);
    const list = w.publisher.latest()!.list;
    expect(list.groups).toHaveLength(1);
    expect(list.groups[0]).toMatchObject({ jails: ['sip'], verdict: 'reject', deny: SIP_DENY });
    expect(list.groups[0]!.bans).toHaveLength(200);
    expect(list.allowlist).toEqual([
      { cidr: '192.0.2.0/28', jails: ['sip'] },
      { cidr: '198.51.100.0/24', jails: ['sip'] },
      { cidr: '203.0.113.0/24', jails: null },
    ]);
    // The wire form decodes to the same document.
    expect(decodeBanListBody(serializeBanList(list))).toEqual(JSON.parse(JSON.stringify(list)));
  });

  it('does not write unchanged content again; a change gets a higher serial', async () => {
    const w = await world(3);
    const first = await enforceBans(w.deps());
    w.clock.now += MINUTE;
    const second = await enforceBans(w.deps());
    expect(second.publication).toMatchObject({ serial: first.publication!.serial, changed: false });
    expect(w.publisher.published).toHaveLength(1);
    await w.store.putBan(aBan({ cidr: '198.51.7.7/32' }), w.clock.now, undefined);
    const third = await enforceBans(w.deps());
    expect(third.publication).toMatchObject({ changed: true, bans: 4 });
    expect(third.publication!.serial!).toBeGreaterThan(first.publication!.serial!);
    expect(w.publisher.published).toHaveLength(2);
  });

  it('an expiring ban changes the list; the serial grows even when the object was lost', async () => {
    const w = await world(2);
    await w.store.putBan(
      aBan({ cidr: '198.51.9.9/32', expiresAt: T0 + 2 * MINUTE }),
      T0,
      undefined,
    );
    const first = await enforceBans(w.deps());
    expect(first.publication?.bans).toBe(3);
    w.publisher.lose();
    // Clock not moved: a lost object is published again with a serial above the old one.
    const again = await enforceBans(w.deps());
    expect(again.publication!.changed).toBe(true);
    expect(again.publication!.serial!).toBeGreaterThan(first.publication!.serial!);
    w.clock.now = T0 + 3 * MINUTE;
    const expired = await enforceBans(w.deps());
    expect(expired.publication).toMatchObject({ changed: true, bans: 2 });
    const cidrs = w.publisher.latest()!.list.groups.flatMap((g) => g.bans.map(([c]) => c));
    expect(cidrs).not.toContain('198.51.9.9/32');
  });

  it('a failed publication is reported, does not undo the NACL work, and the next run retries', async () => {
    const w = await world(20);
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => void warnings.push(m) };
    w.publisher.failWith = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    const failed = await enforceBans(w.deps({ logger }));
    expect(failed.mutations).toBe(18);
    expect(failed.publication).toMatchObject({
      serial: null,
      changed: false,
      notPublished: 20,
      error: 'AccessDenied: Access Denied',
    });
    expect(warnings).toContain('ban list not published (the next run retries)');
    w.publisher.failWith = undefined;
    const retried = await enforceBans(w.deps({ logger }));
    expect(retried.publication).toMatchObject({ changed: true, bans: 20, notPublished: 0 });
    // After a success the container knows what is out there: only the new ban is missing.
    await w.store.putBan(aBan({ cidr: '198.51.7.7/32' }), T0, undefined);
    w.publisher.failWith = new Error('timeout');
    const partly = await enforceBans(w.deps({ logger }));
    expect(partly.publication).toMatchObject({
      notPublished: 1,
      serial: retried.publication!.serial,
    });
  });

  it('dry-run publishes nothing; without a publisher there is no publication section', async () => {
    const w = await world(2);
    const dry = await enforceBans(w.deps(), { dryRun: true });
    expect(dry.publication).toBeUndefined();
    expect(w.publisher.published).toHaveLength(0);
    const { publisher: _p, ...rest } = w.deps();
    expect((await enforceBans(rest)).publication).toBeUndefined();
  });
});
