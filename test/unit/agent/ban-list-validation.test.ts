import { describe, expect, it } from 'vitest';
import { BanListError, parseBanList, validateBanList } from '../../../agent/ban-list-validation.js';
import { banList } from './fixtures.js';

function withChange(change: (doc: Record<string, unknown>) => void): unknown {
  const doc = JSON.parse(JSON.stringify(banList())) as Record<string, unknown>;
  change(doc);
  return doc;
}

describe('validateBanList', () => {
  it('accepts a well-formed list and returns it typed', () => {
    const list = validateBanList(JSON.parse(JSON.stringify(banList())));
    expect(list.serial).toBe(7);
    expect(list.groups[0]?.bans).toHaveLength(3);
  });

  it.each([
    [
      'schema',
      (d: Record<string, unknown>) => (d.schema = 'other'),
      /schema: expected "cloudjail.ban-list"/,
    ],
    [
      'newer schemaVersion',
      (d: Record<string, unknown>) => (d.schemaVersion = 2),
      /schemaVersion: unsupported version 2 \(this agent reads 1: upgrade the agent\)/,
    ],
    [
      'serial',
      (d: Record<string, unknown>) => (d.serial = -1),
      /serial: expected a non-negative integer/,
    ],
    [
      'non-canonical CIDR',
      (d: Record<string, unknown>) =>
        ((d.groups as { bans: unknown[] }[])[0]!.bans[0] = ['198.51.100.1/24', null]),
      /groups\[0\]\.bans\[0\]\[0\]: "198.51.100.1\/24" is not in canonical form \(expected 198.51.100.0\/24\)/,
    ],
    [
      'bare address',
      (d: Record<string, unknown>) =>
        ((d.groups as { bans: unknown[] }[])[0]!.bans[1] = ['203.0.113.7', null]),
      /groups\[0\]\.bans\[1\]\[0\]: "203.0.113.7" is not a CIDR/,
    ],
    [
      'expiry type',
      (d: Record<string, unknown>) =>
        ((d.groups as { bans: unknown[] }[])[0]!.bans[1] = ['203.0.113.7/32', 'soon']),
      /groups\[0\]\.bans\[1\]\[1\]: expected a non-negative integer, got "soon"/,
    ],
    [
      'verdict',
      (d: Record<string, unknown>) => ((d.groups as { verdict: unknown }[])[0]!.verdict = 'accept'),
      /groups\[0\]\.verdict: expected "drop" or "reject"/,
    ],
    [
      'port range',
      (d: Record<string, unknown>) =>
        ((d.groups as { deny: unknown }[])[0]!.deny = {
          kind: 'ports',
          ports: [{ from: 0, to: 5060 }],
          protocols: ['udp'],
        }),
      /groups\[0\]\.deny\.ports\[0\]\.from: expected a port 1-65535, got 0/,
    ],
    [
      'allowlist entry',
      (d: Record<string, unknown>) => (d.allowlist = [{ cidr: 'example.com', jails: null }]),
      /allowlist\[0\]\.cidr: "example.com" is not a CIDR/,
    ],
  ])('refuses a bad %s and names the field', (_name, change, message) => {
    expect(() => validateBanList(withChange(change))).toThrow(message);
    expect(() => validateBanList(withChange(change))).toThrow(BanListError);
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseBanList('{"schema": ')).toThrow(/ban list: not valid JSON/);
  });
});

describe('canonicalCidr (IPv6 host fast path agrees with ipaddr.js)', () => {
  it('accepts exactly the canonical texts parseCidr produces', async () => {
    const fc = (await import('fast-check')).default;
    const { canonicalCidr } = await import('../../../agent/ban-list-validation.js');
    const { parseCidr } = await import('../../../lambda/core/ip-address.js');
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (groups, pad) => {
        const full = groups
          .map((g) => (pad ? g.toString(16).padStart(4, '0') : g.toString(16)))
          .join(':');
        const canonical = parseCidr(`${full}/128`)!.text;
        expect(canonicalCidr(canonical, 'x')).toBe(canonical);
        if (full !== canonical.slice(0, -4))
          expect(() => canonicalCidr(`${full}/128`, 'x')).toThrow(/canonical form/);
      }),
      { numRuns: 2000 },
    );
    for (const bad of [
      '2001:db8::1::2/128',
      '2001:DB8::1/128',
      '2001:db8:0:0:0:0:0:1/128',
      '12345::/128',
      '::ffff:c000:201/128',
    ])
      expect(() => canonicalCidr(bad, 'x')).toThrow(BanListError);
  });
});
