/**
 * The operator commands against the embedded mode, as users run them: a `cloudjail local` server
 * (dynalite + local EC2 endpoint with the sample NACL) and `status`, `ban`, `unban`, `ignore` as
 * separate spawned processes with `--local`. Checks stdout, stderr, exit codes and the NACL state
 * the enforcer leaves behind.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  cloudjail,
  type LocalServer,
  lastJson,
  startLocalServer,
  tempDir,
} from './cli-process.js';

interface Entry {
  readonly ruleNumber: number;
  readonly cidr: string;
}
interface Report {
  readonly nacls: readonly { readonly naclId: string; readonly entries: readonly Entry[] }[];
}

const HOUR = 3_600_000;
let server: LocalServer;
const run = (...args: string[]) => cloudjail([...args, ...server.args]);
const entriesOf = (r: CliResult) =>
  ((lastJson(r) as { enforcement: Report }).enforcement.nacls[0]?.entries ?? []).map((e) => e.cidr);

beforeAll(async () => {
  server = await startLocalServer();
});

afterAll(async () => {
  const code = await server?.stop();
  expect(code).toBe(0);
  expect(existsSync(server.state)).toBe(false);
});

describe('cloudjail --local (against a `cloudjail local` server)', () => {
  it('status: the configured jails, no bans, the sample NACL capacity', async () => {
    const [json, human] = await Promise.all([run('status', '--json'), run('status')]);
    expect(json.code).toBe(0);
    const status = lastJson(json) as {
      jails: { jail: string; currentlyBanned: number }[];
      activeBans: number;
      enforcement: { nacls: { naclId: string; ipv4: { capacity: number } }[]; notEnforced: number };
    };
    expect(status.jails.map((j) => j.jail)).toEqual(['freeswitch', 'asterisk', 'manual']);
    expect(status.activeBans).toBe(0);
    expect(status.enforcement.notEnforced).toBe(0);
    expect(status.enforcement.nacls).toHaveLength(1);
    expect(status.enforcement.nacls[0]?.ipv4.capacity).toBe(18);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Jail list:\tfreeswitch, asterisk, manual');
    expect(human.stdout).toMatch(
      /acl-0c10d0a1b2c3d4e5f: IPv4 entries 0\/18, bans 0\/0; IPv6 entries 0\/18, bans 0\/0/,
    );
  });

  it('ban: writes the ban, runs the enforcer and the NACL denies the address', async () => {
    const before = Date.now();
    const r = await run('ban', '203.0.113.7', '--reason', 'SIPVicious scan', '--json');
    expect(r.code).toBe(0);
    const out = lastJson(r) as {
      status: string;
      enforced: boolean;
      ban: { jail: string; cidr: string; expiresAt: number; source: string };
    };
    expect(out).toMatchObject({
      status: 'banned',
      enforced: true,
      ban: { jail: 'manual', cidr: '203.0.113.7/32', source: 'manual' },
    });
    // Default length of a manual ban: one day.
    expect(out.ban.expiresAt).toBeGreaterThanOrEqual(before + 24 * HOUR);
    expect(out.ban.expiresAt).toBeLessThan(Date.now() + 24 * HOUR + 1000);
    expect(entriesOf(r)).toEqual(['203.0.113.7/32']);

    const detail = await run('status', 'manual', '--json');
    expect(detail.code).toBe(0);
    expect(lastJson(detail)).toMatchObject({
      jail: 'manual',
      currentlyBanned: 1,
      totalBanned: 1,
      banned: [{ cidr: '203.0.113.7/32', reason: 'SIPVicious scan', source: 'manual' }],
    });
  });

  it('ban --jail --for and --permanent; human output names the rule', async () => {
    const [range, v6] = await Promise.all([
      run('ban', '198.51.100.0/24', '--jail', 'freeswitch', '--for', '2h', '--json'),
      run('ban', '2001:db8:bad::/64', '--permanent'),
    ]);
    expect(range.code).toBe(0);
    const ban = (lastJson(range) as { ban: { jail: string; createdAt: number; expiresAt: number } })
      .ban;
    expect(ban.jail).toBe('freeswitch');
    expect(ban.expiresAt - ban.createdAt).toBe(2 * HOUR);
    expect(v6.code).toBe(0);
    expect(v6.stdout).toContain('banned 2001:db8:bad::/64 [manual] permanent');
    // IPv6 goes to the IPv6 band (19-36 in samples/cloudjail.json).
    expect(v6.stdout).toMatch(/denied in acl-0c10d0a1b2c3d4e5f rule (19|2\d|3[0-6])\b/);

    const status = lastJson(await run('status', '--json')) as {
      activeBans: number;
      jails: { jail: string; currentlyBanned: number }[];
    };
    expect(status.activeBans).toBe(3);
    expect(status.jails.find((j) => j.jail === 'freeswitch')?.currentlyBanned).toBe(1);
  });

  it('ban refuses an allowlisted address (exit 3), and --force does not override the allowlist', async () => {
    const [refused, forced, broad] = await Promise.all([
      run('ban', '192.0.2.5'),
      run('ban', '192.0.2.5', '--force', '--for', '10m', '--json'),
      // Issue 15.12: --force lifts the broad-range guard, but the trunk inside still wins.
      run('ban', '192.0.0.0/16', '--force'),
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      'refusing to ban 192.0.2.5/32: it overlaps the allowlist: 192.0.2.0/28 (ignoreip)',
    );
    expect(forced.code).toBe(3);
    expect(forced.stderr).toContain('--force does not override the allowlist');
    expect(broad.code).toBe(3);
    expect(broad.stderr).toContain('refusing to ban 192.0.0.0/16: it overlaps the allowlist');
    const status = lastJson(await run('status', 'manual', '--json')) as {
      banned: { cidr: string }[];
    };
    expect(status.banned.map((b) => b.cidr)).not.toContain('192.0.2.5/32');
    // Several CLI processes: generous on a loaded machine.
  }, 120_000);

  it('ban 0.0.0.0/0 --force: refused by the enforcer floor (exit 3), nothing written', async () => {
    const [everything, v6] = await Promise.all([
      run('ban', '0.0.0.0/0', '--force'),
      run('ban', '2001:db8::/32', '--force'),
    ]);
    expect(everything.code).toBe(3);
    expect(everything.stderr).toContain(
      "broader than /16, the enforcer's minimum prefix (enforcement.minBanPrefix.ipv4)",
    );
    expect(v6.code).toBe(3);
    expect(v6.stderr).toContain('broader than /48');
    const status = lastJson(await run('status', '--json')) as { activeBans: number };
    expect(status.activeBans).toBe(3);
    // Several CLI processes: generous on a loaded machine.
  }, 120_000);

  it('ignore add/list/del: the runtime allowlist, honoured by ban', async () => {
    const add = await run('ignore', 'add', '203.0.113.200', '--jail', 'asterisk');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('allowlisted 203.0.113.200/32 for jail asterisk');
    const [list, refused, manualRefused] = await Promise.all([
      run('ignore', 'list', '--json'),
      run('ban', '203.0.113.200', '--jail', 'asterisk'),
      // A manual ban denies all traffic: every jail's allowlist applies.
      run('ban', '203.0.113.200'),
    ]);
    expect(lastJson(list)).toEqual({
      entries: [
        { cidr: '203.0.113.200/32', jail: 'asterisk', source: 'runtime' },
        { cidr: '192.0.2.0/28', source: 'config' },
      ],
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('203.0.113.200/32 (ignore list of jail asterisk)');
    expect(manualRefused.code).toBe(3);

    const [del, again, config] = await Promise.all([
      run('ignore', 'del', '203.0.113.200', '--jail', 'asterisk'),
      run('ignore', 'del', '203.0.113.201'),
      run('ignore', 'del', '192.0.2.0/28'),
    ]);
    expect(del.code).toBe(0);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('203.0.113.201/32 is not in the runtime allowlist');
    expect(config.code).toBe(4);
    expect(config.stderr).toContain("in the configuration's ignoreip");
    const after = lastJson(await run('ignore', 'list', '--json')) as { entries: unknown[] };
    expect(after.entries).toEqual([{ cidr: '192.0.2.0/28', source: 'config' }]);
    // Several CLI processes: generous on a loaded machine.
  }, 120_000);

  it('bad input: exit 2 (invalid), 3 (refused), 4 (unknown), one clear line on stderr', async () => {
    const cases: [string[], number, RegExp][] = [
      [['ban', 'not-an-ip'], 2, /address: "not-an-ip" is not an IP address or CIDR/],
      [['ban', '203.0.113.9', '--jail', 'nosuch'], 4, /no jail "nosuch"/],
      [['ban', '0.0.0.0/0'], 3, /broader than \/24 \(use --force/],
      [['status', 'nosuch'], 4, /no jail "nosuch"/],
      [['unban'], 2, /needs an address\/CIDR or --all/],
    ];
    // Independent of each other: run them at once (each is a process start). The other
    // validation errors are checked in process (input-errors.test.ts).
    const results = await Promise.all(cases.map(([args]) => run(...args)));
    results.forEach((r, i) => {
      const [args, code, message] = cases[i] as [string[], number, RegExp];
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  });

  it('unban: releases, the enforcer removes the entry; unknown → exit 4 with a hint', async () => {
    const r = await run('unban', '203.0.113.7', '--json');
    expect(r.code).toBe(0);
    expect((lastJson(r) as { released: { cidr: string }[] }).released.map((b) => b.cidr)).toEqual([
      '203.0.113.7/32',
    ]);
    expect(entriesOf(r)).not.toContain('203.0.113.7/32');
    const [again, inside] = await Promise.all([
      run('unban', '203.0.113.7'),
      run('unban', '198.51.100.9'),
    ]);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('203.0.113.7/32 is not banned');
    expect(inside.code).toBe(4);
    expect(inside.stderr).toContain('it is inside 198.51.100.0/24 [freeswitch]');
  });

  it('unban --all --jail, then --all: every ban released and every entry gone', async () => {
    const jail = await run('unban', '--all', '--jail', 'freeswitch', '--json');
    expect(jail.code).toBe(0);
    expect(
      (lastJson(jail) as { released: { cidr: string }[] }).released.map((b) => b.cidr),
    ).toEqual(['198.51.100.0/24']);
    const all = await run('unban', '--all', '--json');
    expect(all.code).toBe(0);
    expect(
      (lastJson(all) as { released: { cidr: string }[] }).released.map((b) => b.cidr).sort(),
    ).toEqual(['2001:db8:bad::/64']);
    expect(entriesOf(all)).toEqual([]);
    const status = lastJson(await run('status', '--json')) as { activeBans: number };
    expect(status.activeBans).toBe(0);
  });

  it('the server printed the NACL table as it changed', () => {
    expect(server.output()).toContain('203.0.113.7/32');
    expect(server.output()).toContain('2001:db8:bad::/64');
  });
});

describe('cloudjail --local without a server', () => {
  it('exits 4 naming the state file', async () => {
    const state = join(tempDir('nostate'), 'missing.json');
    const r = await cloudjail(['status', '--local', '--state', state]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`no local server: ${state} does not exist`);
  });
});
