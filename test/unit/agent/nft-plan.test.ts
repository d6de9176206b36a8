import { describe, expect, it } from 'vitest';
import { nftDuration, planNft, uninstallScript } from '../../../agent/nft-plan.js';
import { DENY_ALL } from '../../../lambda/core/deny-spec.js';
import { banList, NOW } from './fixtures.js';

describe('planNft', () => {
  it('replaces table inet cloudjail in one transaction and names no other table', () => {
    const { script } = planNft(banList(), NOW);
    const lines = script.split('\n');
    expect(lines.slice(1, 4)).toEqual([
      'add table inet cloudjail',
      'delete table inet cloudjail',
      'table inet cloudjail {',
    ]);
    expect(
      script.match(/\btable\b [a-z0-9]+ [a-z0-9_]+/g)?.every((t) => t.endsWith('inet cloudjail')),
    ).toBe(true);
    expect(script).toContain('type filter hook input priority filter - 10; policy accept;');
    expect(script).not.toContain('hook forward');
    expect(planNft(banList(), NOW, { forward: true }).script).toContain('hook forward');
  });

  it('gives each element its remaining time and permanent bans none; hosts in hash sets', () => {
    const plan = planNft(banList(), NOW);
    expect(plan.sets.find((s) => s.name === 'g0_v4')?.elements).toEqual([
      '198.51.100.0/24 timeout 1m',
    ]);
    expect(plan.sets.find((s) => s.name === 'g0_v4h')?.elements).toEqual(['203.0.113.7']);
    expect(plan.sets.find((s) => s.name === 'g0_v6h')?.elements).toEqual([
      '2001:db8:1::2 timeout 1h',
    ]);
    expect(plan.script).toMatch(/set g0_v4 \{\n\s+type ipv4_addr\n\s+flags interval, timeout\n/);
    expect(plan.script).toMatch(/set g0_v4h \{\n\s+type ipv4_addr\n\s+flags timeout\n/);
    expect(plan.banElements).toEqual({ v4: 2, v6: 1 });
  });

  it('keeps one host element per address, with its latest expiry', () => {
    const list = banList({}, [
      {
        jails: ['a'],
        deny: DENY_ALL,
        verdict: 'drop',
        bans: [
          ['203.0.113.9/32', NOW + 1000],
          ['203.0.113.9/32', NOW + 5000],
          ['203.0.113.0/24', NOW + 2000],
        ],
      },
    ]);
    const plan = planNft(list, NOW);
    expect(plan.sets.find((s) => s.name === 'g0_v4h')?.elements).toEqual([
      '203.0.113.9 timeout 5s',
    ]);
    expect(plan.sets.find((s) => s.name === 'g0_v4')?.elements).toEqual([
      '203.0.113.0/24 timeout 2s',
    ]);
  });

  it('evaluates the allowlist before any ban rule', () => {
    const { rules } = planNft(banList(), NOW);
    expect(rules[0]).toBe('ip saddr @allow_v4 accept');
    expect(rules.slice(1)).toEqual([
      'ip saddr @g0_v4h meta l4proto { tcp, udp } th dport 5060-5061 counter drop',
      'ip saddr @g0_v4 meta l4proto { tcp, udp } th dport 5060-5061 counter drop',
      'ip6 saddr @g0_v6h meta l4proto { tcp, udp } th dport 5060-5061 counter drop',
    ]);
  });

  it('excludes a jail-specific allowlist entry from that jail group only', () => {
    const list = banList({
      allowlist: [{ cidr: '198.51.100.8/29', jails: ['freeswitch'] }],
    });
    const plan = planNft(list, NOW);
    expect(plan.sets.find((s) => s.name === 'g0_allow_v4')?.elements).toEqual(['198.51.100.8/29']);
    expect(plan.rules[1]).toBe(
      'ip saddr @g0_v4 ip saddr != @g0_allow_v4 meta l4proto { tcp, udp } th dport 5060-5061 counter drop',
    );
  });

  it('rejects with TCP reset and ICMP port-unreachable when the verdict is reject', () => {
    const list = banList({}, [
      { jails: ['a'], deny: DENY_ALL, verdict: 'reject', bans: [['203.0.113.0/24', null]] },
      {
        jails: ['b'],
        deny: {
          kind: 'ports',
          ports: [
            { from: 5060, to: 5060 },
            { from: 5080, to: 5081 },
          ],
          protocols: ['udp', 'tcp'],
        },
        verdict: 'reject',
        bans: [['192.0.2.5/32', null]],
      },
    ]);
    expect(planNft(list, NOW).rules.slice(1)).toEqual([
      'ip saddr @g0_v4 meta l4proto tcp counter reject with tcp reset',
      'ip saddr @g0_v4 counter reject with icmpx type port-unreachable',
      'ip saddr @g1_v4h tcp dport { 5060, 5080-5081 } counter reject with tcp reset',
      'ip saddr @g1_v4h udp dport { 5060, 5080-5081 } counter reject with icmpx type port-unreachable',
    ]);
  });

  it('leaves out bans already expired and counts them', () => {
    const list = banList({}, [
      {
        jails: ['a'],
        deny: DENY_ALL,
        verdict: 'drop',
        bans: [
          ['203.0.113.1/32', NOW - 1],
          ['203.0.113.2/32', NOW + 1500],
        ],
      },
    ]);
    const plan = planNft(list, NOW);
    expect(plan.expired).toBe(1);
    expect(plan.sets.find((s) => s.name === 'g0_v4h')?.elements).toEqual([
      '203.0.113.2 timeout 1s500ms',
    ]);
  });
});

describe('nftDuration', () => {
  it('writes days to milliseconds (nft refuses large plain ms values)', () => {
    expect(nftDuration(365 * 86_400_000)).toBe('365d');
    expect(nftDuration(93_784_500)).toBe('1d2h3m4s500ms');
    expect(nftDuration(0)).toBe('1ms');
  });
});

it('uninstallScript deletes our table only', () => {
  expect(uninstallScript()).toBe('add table inet cloudjail\ndelete table inet cloudjail\n');
});
