/**
 * Screening and aggregation never deny an allowlisted address (issue 12.1/12.2), as properties
 * over random bans, allowlists and aggregation settings (fast-check), plus the rules by example.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultDenyEntries } from '../../../lambda/adapters/memory-network-acls.js';
import type { Ban } from '../../../lambda/core/ban.js';
import { desiredBans } from '../../../lambda/core/enforcement/desired-bans.js';
import { type PlanTarget, planNacl } from '../../../lambda/core/enforcement/plan-nacl.js';
import {
  type AllowlistEntry,
  cidrsOverlap,
  MIN_BAN_PREFIX_DEFAULTS,
  screenBans,
} from '../../../lambda/core/enforcement/screen-bans.js';
import { parseCidr, prefixCidr } from '../../../lambda/core/ip-address.js';
import { aBan, T0 } from './helpers.js';

const TARGET: PlanTarget = {
  naclId: 'acl-0123456789abcdef0',
  ipv4Band: { first: 1, last: 18 },
  ipv6Band: { first: 19, last: 36 },
  adoptForeign: false,
};

/** Addresses in two /24s and two /64s, so that bans, aggregates and allowlists collide. */
const v4Address = fc
  .tuple(fc.constantFrom('192.0.2', '198.51.100'), fc.integer({ min: 0, max: 255 }))
  .map(([net, host]) => `${net}.${host}`);
const v6Address = fc
  .tuple(fc.constantFrom('2001:db8:1::', '2001:db8:2::'), fc.integer({ min: 0, max: 0xffff }))
  .map(([net, host]) => `${net}${host.toString(16)}`);
const cidrArb = fc.oneof(
  fc
    .tuple(v4Address, fc.constantFrom(32, 32, 32, 30, 28, 24, 16, 8, 0))
    .map(([a, p]) => prefixCidr(a, p)?.text ?? ''),
  fc
    .tuple(v6Address, fc.constantFrom(128, 128, 120, 64, 48, 32, 0))
    .map(([a, p]) => prefixCidr(a, p)?.text ?? ''),
);

const banArb: fc.Arbitrary<Ban> = fc
  .record({ cidr: cidrArb, jail: fc.constantFrom('sip', 'other', 'manual') })
  .map((b) =>
    aBan({
      cidr: b.cidr,
      jail: b.jail,
      source: b.jail === 'manual' ? 'manual' : 'detector',
    }),
  );

const allowArb: fc.Arbitrary<AllowlistEntry> = fc
  .record({ cidr: cidrArb, jail: fc.option(fc.constantFrom('sip', 'other'), { nil: undefined }) })
  .map((e) =>
    e.jail === undefined
      ? { cidr: e.cidr, source: 'ignoreip' as const }
      : { cidr: e.cidr, source: 'runtime' as const, jail: e.jail },
  );

const aggregateArb = fc.option(
  fc.record({
    ipv4Prefix: fc.constantFrom(16, 24, 28),
    ipv6Prefix: fc.constantFrom(48, 64, 120),
    minBans: fc.integer({ min: 2, max: 4 }),
  }),
  { nil: undefined },
);

// `sip` is a configured jail; `other` (not configured) and `manual` belong to no jail.
const deniesAll = (b: Ban) => b.jail !== 'sip';

describe('screening + aggregation + planning (properties)', () => {
  it('no planned NACL entry overlaps an allowlist entry that applies to it', () => {
    fc.assert(
      fc.property(
        fc.array(banArb, { maxLength: 40 }),
        fc.array(allowArb, { maxLength: 6 }),
        aggregateArb,
        (bans, allowlist, aggregate) => {
          const { admitted } = screenBans(bans, allowlist, MIN_BAN_PREFIX_DEFAULTS, T0, deniesAll);
          const { desired } = desiredBans(
            admitted,
            (jail) => (jail === 'sip' ? undefined : { kind: 'all' }),
            T0,
            aggregate,
            allowlist.map((e) => e.cidr),
          );
          const plan = planNacl({
            target: TARGET,
            entries: defaultDenyEntries(),
            ruleQuota: 40,
            desired,
          });
          for (const m of plan.mutations) {
            if (!m.entry) continue;
            const entry = parseCidr(m.entry.cidr);
            expect(entry).toBeDefined();
            for (const a of allowlist) {
              const allowed = parseCidr(a.cidr);
              if (!allowed || !entry) continue;
              // Global entries apply to every entry; a jail-scoped one at least to the bans of
              // that jail behind the entry (and to all-traffic ones).
              const applies =
                a.jail === undefined ||
                (m.ban?.bans ?? []).some((b) => b.jail === a.jail || deniesAll(b));
              if (applies) expect(cidrsOverlap(entry, allowed)).toBe(false);
              // An aggregate never overlaps ANY allowlist entry.
              if (m.ban?.aggregated) expect(cidrsOverlap(entry, allowed)).toBe(false);
            }
            const min = entry?.family === 4 ? 16 : 48;
            expect(entry?.prefix).toBeGreaterThanOrEqual(min);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('every active, parsable ban is either admitted or refused with a reason, never both', () => {
    fc.assert(
      fc.property(
        fc.array(banArb, { maxLength: 30 }),
        fc.array(allowArb, { maxLength: 5 }),
        (bans, allowlist) => {
          const { admitted, refused } = screenBans(
            bans,
            allowlist,
            MIN_BAN_PREFIX_DEFAULTS,
            T0,
            deniesAll,
          );
          expect(admitted.length + refused.length).toBe(bans.length);
          for (const r of refused) {
            if (r.reason === 'allowlisted') expect(r.allowlist?.length).toBeGreaterThan(0);
            else expect(r.minPrefix).toBeDefined();
          }
        },
      ),
    );
  });
});

describe('screenBans (examples)', () => {
  const screen = (bans: Ban[], allowlist: AllowlistEntry[]) =>
    screenBans(bans, allowlist, MIN_BAN_PREFIX_DEFAULTS, T0, deniesAll);

  it('refuses a ban covering, or inside, an allowlisted range; broader than /16 or /48', () => {
    const allow: AllowlistEntry[] = [{ cidr: '192.0.2.0/28', source: 'ignoreip' }];
    const { admitted, refused } = screen(
      [
        aBan({ cidr: '0.0.0.0/0' }),
        aBan({ cidr: '192.0.2.5/32' }),
        aBan({ cidr: '192.0.2.0/24' }),
        aBan({ cidr: '192.0.2.16/32' }),
        aBan({ cidr: '10.0.0.0/15' }),
        aBan({ cidr: '2001:db8::/47' }),
        aBan({ cidr: '2001:db8::/48' }),
      ],
      allow,
    );
    expect(admitted.map((b) => b.cidr)).toEqual(['192.0.2.16/32', '2001:db8::/48']);
    expect(refused.map((r) => [r.ban.cidr, r.reason])).toEqual([
      ['0.0.0.0/0', 'allowlisted'],
      ['192.0.2.5/32', 'allowlisted'],
      ['192.0.2.0/24', 'allowlisted'],
      ['10.0.0.0/15', 'too-broad'],
      ['2001:db8::/47', 'too-broad'],
    ]);
  });

  it('a jail-scoped entry applies to its jail and to bans of no configured jail, not to a ban of another jail', () => {
    const allow: AllowlistEntry[] = [{ cidr: '203.0.113.9/32', source: 'runtime', jail: 'other' }];
    const { admitted, refused } = screen(
      [
        aBan({ cidr: '203.0.113.9/32', jail: 'sip' }),
        aBan({ cidr: '203.0.113.9/32', jail: 'other' }),
        aBan({ cidr: '203.0.113.9/32', jail: 'manual', source: 'manual' }),
      ],
      allow,
    );
    expect(admitted.map((b) => b.jail)).toEqual(['sip']);
    expect(refused.map((r) => r.ban.jail)).toEqual(['other', 'manual']);
  });

  it('expired and unparsable records pass through (desiredBans ignores or reports them)', () => {
    const { admitted, refused } = screen(
      [aBan({ cidr: '0.0.0.0/0', expiresAt: T0 - 1 }), aBan({ cidr: 'not-a-cidr' })],
      [{ cidr: '0.0.0.0/0', source: 'ignoreip' }],
    );
    expect(admitted).toHaveLength(2);
    expect(refused).toHaveLength(0);
  });
});
