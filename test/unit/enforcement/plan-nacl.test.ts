import { describe, expect, it } from 'vitest';
import { defaultDenyEntries } from '../../../lambda/adapters/memory-network-acls.js';
import type { Ban } from '../../../lambda/core/ban.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';
import {
  type AclEntry,
  applyMutation,
  matchKey,
} from '../../../lambda/core/enforcement/acl-entries.js';
import { desiredBans } from '../../../lambda/core/enforcement/desired-bans.js';
import { type PlanTarget, planNacl } from '../../../lambda/core/enforcement/plan-nacl.js';
import { aBan, allow, deny, hostBans, T0 } from './helpers.js';

const TARGET: PlanTarget = {
  naclId: 'acl-0123456789abcdef0',
  ipv4Band: { first: 1, last: 18 },
  ipv6Band: { first: 19, last: 36 },
  adoptForeign: false,
};

const ALLOW_SIP = [allow(100, '0.0.0.0/0'), allow(101, '::/0'), ...defaultDenyEntries()];

function plan(
  bans: readonly Ban[],
  entries: readonly AclEntry[],
  opts: { target?: Partial<PlanTarget>; quota?: number; known?: string[]; sip?: boolean } = {},
) {
  const { desired } = desiredBans(bans, () => (opts.sip ? SIP_DENY : undefined), T0);
  return planNacl({
    target: { ...TARGET, ...opts.target },
    entries,
    ruleQuota: opts.quota ?? 20,
    desired,
    knownCidrs: new Set(opts.known ?? bans.map((b) => b.cidr)),
  });
}

function converge(bans: readonly Ban[], entries: readonly AclEntry[], opts = {}) {
  let state = [...entries];
  for (const m of plan(bans, state, opts).mutations) state = applyMutation(state, m);
  return state;
}

describe('planNacl', () => {
  it('fills an empty IPv4 band with the 18 highest-ranked of 200 bans, allow rules untouched', () => {
    const bans = hostBans(200);
    const p = plan(bans, ALLOW_SIP);
    expect(p.ipv4.capacity).toBe(18);
    expect(p.ipv4.selected.map((d) => d.cidr)).toEqual(bans.slice(0, 18).map((b) => b.cidr));
    expect(p.ipv4.notEnforced).toHaveLength(182);
    expect(p.mutations.every((m) => m.op === 'create')).toBe(true);
    expect(p.mutations.map((m) => m.ruleNumber)).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 1),
    );
    const after = converge(bans, ALLOW_SIP);
    expect(after.filter((e) => e.ruleAction === 'allow')).toEqual(ALLOW_SIP.slice(0, 2));
    expect(plan(bans, after).mutations).toEqual([]);
  });

  it('derives capacity from the quota: ruleQuota - default deny - other rules of the family', () => {
    const extra = [allow(200, '10.0.0.0/8'), allow(201, '192.168.0.0/16')];
    const p = plan(hostBans(40), [...ALLOW_SIP, ...extra]);
    // 20 - 1 - 3 allow rules = 16 < band size 18
    expect(p.ipv4.capacity).toBe(16);
    expect(p.ipv4.selected).toHaveLength(16);
    expect(p.ipv6.capacity).toBe(18);
  });

  it('counts a multi-entry ban as enforced only when all its entries fit', () => {
    // SIP = 2 entries per ban; capacity 5 → 2 bans (4 entries), the third does not fit.
    const p = plan(hostBans(3), ALLOW_SIP, {
      sip: true,
      target: { ipv4Band: { first: 1, last: 5 } },
    });
    expect(p.ipv4.capacity).toBe(5);
    expect(p.ipv4.selected).toHaveLength(2);
    expect(p.ipv4.notEnforced).toHaveLength(1);
    expect(p.mutations).toHaveLength(4);
  });

  it('keeps entries at their rule numbers and fills free numbers for new bans', () => {
    const bans = hostBans(3);
    const entries = [...ALLOW_SIP, deny(7, bans[1]!.cidr)];
    const p = plan(bans, entries);
    expect(p.mutations.map((m) => [m.op, m.ruleNumber, m.entry?.cidr])).toEqual([
      ['create', 1, bans[0]!.cidr],
      ['create', 2, bans[2]!.cidr],
    ]);
  });

  it('swaps a lower-ranked ban out for a higher-ranked one with ReplaceNetworkAclEntry', () => {
    const bans = hostBans(19);
    // Ranks 2-19 fill the band; rank 1 arrives.
    const entries = [...ALLOW_SIP, ...bans.slice(1).map((b, i) => deny(i + 1, b.cidr))];
    const p = plan(bans, entries);
    expect(p.mutations).toHaveLength(1);
    expect(p.mutations[0]).toMatchObject({
      op: 'replace',
      ruleNumber: 18,
      entry: { cidr: bans[0]!.cidr },
      previous: { cidr: bans[18]!.cidr },
      removes: 'evicted',
    });
  });

  it('replaces expired entries with new bans before creating, then deletes the rest last', () => {
    const active = hostBans(2);
    const entries = [
      ...ALLOW_SIP,
      deny(3, '203.0.113.1/32'),
      deny(4, '203.0.113.2/32'),
      deny(5, '203.0.113.3/32'),
    ];
    const known = [
      ...active.map((b) => b.cidr),
      '203.0.113.1/32',
      '203.0.113.2/32',
      '203.0.113.3/32',
    ];
    const p = plan(active, entries, { known });
    expect(p.mutations.map((m) => [m.op, m.ruleNumber, m.removes])).toEqual([
      ['replace', 3, 'expired'],
      ['replace', 4, 'expired'],
      ['delete', 5, 'expired'],
    ]);
  });

  it('removes duplicates and unknown denies in the band (drift), keeping the lowest number', () => {
    const bans = hostBans(1);
    const entries = [
      ...ALLOW_SIP,
      deny(2, bans[0]!.cidr),
      deny(5, bans[0]!.cidr),
      deny(9, '192.0.2.9/32'),
    ];
    const p = plan(bans, entries);
    expect(p.mutations.map((m) => [m.op, m.ruleNumber, m.removes])).toEqual([
      ['delete', 5, 'duplicate'],
      ['delete', 9, 'unknown'],
    ]);
  });

  it('reports and keeps a foreign allow inside the band, and it reduces capacity', () => {
    const foreign = allow(3, '192.0.2.0/24');
    const p = plan(hostBans(30), [...ALLOW_SIP, foreign]);
    expect(p.foreign).toEqual([foreign]);
    expect(p.ipv4.capacity).toBe(17);
    expect(p.mutations.some((m) => m.ruleNumber === 3)).toBe(false);
  });

  it('adopts (reuses) a foreign entry in the band when the target says so', () => {
    const foreign = allow(3, '192.0.2.0/24');
    const p = plan(hostBans(30), [...ALLOW_SIP, foreign], { target: { adoptForeign: true } });
    expect(p.ipv4.capacity).toBe(18);
    const m = p.mutations.find((x) => x.ruleNumber === 3);
    expect(m).toMatchObject({ op: 'replace', removes: 'foreign' });
  });

  it('never mutates a number outside its bands nor an outbound entry', () => {
    const outside = [
      deny(50, '203.0.113.50/32'),
      { ...deny(1, '203.0.113.60/32'), egress: true },
      deny(40, '2001:db8::9/128'),
    ];
    const bans = [...hostBans(30), aBan({ cidr: '2001:db8::1/128' })];
    const entries = [
      ...ALLOW_SIP,
      ...outside,
      deny(4, '192.0.2.4/32'),
      deny(20, '2001:db8::7/128'),
    ];
    const p = plan(bans, entries);
    for (const m of p.mutations) {
      expect(m.ruleNumber).toBeGreaterThanOrEqual(1);
      expect(m.ruleNumber).toBeLessThanOrEqual(36);
      expect(m.entry?.egress ?? m.previous?.egress).toBe(false);
      if (m.entry) expect(m.entry.cidr.includes(':')).toBe(m.ruleNumber >= 19);
    }
    const after = converge(bans, entries);
    for (const e of outside) expect(after).toContainEqual(e);
  });

  it('deletes an entry of the other family sitting in the band', () => {
    const p = plan([], [...ALLOW_SIP, deny(2, '2001:db8::5/128')]);
    expect(p.mutations).toEqual([
      expect.objectContaining({ op: 'delete', ruleNumber: 2, removes: 'other-family' }),
    ]);
  });

  it('compares canonical CIDRs: an existing entry of the same ban is kept', () => {
    const bans = [aBan({ cidr: '2001:db8::1/128' })];
    const p = plan(bans, [...ALLOW_SIP, deny(19, '2001:db8::1/128')]);
    expect(p.mutations).toEqual([]);
    expect(p.ipv6.inPlace).toHaveLength(1);
  });

  it('converges to a fixed point from any mix of entries', () => {
    const bans = hostBans(25, { jail: 'sip' });
    const messy = [
      ...ALLOW_SIP,
      deny(1, bans[24]!.cidr),
      deny(2, bans[3]!.cidr),
      deny(3, bans[3]!.cidr),
      deny(4, '192.0.2.1/32'),
      deny(5, bans[0]!.cidr, { protocol: '6', portRange: { from: 1, to: 2 } }),
      allow(6, '192.0.2.0/24'),
    ];
    const after = converge(bans, messy, { sip: true });
    const second = plan(bans, after, { sip: true });
    expect(second.mutations).toEqual([]);
    const keys = after.filter((e) => !e.egress && e.ruleNumber <= 18).map(matchKey);
    expect(new Set(keys).size).toBe(keys.length);
    // 1 foreign allow kept → 17 slots → 8 SIP bans (2 entries each).
    expect(second.ipv4.inPlace).toHaveLength(8);
  });
});
