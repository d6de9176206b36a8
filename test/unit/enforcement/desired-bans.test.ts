import { describe, expect, it } from 'vitest';
import { DENY_ALL, type DenySpec, SIP_DENY } from '../../../lambda/core/deny-spec.js';
import { desiredBans, mergeDenySpecs } from '../../../lambda/core/enforcement/desired-bans.js';
import { aBan, MINUTE, T0 } from './helpers.js';

const sipJails = (jail: string): DenySpec | undefined => (jail === 'sip' ? SIP_DENY : undefined);

describe('desiredBans', () => {
  it('keeps only active bans (expiresAt > now, or permanent)', () => {
    const { desired, activeBans } = desiredBans(
      [
        aBan({ cidr: '203.0.113.1/32', expiresAt: T0 + MINUTE }),
        aBan({ cidr: '203.0.113.2/32', expiresAt: T0 }),
        aBan({ cidr: '203.0.113.3/32', expiresAt: T0 - 1 }),
        aBan({ cidr: '203.0.113.4/32', expiresAt: null }),
      ],
      sipJails,
      T0,
    );
    expect(activeBans.map((b) => b.cidr).sort()).toEqual(['203.0.113.1/32', '203.0.113.4/32']);
    expect(desired.map((d) => d.cidr).sort()).toEqual(['203.0.113.1/32', '203.0.113.4/32']);
  });

  it('expands a SIP jail ban into one entry per protocol', () => {
    const { desired } = desiredBans([aBan({ cidr: '203.0.113.1/32' })], sipJails, T0);
    expect(desired[0]?.entries).toEqual([
      { protocol: '6', portRange: { from: 5060, to: 5061 } },
      { protocol: '17', portRange: { from: 5060, to: 5061 } },
    ]);
  });

  it('denies all traffic for manual bans and bans of jails no longer configured', () => {
    const { desired } = desiredBans(
      [
        aBan({ cidr: '203.0.113.1/32', jail: 'manual', source: 'manual' }),
        aBan({ cidr: '203.0.113.2/32', jail: 'removed-jail' }),
      ],
      (jail) => (jail === 'manual' ? SIP_DENY : sipJails(jail)),
      T0,
    );
    const byCidr = new Map(desired.map((d) => [d.cidr, d.entries]));
    expect(byCidr.get('203.0.113.1/32')).toEqual([{ protocol: '-1' }]);
    expect(byCidr.get('203.0.113.2/32')).toEqual([{ protocol: '-1' }]);
  });

  it('merges bans of one CIDR in several jails: any "all" wins', () => {
    const { desired } = desiredBans(
      [aBan({ cidr: '203.0.113.1/32', jail: 'sip' }), aBan({ cidr: '203.0.113.1/32', jail: 'x' })],
      (jail) => (jail === 'sip' ? SIP_DENY : DENY_ALL),
      T0,
    );
    expect(desired).toHaveLength(1);
    expect(desired[0]?.entries).toEqual([{ protocol: '-1' }]);
    expect(desired[0]?.bans).toHaveLength(2);
  });

  it('unions port specs of several jails per protocol', () => {
    const entries = mergeDenySpecs([
      SIP_DENY,
      { kind: 'ports', ports: [{ from: 5062, to: 5070 }], protocols: ['udp'] },
      { kind: 'ports', ports: [{ from: 5080, to: 5081 }], protocols: ['udp'] },
    ]);
    expect(entries).toEqual([
      { protocol: '6', portRange: { from: 5060, to: 5061 } },
      { protocol: '17', portRange: { from: 5060, to: 5070 } },
      { protocol: '17', portRange: { from: 5080, to: 5081 } },
    ]);
  });

  it('ranks permanent and manual bans first, then most failures, then most recent', () => {
    const { desired } = desiredBans(
      [
        aBan({ cidr: '203.0.113.1/32', failures: 50 }),
        aBan({ cidr: '203.0.113.2/32', failures: 0, source: 'manual', jail: 'manual' }),
        aBan({ cidr: '203.0.113.3/32', failures: 3, expiresAt: null }),
        aBan({ cidr: '203.0.113.4/32', failures: 50, createdAt: T0 + 1 }),
        aBan({ cidr: '203.0.113.5/32', failures: 10 }),
      ],
      sipJails,
      T0 + 2,
    );
    expect(desired.map((d) => d.cidr)).toEqual([
      '203.0.113.3/32',
      '203.0.113.2/32',
      '203.0.113.4/32',
      '203.0.113.1/32',
      '203.0.113.5/32',
    ]);
  });

  it('skips records whose CIDR is not canonical instead of guessing', () => {
    const { desired, invalid } = desiredBans(
      [
        aBan({ cidr: '203.0.113.7/24' }),
        aBan({ cidr: 'not-an-ip' }),
        aBan({ cidr: '203.0.113.8/32' }),
      ],
      sipJails,
      T0,
    );
    expect(desired.map((d) => d.cidr)).toEqual(['203.0.113.8/32']);
    expect(invalid.map((b) => b.cidr)).toEqual(['203.0.113.7/24', 'not-an-ip']);
  });

  it('aggregates into the prefix only when at least minBans share it', () => {
    const bans = [
      aBan({ cidr: '203.0.113.1/32', failures: 5 }),
      aBan({ cidr: '203.0.113.2/32', failures: 9 }),
      aBan({ cidr: '203.0.113.3/32', failures: 7 }),
      aBan({ cidr: '198.51.100.1/32' }),
      aBan({ cidr: '198.51.100.2/32' }),
      aBan({ cidr: '2001:db8::1/128' }),
      aBan({ cidr: '2001:db8::2/128' }),
      aBan({ cidr: '2001:db8::3/128' }),
    ];
    const { desired } = desiredBans(bans, sipJails, T0, {
      ipv4Prefix: 24,
      ipv6Prefix: 64,
      minBans: 3,
    });
    const cidrs = desired.map((d) => d.cidr).sort();
    expect(cidrs).toEqual([
      '198.51.100.1/32',
      '198.51.100.2/32',
      '2001:db8::/64',
      '203.0.113.0/24',
    ]);
    const agg = desired.find((d) => d.cidr === '203.0.113.0/24');
    expect(agg?.aggregated).toBe(true);
    expect(agg?.bans).toHaveLength(3);
    expect(agg?.priority.failures).toBe(9);
  });

  it('does not aggregate when aggregation is off (the default)', () => {
    const bans = [1, 2, 3, 4].map((i) => aBan({ cidr: `203.0.113.${i}/32` }));
    expect(desiredBans(bans, sipJails, T0).desired).toHaveLength(4);
  });
});
