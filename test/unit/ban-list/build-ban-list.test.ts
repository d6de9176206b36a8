import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ban } from '../../../lambda/core/ban.js';
import {
  type BanListInput,
  banListDocument,
  banListJson,
  buildBanList,
  contentHash,
  nextSerial,
} from '../../../lambda/core/ban-list/build-ban-list.js';
import { BAN_LIST_SCHEMA } from '../../../lambda/core/ban-list/schema.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';
import { cidrCovers, parseCidr } from '../../../lambda/core/ip-address.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;

function ban(cidr: string, extra: Partial<Ban> = {}): Ban {
  return {
    jail: 'fs',
    cidr,
    createdAt: T0 - 1000,
    expiresAt: T0 + HOUR,
    source: 'detector',
    failures: 5,
    banCount: 1,
    ...extra,
  };
}

const JAILS = [
  { name: 'fs', deny: SIP_DENY },
  {
    name: 'ast',
    deny: { ...SIP_DENY, protocols: ['udp', 'tcp'] as const },
    blocktype: 'drop' as const,
  },
  {
    name: 'web',
    deny: { kind: 'all' as const },
    blocktype: 'reject' as const,
    ignoreip: ['192.0.2.0/28'],
  },
];

function input(bans: readonly Ban[], extra: Partial<BanListInput> = {}): BanListInput {
  return { bans, jails: JAILS, ignoreip: [], runtimeIgnores: [], now: T0, ...extra };
}

describe('buildBanList', () => {
  it('groups bans by deny spec and verdict; same spec in any protocol order is one group', () => {
    const built = buildBanList(
      input([
        ban('203.0.113.7/32'),
        ban('203.0.113.8/32', { jail: 'ast' }),
        ban('198.51.100.0/24', { jail: 'web' }),
        ban('2001:db8::7/128', { jail: 'manual', source: 'manual', expiresAt: null }),
      ]),
    );
    expect(built.content.groups).toEqual([
      {
        jails: ['manual'],
        deny: { kind: 'all' },
        verdict: 'drop',
        bans: [['2001:db8::7/128', null]],
      },
      {
        jails: ['ast', 'fs'],
        deny: { kind: 'ports', ports: [{ from: 5060, to: 5061 }], protocols: ['tcp', 'udp'] },
        verdict: 'drop',
        bans: [
          ['203.0.113.7/32', T0 + HOUR],
          ['203.0.113.8/32', T0 + HOUR],
        ],
      },
      {
        jails: ['web'],
        deny: { kind: 'all' },
        verdict: 'reject',
        bans: [['198.51.100.0/24', T0 + HOUR]],
      },
    ]);
    expect(built.entries).toBe(4);
    expect(built.listedBans).toHaveLength(4);
  });

  it('lists a CIDR once per group, with the latest expiry (permanent wins)', () => {
    const built = buildBanList(
      input([
        ban('203.0.113.7/32', { jail: 'fs', expiresAt: T0 + HOUR }),
        ban('203.0.113.7/32', { jail: 'ast', expiresAt: T0 + 2 * HOUR }),
        ban('203.0.113.9/32', { jail: 'fs', expiresAt: T0 + HOUR }),
        ban('203.0.113.9/32', { jail: 'ast', expiresAt: null }),
      ]),
    );
    expect(built.content.groups[0]?.bans).toEqual([
      ['203.0.113.7/32', T0 + 2 * HOUR],
      ['203.0.113.9/32', null],
    ]);
    expect(built.listedBans).toHaveLength(4);
  });

  it('leaves out expired bans (expiresAt <= now)', () => {
    const built = buildBanList(
      input([
        ban('203.0.113.7/32', { expiresAt: T0 }),
        ban('203.0.113.8/32', { expiresAt: T0 + 1 }),
      ]),
    );
    expect(built.content.groups[0]?.bans).toEqual([['203.0.113.8/32', T0 + 1]]);
  });

  it('an unknown jail denies everything, dropped', () => {
    const built = buildBanList(input([ban('203.0.113.7/32', { jail: 'gone' })]));
    expect(built.content.groups[0]).toMatchObject({
      jails: ['gone'],
      deny: { kind: 'all' },
      verdict: 'drop',
    });
  });

  it('the allowlist holds the global, per-jail and runtime entries, merged and sorted', () => {
    const built = buildBanList(
      input([], {
        ignoreip: ['198.51.100.0/24'],
        runtimeIgnores: [
          { cidr: '192.0.2.0/28', jail: 'fs' },
          { cidr: '2001:db8:ca11::/48' },
          { cidr: '198.51.100.0/24', jail: 'fs' },
        ],
      }),
    );
    expect(built.content.allowlist).toEqual([
      { cidr: '192.0.2.0/28', jails: ['fs', 'web'] },
      { cidr: '198.51.100.0/24', jails: null },
      { cidr: '2001:db8:ca11::/48', jails: null },
    ]);
    expect(built.content.groups).toEqual([]);
  });

  it('refuses a ban overlapping an allowlist entry of its jail (either direction), not of another jail', () => {
    const built = buildBanList(
      input(
        [
          ban('192.0.2.5/32', { jail: 'web' }), // inside web's ignoreip
          ban('192.0.2.6/32', { jail: 'fs' }), // web's ignoreip does not apply to fs
          ban('198.51.0.0/16', { jail: 'manual', source: 'manual' }), // covers a global entry
          ban('2001:db8:ca11:1::/64', { jail: 'fs' }), // inside a runtime entry
        ],
        { ignoreip: ['198.51.100.7/32'], runtimeIgnores: [{ cidr: '2001:db8:ca11::/48' }] },
      ),
    );
    expect(built.refused.map((b) => b.cidr).sort()).toEqual(
      ['192.0.2.5/32', '198.51.0.0/16', '2001:db8:ca11:1::/64'].sort(),
    );
    expect(built.content.groups.flatMap((g) => g.bans.map(([c]) => c))).toEqual(['192.0.2.6/32']);
  });

  it('the hash depends on the content only: order of input, serial and time do not change it', () => {
    const bans = [
      ban('203.0.113.7/32'),
      ban('203.0.113.8/32', { jail: 'ast' }),
      ban('198.51.100.0/24', { jail: 'web' }),
    ];
    const a = buildBanList(input(bans));
    const b = buildBanList(input([...bans].reverse(), { now: T0 + 1000 }));
    expect(b.contentHash).toBe(a.contentHash);
    expect(banListDocument(b.content, 7, T0 + 1000)).toMatchObject({
      schema: BAN_LIST_SCHEMA,
      schemaVersion: 1,
      serial: 7,
    });
    const c = buildBanList(input([...bans, ban('203.0.113.9/32')]));
    expect(c.contentHash).not.toBe(a.contentHash);
    const d = buildBanList(input(bans, { ignoreip: ['192.0.2.200/32'] }));
    expect(d.contentHash).not.toBe(a.contentHash);
  });

  it("banListJson is the document's JSON, made from the hashed content JSON", () => {
    const built = buildBanList(
      input([ban('203.0.113.7/32'), ban('198.51.100.0/24', { jail: 'web' })], {
        ignoreip: ['192.0.2.9/32'],
      }),
    );
    expect(banListJson(built.contentJson, 42, T0)).toBe(
      JSON.stringify(banListDocument(built.content, 42, T0)),
    );
    expect(built.contentHash).toBe(contentHash(built.content));
  });

  it('nextSerial only grows: the time in ms, or previous + 1', () => {
    expect(nextSerial(undefined, T0)).toBe(T0);
    expect(nextSerial(T0 - 5, T0)).toBe(T0);
    expect(nextSerial(T0, T0)).toBe(T0 + 1);
    expect(nextSerial(T0 + 10, T0)).toBe(T0 + 11);
  });
});

describe('buildBanList properties', () => {
  const ipv4 = fc
    .tuple(
      fc.constantFrom(198, 203),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(24, 32),
    )
    .map(([a, b, c, p]) => (p === 24 ? `${a}.51.${b}.0/24` : `${a}.51.${b}.${c}/32`));
  const ipv6 = fc.integer({ min: 0, max: 0xff }).map((n) => `2001:db8::${n.toString(16)}/128`);
  const aBan = fc.record({
    cidr: fc.oneof(ipv4, ipv6),
    jail: fc.constantFrom('fs', 'ast', 'web', 'manual', 'gone'),
    expiresAt: fc.oneof(fc.constant(null), fc.integer({ min: T0 - HOUR, max: T0 + HOUR })),
  });
  const allow = fc.array(fc.oneof(ipv4, ipv6), { maxLength: 4 });

  it('every admitted active ban appears exactly once in the group of its deny spec', () => {
    fc.assert(
      fc.property(fc.array(aBan, { maxLength: 60 }), (raw) => {
        const bans = raw.map((r) => ban(r.cidr, { jail: r.jail, expiresAt: r.expiresAt }));
        const built = buildBanList(input(bans));
        const specOf = (jail: string) => JAILS.find((j) => j.name === jail);
        const groupOf = (b: Ban) => {
          const jail = specOf(b.jail);
          const verdict = jail?.blocktype ?? 'drop';
          const deny = jail ? (jail.deny.kind === 'all' ? 'all' : 'sip') : 'all';
          const matching = built.content.groups.filter(
            (g) => g.verdict === verdict && (g.deny.kind === 'all' ? 'all' : 'sip') === deny,
          );
          expect(matching.length).toBeLessThanOrEqual(1);
          return matching[0];
        };
        const active = bans.filter((b) => b.expiresAt === null || b.expiresAt > T0);
        for (const b of active) {
          const group = groupOf(b);
          expect(group?.bans.filter(([c]) => c === b.cidr)).toHaveLength(1);
          expect(group?.jails).toContain(b.jail);
        }
        // Nothing else: every listed pair is backed by an active ban of that group.
        for (const g of built.content.groups) {
          for (const [cidr] of g.bans) {
            expect(active.some((b) => b.cidr === cidr && groupOf(b) === g)).toBe(true);
          }
        }
        for (const g of built.content.groups) {
          expect(new Set(g.bans.map(([c]) => c)).size).toBe(g.bans.length);
        }
      }),
    );
  });

  it('given screened input, no published CIDR overlaps an allowlisted one; unscreened, none is listed either', () => {
    fc.assert(
      fc.property(fc.array(aBan, { maxLength: 40 }), allow, (raw, allowlist) => {
        const allowCidrs = allowlist.map((c) => parseCidr(c)!);
        const overlapping = (cidr: string) => {
          const c = parseCidr(cidr)!;
          return allowCidrs.some((a) => cidrCovers(a, c) || cidrCovers(c, a));
        };
        const bans = raw.map((r) => ban(r.cidr, { jail: r.jail, expiresAt: r.expiresAt }));
        const screened = bans.filter((b) => !overlapping(b.cidr));
        for (const set of [screened, bans]) {
          const built = buildBanList(input(set, { ignoreip: allowlist }));
          const published = built.content.groups.flatMap((g) => g.bans.map(([c]) => c));
          for (const cidr of published) expect(overlapping(cidr), cidr).toBe(false);
          if (set === screened) expect(built.refused).toEqual([]);
        }
      }),
    );
  });
});
