/**
 * `cloudjail replay` and `cloudjail demo` (npm start) as spawned processes: the whole pipeline on
 * the embedded mode, the `--json` contract, the log's own clock (expiry), NACL capacity, bad input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudjail, lastJson, ROOT, tempDir } from './cli-process.js';

interface ReplayJson {
  readonly banned: string[];
  readonly nacl: { ruleNumber: number; cidr: string; ruleAction: string }[];
  readonly notEnforced: number;
  readonly published: string[];
}

const tmp = tempDir('replay');

/** A FreeSWITCH (>= 1.10.7) auth-failure line at `time` from `ip`, user part chosen by the attacker. */
function fsFailure(time: string, ip: string, user = '100'): string {
  return `2024-11-05 ${time}.000100 98.10% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'external' for [${user}@198.51.100.5] from ip ${ip}`;
}

/** `n` failures of `ip`, one second apart from `hh:mm`. */
function burst(hhmm: string, ip: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => fsFailure(`${hhmm}:${String(10 + i)}`, ip));
}

function writeLog(name: string, lines: string[]): string {
  const path = join(tmp, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const host = (ip: string) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`);

describe('cloudjail replay', () => {
  it('--json: every attacker of the FreeSWITCH sample banned, one deny entry each, in the bands', async () => {
    const r = await cloudjail(['replay', 'samples/freeswitch.log', '--json']);
    expect(r.code).toBe(0);
    const out = lastJson(r) as ReplayJson;
    expect(Object.keys(out)).toEqual(['banned', 'nacl', 'notEnforced', 'published']);
    // The host tier's list (read back from the local S3 API) holds every ban.
    expect(out.published).toEqual(out.banned.map(host).sort());
    // The four attackers of samples/freeswitch.log: idle-CPU format, "Can't find user" with
    // continuation lines, IPv6 INVITE, and pre-1.10.7 ACL rejections.
    expect([...out.banned].sort()).toEqual(
      ['198.51.100.77', '2001:db8:bad:1::66', '203.0.113.45', '203.0.113.88'].sort(),
    );
    // Not banned: the allowlisted trunk (6 failures, and the address injected into user parts)
    // and a phone with 3 failures (maxretry 5).
    expect(out.banned).not.toContain('192.0.2.10');
    expect(out.banned).not.toContain('192.0.2.200');
    // Attacker-controlled text: 203.0.113.45 wrote 198.51.100.99 into five user parts.
    expect(out.banned).not.toContain('198.51.100.99');
    expect(out.nacl.map((e) => e.cidr).sort()).toEqual(out.banned.map(host).sort());
    for (const e of out.nacl) {
      expect(e.ruleAction).toBe('deny');
      const [first, last] = e.cidr.includes(':') ? [19, 36] : [1, 18];
      expect(e.ruleNumber).toBeGreaterThanOrEqual(first);
      expect(e.ruleNumber).toBeLessThanOrEqual(last);
    }
    expect(new Set(out.nacl.map((e) => e.ruleNumber)).size).toBe(out.nacl.length);
    expect(out.notEnforced).toBe(0);
  });

  it("the log's own clock: a ban that expired before the log's end leaves the NACL", async () => {
    const log = writeLog('expiry.log', [
      ...burst('10:00', '203.0.113.61', 3),
      fsFailure('10:03:00', '198.51.100.200', 'x'),
      ...burst('10:20', '203.0.113.62', 3),
    ]);
    const r = await cloudjail([
      'replay',
      log,
      '--filter',
      'freeswitch[mode=normal]',
      '--maxretry',
      '3',
      '--findtime',
      '1m',
      '--bantime',
      '5m',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = lastJson(r) as ReplayJson;
    expect(out.banned).toEqual(['203.0.113.61', '203.0.113.62']);
    // 203.0.113.61 was banned at 10:00:12 for 5 minutes; the log ends at 10:20:12.
    expect(out.nacl).toEqual([{ ruleNumber: 1, cidr: '203.0.113.62/32', ruleAction: 'deny' }]);
    expect(out.notEnforced).toBe(0);
  });

  it('more bans than the band holds: the NACL is full and the rest is reported not enforced', async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'samples/cloudjail.json'), 'utf8'));
    config.targets[0].ipv4Band = [1, 2];
    const configPath = join(tmp, 'small-band.json');
    writeFileSync(configPath, JSON.stringify(config));
    const ips = ['203.0.113.71', '203.0.113.72', '203.0.113.73', '203.0.113.74'];
    const log = writeLog(
      'many.log',
      ips.flatMap((ip, i) => burst(`11:0${i}`, ip, 5)),
    );
    const r = await cloudjail([
      'replay',
      log,
      '--jail',
      'freeswitch',
      '--config',
      configPath,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = lastJson(r) as ReplayJson;
    expect([...out.banned].sort()).toEqual(ips);
    expect(out.nacl).toHaveLength(2);
    expect(out.nacl.every((e) => e.ruleNumber >= 1 && e.ruleNumber <= 2)).toBe(true);
    expect(out.notEnforced).toBe(2);
  });

  it('human output: each ban with its log time, then the NACL table and a summary', async () => {
    const r = await cloudjail(['replay', 'samples/asterisk.log', '--jail', 'asterisk']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[2024-11-05 03:13:12Z\] ban 203\.0\.113\.120 \[asterisk\]/m);
    expect(r.stdout).toContain('network ACL acl-0c10d0a1b2c3d4e5f (inbound):');
    expect(r.stdout).toMatch(/DENY\s+all\s+2001:db8:bad:2::9\/128/);
    expect(r.stdout).toMatch(/5 ban\(s\) of 5 address\(es\); at the end 5 active, 0 not enforced/);
  });

  it('bad input → exit 2 with a clear message', async () => {
    const badConfig = join(tmp, 'bad-config.json');
    writeFileSync(badConfig, JSON.stringify({ jails: [{ name: 'x', findtime: '10x' }] }));
    const cases: [string[], RegExp][] = [
      [['replay', join(tmp, 'missing.log')], /log file not found: .*missing\.log/],
      [
        ['replay', 'samples/freeswitch.log', '--filter', 'freeswitch', '--jail', 'freeswitch'],
        /exclude each other/,
      ],
      [
        ['replay', 'samples/freeswitch.log', '--config', badConfig],
        /jails\[0\]\.findtime: "10x" is not a duration/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => cloudjail(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    });
  });
});

describe('cloudjail demo (npm start)', () => {
  it('is what `npm start` runs', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('node cli/cloudjail.js demo');
  });

  it('replays both sample logs: every attacker banned and denied in the local NACL, exit 0', async () => {
    const r = await cloudjail(['demo']);
    expect(r.code).toBe(0);
    const attackers = [
      ['203.0.113.45', 'freeswitch'],
      ['198.51.100.77', 'freeswitch'],
      ['2001:db8:bad:1::66', 'freeswitch'],
      ['203.0.113.88', 'freeswitch'],
      ['203.0.113.120', 'asterisk'],
      ['198.51.100.140', 'asterisk'],
      ['203.0.113.150', 'asterisk'],
      ['2001:db8:bad:2::9', 'asterisk'],
      ['2001:db8:bad:3::5', 'asterisk'],
    ] as const;
    const bans = [...r.stdout.matchAll(/\] BAN (\S+) \[(\w+)\]/g)].map((m) => [m[1], m[2]]);
    expect(bans.sort()).toEqual(attackers.map((a) => [...a]).sort());
    // The final table (after the last change) holds a deny entry per attacker, above the allow rule.
    const tables = r.stdout.split('network ACL acl-0c10d0a1b2c3d4e5f (inbound):');
    const last = tables[tables.length - 1] ?? '';
    for (const [ip] of attackers)
      expect(last).toMatch(new RegExp(`DENY\\s+all\\s+${ip.replace(/\./g, '\\.')}/`));
    expect(last).toMatch(/100\s+ALLOW\s+all\s+0\.0\.0\.0\/0/);
    expect(r.stdout).not.toMatch(/BAN 192\.0\.2\.10 /);
    // Addresses attackers injected into user parts, display names and Call-IDs (not allowlisted).
    expect(r.stdout).not.toMatch(/BAN 198\.51\.100\.9[89] /);
    expect(r.stdout).toMatch(/9 ban\(s\) of 9 address\(es\); at the end 9 active, 0 not enforced/);
  });

  it('--log FILE --jail J: the same on your own log', async () => {
    const log = writeLog('own.log', burst('12:00', '203.0.113.99', 6));
    const r = await cloudjail(['demo', '--log', log, '--jail', 'freeswitch']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/BAN 203\.0\.113\.99 \[freeswitch\]/);
    expect(r.stdout).toMatch(/1\s+DENY\s+all\s+203\.0\.113\.99\/32/);
  });
});
