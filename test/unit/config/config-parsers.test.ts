import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIgnoreList, parseJails } from '../../../lambda/config/jail-config.js';
import { parseEnforcement, parseTargets } from '../../../lambda/config/target-config.js';
import { SIP_DENY } from '../../../lambda/core/deny-spec.js';
import { formatDuration, PERMANENT, parseDuration } from '../../../lambda/core/policy/duration.js';

describe('parseDuration (fail2ban syntax)', () => {
  it.each([
    ['600', 600_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['3d', 259_200_000],
    ['1w', 604_800_000],
    ['1d12h30m', 131_400_000],
    ['1 h 30 m', 5_400_000],
    ['-1', PERMANENT],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10x', 'm', '1h30', '-5', 'ten minutes'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formatDuration round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), (secs) => {
        return parseDuration(formatDuration(secs * 1000)) === secs * 1000;
      }),
    );
  });
});

describe('parseJails', () => {
  it("applies fail2ban's defaults and runs freeswitch in mode normal", () => {
    const { value, problems } = parseJails([{ name: 'freeswitch', logGroups: ['/sbc/fs'] }]);
    expect(problems).toEqual([]);
    expect(value?.[0]).toMatchObject({
      name: 'freeswitch',
      filter: 'freeswitch[mode=normal]',
      maxretry: 5,
      findtime: 600_000,
      bantime: 600_000,
      deny: { kind: 'all' },
      timezone: 'UTC',
      increment: { enabled: false, factor: 1, overalljails: false },
    });
  });

  it('keeps an explicit mode and reads every option', () => {
    const { value, problems } = parseJails([
      {
        name: 'ast',
        filter: 'asterisk',
        logGroups: ['/sbc/ast'],
        maxretry: 10,
        findtime: '1h',
        bantime: -1,
        ignoreip: ['198.51.100.7', '2001:db8:ca11::/48'],
        deny: 'sip',
        timezone: 'Europe/Zurich',
        'bantime.increment': true,
        'bantime.multipliers': '1 2 4',
        'bantime.maxtime': '1w',
      },
      { name: 'fs', filter: 'freeswitch[mode=extra]' },
    ]);
    expect(problems).toEqual([]);
    expect(value?.[0]).toMatchObject({
      bantime: PERMANENT,
      findtime: 3_600_000,
      ignoreip: ['198.51.100.7/32', '2001:db8:ca11::/48'],
      deny: SIP_DENY,
      increment: { enabled: true, multipliers: [1, 2, 4], maxtime: 604_800_000 },
    });
    expect(value?.[1]?.filter).toBe('freeswitch[mode=extra]');
  });

  it('reports every problem at once, each with its path', () => {
    const { value, problems } = parseJails([
      { name: 'Bad Name', findtime: '10x', maxretry: 0, ignoreip: ['sip.carrier.example'] },
      { name: 'ok', deny: { ports: '5060,70000', protocols: ['sctp'] }, colour: 'red' },
      { name: 'ok' },
    ]);
    expect(value).toBeUndefined();
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^jails\[0\]\.name: /),
        expect.stringMatching(/^jails\[0\]\.findtime: "10x" is not a duration/),
        expect.stringMatching(/^jails\[0\]\.maxretry: /),
        expect.stringMatching(/^jails\[0\]\.ignoreip\[0\]: .*DNS names are not resolved/),
        expect.stringMatching(/^jails\[1\]\.deny\.ports: "70000"/),
        expect.stringMatching(/^jails\[1\]\.deny\.protocols: "sctp"/),
        expect.stringMatching(/^jails\[1\]\.colour: unknown key/),
        expect.stringMatching(/^jails\[2\]\.name: "ok" is already used by jails\[1\]/),
      ]),
    );
  });

  it('merges and sorts port ranges of a custom deny', () => {
    const { value } = parseJails([{ name: 'x', deny: { ports: '5080-5081,5060,5061' } }]);
    expect(value?.[0]?.deny).toEqual({
      kind: 'ports',
      ports: [
        { from: 5060, to: 5061 },
        { from: 5080, to: 5081 },
      ],
      protocols: ['tcp', 'udp'],
    });
  });

  it('parseIgnoreList accepts fail2ban-style strings and canonicalises', () => {
    expect(parseIgnoreList('127.0.0.1/8 ::1, 2001:DB8::1', 'ignoreip').value).toEqual([
      '127.0.0.0/8',
      '::1/128',
      '2001:db8::1/128',
    ]);
  });
});

describe('parseTargets / parseEnforcement', () => {
  it('reads a NACL target with bands and defaults', () => {
    const { value, problems } = parseTargets([
      {
        naclId: 'acl-0123456789abcdef0',
        ipv4Band: [1, 18],
        ipv6Band: [19, 36],
        lowestAllowRule: 100,
      },
    ]);
    expect(problems).toEqual([]);
    expect(value?.[0]).toEqual({
      naclId: 'acl-0123456789abcdef0',
      ipv4Band: { first: 1, last: 18 },
      ipv6Band: { first: 19, last: 36 },
      direction: 'inbound',
      lowestAllowRule: 100,
      adoptForeign: false,
    });
  });

  it('rejects overlapping bands, bands above an allow rule, bad ids and duplicates', () => {
    const { problems } = parseTargets([
      { naclId: 'acl-0123456789abcdef0', ipv4Band: [1, 20], ipv6Band: [10, 30] },
      { naclId: 'acl-12345678', ipv4Band: [1, 18], ipv6Band: [19, 36], lowestAllowRule: 30 },
      { naclId: 'sg-123', ipv4Band: [0, 40000] },
      { naclId: 'acl-12345678' },
    ]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^targets\[0\]: ipv4Band \[1, 20\] and ipv6Band \[10, 30\] overlap/),
        expect.stringMatching(
          /^targets\[1\]\.ipv6Band: \[19, 36\] must end below the lowest allow rule 30/,
        ),
        expect.stringMatching(/^targets\[2\]\.naclId: "sg-123" is not a network ACL id/),
        expect.stringMatching(/^targets\[2\]\.ipv4Band: \[0, 40000\]/),
        expect.stringMatching(/^targets\[3\]\.naclId: acl-12345678 is already targets\[1\]/),
      ]),
    );
  });

  it('enforcement defaults, and every bad setting reported', () => {
    expect(parseEnforcement({}).value).toEqual({
      schedule: 'rate(1 minute)',
      maxMutationsPerRun: 40,
      dryRun: false,
      ruleQuota: 20,
      minBanPrefix: { ipv4: 16, ipv6: 48 },
    });
    const { problems } = parseEnforcement({
      schedule: 'every minute',
      maxMutationsPerRun: 0,
      ruleQuota: 41,
      aggregate: { ipv4Prefix: 33 },
    });
    expect(problems).toHaveLength(4);
  });

  it('enforcement.minBanPrefix: the enforcer floor, and no aggregate broader than it', () => {
    expect(parseEnforcement({ minBanPrefix: { ipv4: 20 } }).value?.minBanPrefix).toEqual({
      ipv4: 20,
      ipv6: 48,
    });
    const { problems } = parseEnforcement({
      minBanPrefix: { ipv4: 33, ipv6: 'x', v4: 1 },
    });
    expect(problems).toEqual([
      'enforcement.minBanPrefix.v4: unknown key',
      'enforcement.minBanPrefix.ipv4: must be within 1-32, got 33',
      'enforcement.minBanPrefix.ipv6: must be within 1-128, got "x"',
    ]);
    expect(parseEnforcement({ aggregate: { ipv4Prefix: 12, ipv6Prefix: 40 } }).problems).toEqual([
      'enforcement.aggregate.ipv4Prefix: /12 is broader than minBanPrefix.ipv4 /16 (the enforcer would refuse the aggregate)',
      'enforcement.aggregate.ipv6Prefix: /40 is broader than minBanPrefix.ipv6 /48 (the enforcer would refuse the aggregate)',
    ]);
  });
});
