/**
 * The jail option `distinctUsers` through the whole pipeline (`cloudjail replay`): a scanner trying
 * five extensions is banned, a phone with a stale password retrying one user is not, and a line
 * without a user name (an ACL rejection) still counts. The same log without the option bans both.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudjail, lastJson, tempDir } from './cli-process.js';

const tmp = tempDir('distinct');

const failure = (sec: number, ip: string, user: string) =>
  `2024-11-05 10:00:${String(sec).padStart(2, '0')}.000100 98.10% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'external' for [${user}@pbx.example.net] from ip ${ip}`;
const acl = (sec: number, ip: string) =>
  `2024-11-05 10:01:${String(sec).padStart(2, '0')}.000100 98.10% [WARNING] sofia_reg.c:2110 IP ${ip} Rejected by register acl`;

function config(distinctUsers: boolean): string {
  const path = join(tmp, `config-${distinctUsers}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      jails: [
        {
          name: 'freeswitch',
          filter: 'freeswitch',
          logGroups: ['/cloudjail/replay'],
          maxretry: 5,
          findtime: '10m',
          bantime: '1h',
          ...(distinctUsers ? { distinctUsers: true } : {}),
        },
      ],
      targets: [{ naclId: 'acl-0c10d0a1b2c3d4e5f' }],
    }),
  );
  return path;
}

describe('distinctUsers (replay)', () => {
  const log = join(tmp, 'mixed.log');
  writeFileSync(
    log,
    `${[
      // A scanner: five extensions, one attempt each.
      ...[1001, 1002, 1003, 1004, 1005].map((u, i) => failure(i, '203.0.113.50', String(u))),
      // A phone with a stale password: one user, twelve retries.
      ...Array.from({ length: 12 }, (_, i) => failure(10 + i, '198.51.100.60', '1001')),
      // No user on the line: each rejection counts.
      ...Array.from({ length: 5 }, (_, i) => acl(i, '203.0.113.51')),
    ].join('\n')}\n`,
  );

  it('bans the scanner and the ACL-rejected address, not the phone', async () => {
    const r = await cloudjail(['replay', log, '--config', config(true), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((lastJson(r) as { banned: string[] }).banned.sort()).toEqual([
      '203.0.113.50',
      '203.0.113.51',
    ]);
  }, 60_000);

  it('without the option the phone is banned too (it is what the option changes)', async () => {
    const r = await cloudjail(['replay', log, '--config', config(false), '--json']);
    expect(r.code).toBe(0);
    expect((lastJson(r) as { banned: string[] }).banned.sort()).toEqual([
      '198.51.100.60',
      '203.0.113.50',
      '203.0.113.51',
    ]);
  }, 60_000);

  it('rejects a non-boolean distinctUsers with the jail path', async () => {
    const path = join(tmp, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({
        jails: [{ name: 'freeswitch', logGroups: ['/x'], distinctUsers: 'yes' }],
        targets: [{ naclId: 'acl-0c10d0a1b2c3d4e5f' }],
      }),
    );
    const r = await cloudjail(['replay', log, '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('jails[0].distinctUsers: must be true or false');
  }, 60_000);
});
